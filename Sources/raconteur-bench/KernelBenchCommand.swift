// `raconteur-bench kernel-bench`: throughput of the quantised matrix kernels on a real model's tensors.
//
// It measures, with 1 thread and with --threads threads:
//   - the pool's dispatch overhead (a parallelFor of one 20 µs task per thread, minus 20 µs);
//   - a model pass: every matrix of the model (blk.*, then the output head) multiplied in file order, at n = 1
//     (one generated token: the tokens/s this bounds, and GB/s of weights streamed) and at n = --batch
//     (a prompt: tokens/s and GFLOP/s; the output head at n = 1 only, as a prompt needs logits for its
//     last token);
//   - for each --tensor: matvec (n = 1) GB/s, cycling through every tensor of the model with the same type and
//     shape so that the weights come from memory as in generation; and the batched product's GFLOP/s.
// Times are the best of repeated batches of calls (the least disturbed by other processes on a shared machine).

import ArgumentParser
import GGUF
import Kernels
#if canImport(Glibc)
import Glibc
#endif

struct KernelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel-bench",
        abstract: "Measure quantised matvec / matmul throughput on a GGUF model's tensors.")

    @Option(help: "GGUF model file.")
    var model: String = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(help: "Tensors to measure on their own (each cycling with all tensors of its type and shape).")
    var tensor: [String] = ["blk.0.ffn_up.weight", "token_embd.weight"]

    @Option(help: "Largest thread count to measure.")
    var threads: Int = 2

    @Option(help: "Activation rows of the batched product.")
    var batch: Int = 128

    @Option(help: "Seconds per measurement.")
    var seconds: Double = 1.0

    @Flag(help: "Reuse the one tensor (weights from cache) instead of cycling through its peers.")
    var hot = false

    @Flag(help: "Time with the calling thread's CPU clock (meaningful for 1 thread on a busy machine).")
    var cpuTime = false

    @Flag(help: "Measure only the LoRA kernels (A x in Q8_0, B t from blocked int8), one thread, hot and cold.")
    var lowRank = false

    func run() throws {
        if lowRank { return lowRankKernels() }
        let file = try BenchModel(path: model)
        let threadCounts = threads > 1 ? [1, threads] : [1]
        for count in threadCounts {
            let pool = ThreadPool(threads: count)
            let task = 20e-6
            let dispatch = measure(seconds: seconds / 4) {
                pool.parallelFor(count) { _ in
                    let start = now()
                    while now() - start < task {}
                }
            }
            print("threads \(count): parallelFor dispatch overhead \(format((dispatch - task) * 1e6, 2)) µs")
        }
        try modelPass(file, threadCounts)
        for name in tensor {
            guard let target = file.tensors.first(where: { $0.name == name })?.matrix else {
                throw ValidationError("no matrix \(name) in \(model)")
            }
            let matrices = hot ? [target] : file.tensors.map(\.matrix).filter {
                $0.type == target.type && $0.rows == target.rows && $0.cols == target.cols
            }
            let bytes = Double(target.rowBytes * target.rows)
            print("\(name) \(target.type) \(target.rows)×\(target.cols), \(format(bytes / 1e6, 2)) MB,"
                  + " cycling over \(matrices.count) tensor(s)")
            let n = batch
            let x = UnsafeMutablePointer<Float>.allocate(capacity: n * target.cols)
            let y = UnsafeMutablePointer<Float>.allocate(capacity: n * target.rows)
            defer { x.deallocate(); y.deallocate() }
            var seed: UInt32 = 12345
            for i in 0..<n * target.cols {
                seed = seed &* 1_664_525 &+ 1_013_904_223
                x[i] = Float(Int32(bitPattern: seed) >> 8) / Float(1 << 23)
            }
            for count in threadCounts {
                let pool = ThreadPool(threads: count)
                var next = 0
                let matvec = measure(seconds: seconds) {
                    MatMul.multiply(matrices[next], x: x, n: 1, y: y, pool: pool)
                    next = (next + 1) % matrices.count
                }
                let matmul = measure(seconds: seconds) {
                    MatMul.multiply(matrices[next], x: x, n: n, y: y, pool: pool)
                    next = (next + 1) % matrices.count
                }
                let flops = 2 * Double(target.rows) * Double(target.cols) * Double(n)
                print("  threads \(count): matvec \(format(matvec * 1e6, 1)) µs = \(format(bytes / matvec / 1e9, 2)) GB/s"
                      + " (\(format(bytes / matvec / 1e9 / Double(count), 2)) GB/s per thread);"
                      + " n=\(n): \(format(matmul * 1e3, 2)) ms = \(format(flops / matmul / 1e9, 1)) GFLOP/s")
            }
        }
    }

    /// Every 2-D blk.* tensor in file order, then the output head, at n = 1 and at n = batch.
    func modelPass(_ file: BenchModel, _ threadCounts: [Int]) throws {
        let matrices = file.tensors.filter { $0.name.hasPrefix("blk.") }.map(\.matrix)
        guard let head = file.tensors.first(where: { $0.name == "output.weight" })
                ?? file.tensors.first(where: { $0.name == "token_embd.weight" }) else {
            throw ValidationError("no output head in \(model)")
        }
        let output = head.matrix
        let all = matrices + [output]
        let widest = all.map { max($0.rows, $0.cols) }.max()!
        let x = UnsafeMutablePointer<Float>.allocate(capacity: batch * widest)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: batch * widest)
        defer { x.deallocate(); y.deallocate() }
        for i in 0..<batch * widest { x[i] = Float((i * 7919) % 2001 - 1000) / 1000 }
        let bytes = Double(all.reduce(0) { $0 + $1.rowBytes * $1.rows })
        let flops = 2 * Double(matrices.reduce(0) { $0 + $1.rows * $1.cols }) * Double(batch)
            + 2 * Double(output.rows * output.cols)
        print("model pass: \(matrices.count) matrices + \(head.name) \(output.type), \(format(bytes / 1e6, 1)) MB")
        for count in threadCounts {
            let pool = ThreadPool(threads: count)
            let decode = measure(seconds: seconds, batch: 2) {
                for m in all { MatMul.multiply(m, x: x, n: 1, y: y, pool: pool) }
            }
            let prompt = measure(seconds: seconds, batch: 1) {
                for m in matrices { MatMul.multiply(m, x: x, n: batch, y: y, pool: pool) }
                MatMul.multiply(output, x: x, n: 1, y: y, pool: pool)
            }
            print("  threads \(count): n=1 \(format(decode * 1e3, 2)) ms = \(format(1 / decode, 1)) tok/s"
                  + " (\(format(bytes / decode / 1e9, 2)) GB/s); n=\(batch) \(format(prompt * 1e3, 1)) ms"
                  + " = \(format(Double(batch) / prompt, 1)) tok/s (\(format(flops / prompt / 1e9, 1)) GFLOP/s)")
        }
    }

    /// Seconds per call of `body`: the best mean over batches of `batch` calls within about `seconds` (the best
    /// batch is the least disturbed by other processes on a shared machine), after a short warm-up.
    /// One thread: rank-16 A x over 576 inputs (16 Q8_0 rows, four at a time) and B t into 576 outputs, with the
    /// data in cache (one copy) and from memory (cycling over 256 copies, 2.5 MB per kernel, or 8192, 80 MB).
    func lowRankKernels() {
        let rank = 16, inputs = 576, outputs = 576
        let rowBytes = LowRank.q8_0RowBytes(inputs), aBytes = rank * rowBytes
        let bCount = LowRank.blockedCount(outputs: outputs, rank: rank)
        let copies = 8192
        let a = UnsafeMutableRawPointer.allocate(byteCount: copies * aBytes, alignment: 64)
        let b = UnsafeMutablePointer<Int8>.allocate(capacity: copies * bCount)
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: copies * outputs / 32 * rank)
        let x = UnsafeMutableRawPointer.allocate(byteCount: rowBytes, alignment: 64)
        let t = UnsafeMutablePointer<Float>.allocate(capacity: rank)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: outputs)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 4)
        for i in 0..<(copies * aBytes) { a.storeBytes(of: UInt8(truncatingIfNeeded: i &* 7), toByteOffset: i, as: UInt8.self) }
        for blockStart in stride(from: 0, to: copies * aBytes, by: 34) { a.storeBytes(of: Float16(0.01), toByteOffset: blockStart, as: Float16.self) }
        for i in 0..<rowBytes { x.storeBytes(of: UInt8(truncatingIfNeeded: i &* 3), toByteOffset: i, as: UInt8.self) }
        for blockStart in stride(from: 0, to: rowBytes, by: 34) { x.storeBytes(of: Float16(0.01), toByteOffset: blockStart, as: Float16.self) }
        for i in 0..<(copies * bCount) { b[i] = Int8(truncatingIfNeeded: i &* 5) }
        for i in 0..<(copies * outputs / 32 * rank) { scales[i] = 1e-3 }
        for k in 0..<rank { t[k] = Float(k) * 0.1 }
        for o in 0..<outputs { y[o] = 0 }
        for (label, cycle) in [("hot", 1), ("L3", 256), ("memory", copies)] {
            var i = 0
            let down = measure(seconds: seconds) {
                let base = a + (i % cycle) * aBytes
                for g in 0..<(rank / 4) { LowRank.dotInterleavedA(base, group: g, rank: rank, inputs: inputs, x, into: out) }
                i += 1
            }
            var j = 0
            let up = measure(seconds: seconds) {
                LowRank.addProduct(b + (j % cycle) * bCount, scales: scales + (j % cycle) * outputs / 32 * rank, rank: rank,
                                   t: t, into: y, columns: 0..<outputs)
                j += 1
            }
            // Four rows sharing each pass over B (a batch of four on one mixture).
            let ys = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: 4)
            let ts = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: 4)
            let y4 = UnsafeMutablePointer<Float>.allocate(capacity: 4 * outputs)
            y4.initialize(repeating: 0, count: 4 * outputs)
            defer { ys.deallocate(); ts.deallocate(); y4.deallocate() }
            for r in 0..<4 { ys[r] = y4 + r * outputs; ts[r] = UnsafePointer(t) }
            var l = 0
            let up4 = measure(seconds: seconds) {
                LowRank.addProduct(b + (l % cycle) * bCount, scales: scales + (l % cycle) * outputs / 32 * rank, rank: rank,
                                   rows: 4, t: ts, into: ys, columns: 0..<outputs)
                l += 1
            }
            print("\(label): A x (16 × 576, \(aBytes) B) \(format(down * 1e9, 0)) ns, \(format(Double(aBytes) / down / 1e9, 2)) GB/s; "
                  + "B t (576 × 16, \(bCount) B) \(format(up * 1e9, 0)) ns, \(format(Double(bCount) / up / 1e9, 2)) GB/s; "
                  + "B t for 4 rows \(format(up4 * 1e9, 0)) ns")
        }
    }

    func measure(seconds: Double, batch: Int = 8, _ body: () -> Void) -> Double {
        for _ in 0..<2 { body() }
        var best = Double.infinity
        let start = now()
        repeat {
            let batchStart = now()
            for _ in 0..<batch { body() }
            best = min(best, (now() - batchStart) / Double(batch))
        } while now() - start < seconds
        return best
    }

    func now() -> Double {
        var ts = timespec()
        clock_gettime(cpuTime ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    func format(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return "\(rounded)"
    }
}

/// The 2-D tensors of a GGUF file whose type Kernels multiplies, as matrices.
struct BenchModel {
    struct Tensor { let name: String; let matrix: QuantizedMatrix }
    let file: GGUFFile
    let tensors: [Tensor]

    init(path: String) throws {
        file = try GGUFFile(path: path)
        tensors = file.tensors.compactMap { [file] info in
            guard info.dimensions.count == 2, let type = QuantType(info.type) else { return nil }
            let matrix = QuantizedMatrix(type: type, rows: info.dimensions[1], cols: info.dimensions[0], data: file.data(for: info))
            return Tensor(name: info.name, matrix: matrix)
        }
    }
}
