// y = x · wᵀ for quantised weights w (rows × cols) and float activations x (n × cols), both row-major.
//
// Three paths, by batch size and weight type:
//   n < sgemmMinimumBatch, weights with an integer kernel (Q4_1, Q8_0, Q5_0, Q4_K, Q6_K): x is quantised once
//     into the activation format the weights pair with (an ActivationRows in the pool's scratch buffer), then
//     the weight rows are split into chunks over the pool's threads; each weight row is read once and dotted
//     with all n activation rows (up to four per pass over the row).
//   n < sgemmMinimumBatch, other types: each weight row is expanded to floats once and dotted with the rows of x.
//   n ≥ sgemmMinimumBatch (prefill), every type: tiles of weight rows are expanded to floats and multiplied
//     by OpenBLAS's sgemm, single-threaded inside each of our threads.
//
// Concurrency: calls on one pool run one at a time on its scratch buffer; a concurrent call on the same pool
// still works (it gets temporary scratch, and its parallelFor runs serially).

import CBLAS

public enum MatMul {
    /// y[n × w.rows] = x[n × w.cols] · wᵀ (row-major). For n < sgemmMinimumBatch, quantises x once per call
    /// into the activation format the weight type pairs with (Q8_0 for Q5_0/Q8_0, Q8_1 for Q4_1, Q8_K for
    /// Q4_K/Q6_K) and uses the integer dot kernels; other types (F32/F16/BF16, Q4_0, Q5_1, Q5_K) use float dot
    /// products. For larger n (prompts), weight tiles are dequantised and multiplied by sgemm. Reads the weights
    /// once for all n rows. Not reentrant per pool in the sense that concurrent calls on one pool serialise
    /// their work (see the file comment); x and y must not overlap.
    public static func multiply(_ w: QuantizedMatrix, x: UnsafePointer<Float>, n: Int, y: UnsafeMutablePointer<Float>,
                                pool: ThreadPool) {
        precondition(n >= 0, "negative batch")
        if n == 0 || w.rows == 0 { return }
        if n >= sgemmMinimumBatch {
            multiplyTiles(w, x: x, n: n, y: y, pool: pool)
        } else if let kernel = IntegerKernel(w.type) {
            multiplyQuantized(w, kernel, x: x, n: n, y: y, pool: pool)
        } else {
            multiplyRowByRow(w, x: x, n: n, y: y, pool: pool)
        }
    }

    // MARK: Work split

    /// Splits `rows` into chunks for the pool: one chunk when the whole product is small, otherwise about four
    /// chunks per thread (dynamic claiming balances a thread that is slowed down by other processes).
    static func chunking(rows: Int, work: Int, threads: Int) -> (count: Int, size: Int) {
        let minimumWork = 1 << 15   // multiply-adds below which a dispatch costs more than it saves
        if threads == 1 || work < minimumWork || rows < 8 { return (1, rows) }
        let count = min(threads * 4, rows / 4)
        let size = (rows + count - 1) / count
        return ((rows + size - 1) / size, size)
    }

    // MARK: Integer path

    /// The dot-product kernel for a weight type and its activation format.
    struct IntegerKernel {
        let activation: QuantType
        let tiles: DotTiles

        init?(_ type: QuantType) {
            switch type {
            case .q4_1: tiles = DotQ4_1.tiles
            case .q8_0: tiles = DotQ8_0.tiles
            case .q5_0: tiles = DotQ5_0.tiles
            case .q4_K: tiles = DotQ4_K.tiles
            case .q6_K: tiles = DotQ6_K.tiles
            default: return nil
            }
            activation = ActivationQuant.format(pairedWith: type)!
        }
    }

    static func multiplyQuantized(_ w: QuantizedMatrix, _ kernel: IntegerKernel, x: UnsafePointer<Float>, n: Int,
                                  y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let cols = w.cols, rows = w.rows
        let bytes = ActivationRows.scratchBytes(format: kernel.activation, cols: cols, n: n)
        pool.withScratch(bytes: bytes) { scratch in
            let xq = ActivationRows(format: kernel.activation, cols: cols, n: n, scratch: scratch)
            let quantizeChunks = n * cols >= 1 << 16 ? min(n, pool.threadCount * 2) : 1
            pool.parallelFor(quantizeChunks) { c in
                for j in (c * n / quantizeChunks)..<((c + 1) * n / quantizeChunks) {
                    xq.quantize(row: j, from: x + j * cols, cols: cols)
                }
            }
            let (count, size) = chunking(rows: rows, work: rows * cols * n, threads: pool.threadCount)
            let tiles = kernel.tiles
            pool.parallelFor(count) { c in tiles.dots(w, rows: (c * size)..<min(rows, (c + 1) * size), xq, n: n, y, yStride: rows) }
        }
    }

