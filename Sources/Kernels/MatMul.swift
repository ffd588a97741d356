import Synchronization

// y = x · wᵀ for quantised weights w (rows × cols) and float activations x (n × cols), both row-major.
//
// Integer path (weights with an AVX2 dot kernel: Q4_0, Q4_1, Q8_0, Q5_0, Q4_K, Q6_K): x is quantised once per call
// into the activation format the weights pair with (scratch: n rows × activationRowBytes, in the pool's
// buffer), then the weight rows are split into chunks over the pool's threads; each weight row is read once
// and dotted with all n activation rows (up to four per pass over the row).
// Float path (every other type): each weight row is expanded to floats once (F32 rows are used in place) and
// dotted with the float activation rows.
//
// Concurrency: calls on one pool run one at a time on its scratch buffer; a concurrent call on the same pool
// still works (it gets temporary scratch and runs serially).

public enum MatMul {
    /// y[n × w.rows] = x[n × w.cols] · wᵀ (row-major). Quantises x once per call into the activation
    /// format the weight type pairs with (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants);
    /// F32/F16/BF16 weights use float dot products. Reads the weights once for all n rows.
    ///
    /// Work fused into the product's dispatch, so that it does not pay a hand-off of its own (a LoRA update):
    /// `prologue(i)` for i in 0..<prologueCount runs first, spread over the threads like the chunks; then, per chunk
    /// c of y's columns `outputs` (for all n rows), on the thread that computes it: `epilogue(outputs)` right after
    /// it and after every prologue task has finished. With `chunkAlignment` > 1 chunks start at its multiples.
    /// `lookahead(outputs, share, &spans)` names memory to request while the chunk's rows are computed: what its
    /// epilogue reads, and with a `share` (index, count), that part of what follows the product (a share per
    /// thread's long chunk; the short claimed chunks get none).
    public static func multiply(_ w: QuantizedMatrix, x: UnsafePointer<Float>, n: Int, y: UnsafeMutablePointer<Float>,
                                pool: ThreadPool, prologueCount: Int = 0, prologue: (Int) -> Void = { _ in },
                                chunkAlignment: Int = 1,
                                lookahead: (Range<Int>, Share?, inout Lookahead) -> Void = { _, _, _ in },
                                epilogue: (Range<Int>) -> Void = { _ in }) {
        precondition(n >= 0, "negative batch")
        if n == 0 || w.rows == 0 { return }
        if let kernel = w.type.format.dot {
            multiplyQuantized(w, kernel, x: x, n: n, y: y, pool: pool, prologueCount: prologueCount, prologue: prologue,
                              chunkAlignment: chunkAlignment, lookahead: lookahead, epilogue: epilogue)
        } else {
            multiplyFloat(w, x: x, n: n, y: y, pool: pool, prologueCount: prologueCount, prologue: prologue,
                          chunkAlignment: chunkAlignment, lookahead: lookahead, epilogue: epilogue)
        }
    }

    /// Part `index` of `count` equal parts.
    public struct Share: Sendable {
        public let index: Int, count: Int
        public init(index: Int, count: Int) { self.index = index; self.count = count }
    }

    /// Runs `compute(c, rows, &ahead)` for each chunk of `plan` over the pool, with the fused work of `multiply`:
    /// the prologue tasks first, the chunk's lookahead spread over its rows (`compute` steps `ahead` once per row),
    /// its epilogue right after it once every prologue has ended.
    static func forEachChunk(plan: ChunkPlan, pool: ThreadPool, prologueCount: Int,
                             prologue: (Int) -> Void,
                             lookahead: (Range<Int>, Share?, inout Lookahead) -> Void,
                             epilogue: (Range<Int>) -> Void,
                             compute: (_ chunkIndex: Int, _ rows: Range<Int>, _ ahead: inout Lookahead) -> Void) {
        let prologueDone = prologueCount > 0 ? PrologueCounter() : nil
        pool.parallelFor(prologueCount + plan.count) { i in
            if i < prologueCount { prologue(i); prologueDone!.arrive(); return }
            let c = i - prologueCount, chunk = plan.range(c)
            var ahead = Lookahead()
            lookahead(chunk, plan.share(c), &ahead)
            ahead.spread(over: chunk.count)
            compute(c, chunk, &ahead)
            prologueDone?.wait(for: prologueCount)
            epilogue(chunk)
        }
    }

    /// Counts finished prologue tasks. The pool claims indices in ascending order, so every prologue task is
    /// claimed (and being run) before any chunk: a chunk's epilogue that waits for them waits on running work.
    final class PrologueCounter {
        private let finished = Atomic<Int>(0)
        func arrive() { finished.add(1, ordering: .releasing) }
        func wait(for count: Int) {
            while finished.load(ordering: .acquiring) < count { spinPause() }
        }
    }

    // MARK: Work split

    /// The chunks of one product: chunk c is rows `range(c)`. The first `leadCount` are `leadSize` rows each, the
    /// rest `tailSize` (the last one may be shorter).
    struct ChunkPlan {
        let count: Int
        let leadCount: Int, leadSize: Int, tailSize: Int, rows: Int

        static func single(_ rows: Int) -> ChunkPlan {
            ChunkPlan(count: 1, leadCount: 1, leadSize: rows, tailSize: rows, rows: rows)
        }

        /// The long chunks share the lookahead of what follows the product.
        func share(_ c: Int) -> Share? { c < leadCount ? Share(index: c, count: leadCount) : nil }

        func range(_ c: Int) -> Range<Int> {
            if c < leadCount { return min(rows, c * leadSize)..<min(rows, (c + 1) * leadSize) }
            let start = leadCount * leadSize + (c - leadCount) * tailSize
            return min(rows, start)..<min(rows, start + tailSize)
        }
    }

    /// Splits `rows` into chunks for the pool (with `alignment` > 1, chunk boundaries at its multiples, for an
    /// epilogue that works on whole blocks of outputs):
    /// - a small product (under `minimumWork` multiply-adds) is one chunk;
    /// - a decode step's product (`n` ≤ 16 rows of x): one long chunk per thread covering 85 % of the rows, then
    ///   the rest in two short chunks per thread, claimed by whichever thread is free. Claimed chunks balance a
    ///   thread slowed by the host, but each chunk boundary costs: a thread that finishes its last chunk waits on
    ///   average a quarter of a chunk for the other. Four equal chunks per thread were 4 % slower per token at
    ///   batch 1, one chunk per thread was slower at batch 4 (docs/benchmarks-history.md, 2026-11-29, 63e6ae0);
    /// - a prompt's product: four equal chunks per thread (long products, where balance matters more).
    static func chunking(rows: Int, work: Int, n: Int, threads: Int, alignment: Int = 1) -> ChunkPlan {
        let minimumWork = 1 << 15   // multiply-adds below which a dispatch costs more than it saves
        if threads == 1 || work < minimumWork || rows < 8 { return .single(rows) }
        func aligned(_ v: Int) -> Int { (v + alignment - 1) / alignment * alignment }
        if n <= 16 {
            let leadSize = max(alignment, aligned(rows * 85 / 100 / threads))
            let leadCount = min(threads, (rows + leadSize - 1) / leadSize)
            let rest = max(0, rows - leadCount * leadSize)
            let tailSize = max(1, aligned((rest + 2 * threads - 1) / (2 * threads)))
            return ChunkPlan(count: leadCount + (rest + tailSize - 1) / tailSize, leadCount: leadCount, leadSize: leadSize,
                             tailSize: tailSize, rows: rows)
        }
        let target = min(threads * 4, rows / 4)
        let size = aligned((rows + target - 1) / target)
        let count = (rows + size - 1) / size
        return ChunkPlan(count: count, leadCount: count, leadSize: size, tailSize: size, rows: rows)
    }

    // MARK: Integer path

    static func multiplyQuantized(_ w: QuantizedMatrix, _ kernel: IntegerDot, x: UnsafePointer<Float>, n: Int,
                                  y: UnsafeMutablePointer<Float>, pool: ThreadPool, prologueCount: Int,
                                  prologue: (Int) -> Void, chunkAlignment: Int,
                                  lookahead: (Range<Int>, Share?, inout Lookahead) -> Void,
                                  epilogue: (Range<Int>) -> Void) {
        let cols = w.cols, rows = w.rows, blocks = w.blocksPerRow
        let xRowBytes = kernel.activation.byteCount(for: cols)
        pool.withScratch(bytes: n * xRowBytes) { xq in
            // Quantise x: n rows × xRowBytes.
            let quantizeChunks = n * cols >= 1 << 16 ? min(n, pool.threadCount * 2) : 1
            pool.parallelFor(quantizeChunks) { c in
                for j in (c * n / quantizeChunks)..<((c + 1) * n / quantizeChunks) {
                    ActivationQuant.quantize(x + j * cols, into: xq + j * xRowBytes, count: cols, as: kernel.activation)
                }
            }
            let plan = chunking(rows: rows, work: rows * cols * n, n: n, threads: pool.threadCount, alignment: chunkAlignment)
            let rowDots = kernel.rowDots
            forEachChunk(plan: plan, pool: pool, prologueCount: prologueCount,
                         prologue: prologue, lookahead: lookahead, epilogue: epilogue) { _, chunk, ahead in
                for r in chunk {
                    rowDots(w.row(r), blocks, UnsafeRawPointer(xq), xRowBytes, n, y + r, rows)
                    ahead.step()
                }
            }
        }
    }

    // MARK: Float path

    static func multiplyFloat(_ w: QuantizedMatrix, x: UnsafePointer<Float>, n: Int, y: UnsafeMutablePointer<Float>,
                              pool: ThreadPool, prologueCount: Int, prologue: (Int) -> Void, chunkAlignment: Int,
                              lookahead: (Range<Int>, Share?, inout Lookahead) -> Void,
                              epilogue: (Range<Int>) -> Void) {
        let cols = w.cols, rows = w.rows
        let plan = chunking(rows: rows, work: rows * cols * n, n: n, threads: pool.threadCount, alignment: chunkAlignment)
        // Scratch: one float row per chunk (unused for F32 weights).
        pool.withScratch(bytes: plan.count * cols * MemoryLayout<Float>.stride) { scratch in
            let rowsAsFloat = scratch.bindMemory(to: Float.self, capacity: plan.count * cols)
            forEachChunk(plan: plan, pool: pool, prologueCount: prologueCount,
                         prologue: prologue, lookahead: lookahead, epilogue: epilogue) { c, chunk, ahead in
                let buffer = rowsAsFloat + c * cols
                for r in chunk {
                    defer { ahead.step() }
                    let wr: UnsafePointer<Float>
                    if w.type == .f32 {
                        wr = w.row(r).assumingMemoryBound(to: Float.self)
                    } else {
                        w.dequantizeRow(r, into: buffer)
                        wr = UnsafePointer(buffer)
                    }
                    for j in 0..<n { y[j * rows + r] = FloatDot.dot(wr, x + j * cols, cols) }
                }
            }
        }
    }
}