    // MARK: Float paths

    /// From this many activation rows on, every type goes through dequantised weight tiles and sgemm. Measured
    /// on one core (SmolLM2 tensors, 576 and 1536 columns): at n = 32 the integer kernels and sgemm are even
    /// (≈ 52 GFLOP/s), at n = 64 sgemm is 15–35% faster, at n = 128 about 50% (76 vs 50 GFLOP/s).
    static let sgemmMinimumBatch = 48
    /// Weight rows per sgemm call (256 was the fastest of 64…1024 at n = 128: a tile of 256 × 1536 floats
    /// is 1.5 MB, OpenBLAS blocks it further).
    static let sgemmTileRows = 256

    /// OpenBLAS runs single-threaded inside our own threads (set once, process-wide).
    static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

    /// y = x·wᵀ with w expanded to floats sgemmTileRows rows at a time (F32 rows are used in place) and each
    /// tile multiplied by OpenBLAS's sgemm. Scratch: threadCount tiles of sgemmTileRows × cols floats.
    static func multiplyTiles(_ w: QuantizedMatrix, x: UnsafePointer<Float>, n: Int, y: UnsafeMutablePointer<Float>,
                              pool: ThreadPool) {
        _ = singleThreadedBLAS
        let cols = w.cols, rows = w.rows, threads = pool.threadCount
        // Chunks of about sgemmTileRows rows, a multiple of the thread count.
        let count = threads * max(1, rows / (threads * sgemmTileRows))
        let size = (rows + count - 1) / count
        let tileFloats = min(size, sgemmTileRows) * cols
        pool.withScratch(bytes: w.type == .f32 ? 0 : threads * tileFloats * MemoryLayout<Float>.stride) { scratch in
            let tiles = scratch.bindMemory(to: Float.self, capacity: threads * tileFloats)
            pool.parallelFor(count) { c in
                let end = min(rows, (c + 1) * size)
                if c * size >= end { return }
                if w.type == .f32 {
                    sgemm(w, rows: c * size..<end, from: w.row(c * size).assumingMemoryBound(to: Float.self), x, n, y)
                    return
                }
                let slot = pool.claimSlot()
                let tile = slot.map { tiles + $0 * tileFloats } ?? .allocate(capacity: tileFloats)
                defer { if let slot { pool.releaseSlot(slot) } else { tile.deallocate() } }
                for first in stride(from: c * size, to: end, by: sgemmTileRows) {
                    let last = min(end, first + sgemmTileRows)
                    Dequantize.rows(w.type, w.row(first), rowCount: last - first, rowLength: cols, tile)
                    sgemm(w, rows: first..<last, from: tile, x, n, y)
                }
            }
        }
    }

    /// y[n × w.rows] columns `rows` = x[n × cols] · weights[rows.count × cols]ᵀ.
    @inline(__always)
    static func sgemm(_ w: QuantizedMatrix, rows: Range<Int>, from weights: UnsafePointer<Float>,
                      _ x: UnsafePointer<Float>, _ n: Int, _ y: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows.count), Int32(w.cols),
                    1, x, Int32(w.cols), weights, Int32(w.cols), 0, y + rows.lowerBound, Int32(w.rows))
    }

    /// Small n for types without an integer kernel: each weight row expanded to floats (F32 rows in place)
    /// and dotted with the n activation rows. Scratch: threadCount rows of cols floats.
    static func multiplyRowByRow(_ w: QuantizedMatrix, x: UnsafePointer<Float>, n: Int, y: UnsafeMutablePointer<Float>,
                                 pool: ThreadPool) {
        let cols = w.cols, rows = w.rows
        let (count, size) = chunking(rows: rows, work: rows * cols * n, threads: pool.threadCount)
        pool.withScratch(bytes: pool.threadCount * cols * MemoryLayout<Float>.stride) { scratch in
            let buffers = scratch.bindMemory(to: Float.self, capacity: pool.threadCount * cols)
            pool.parallelFor(count) { c in
                let slot = pool.claimSlot()
                let buffer = slot.map { buffers + $0 * cols } ?? .allocate(capacity: cols)
                defer { if let slot { pool.releaseSlot(slot) } else { buffer.deallocate() } }
                for r in (c * size)..<min(rows, (c + 1) * size) {
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
