// y = x · wᵀ for quantised weights w (rows × cols) and float activations x (n × cols), both row-major.
//
// Integer path (weights with an AVX2 dot kernel: Q4_1, Q8_0, Q5_0, Q4_K, Q6_K): x is quantised once per call
// into the activation format the weights pair with (an ActivationRows in the pool's scratch buffer), then the weight rows are split into chunks over the pool's threads; each weight row is read once
// and dotted with all n activation rows (up to four per pass over the row).
// Float path (every other type): the weights are expanded to floats (F32 rows are used in place), one row at a
// time dotted with the float activation rows for small n, in tiles of rows multiplied by OpenBLAS's sgemm
// (single-threaded inside each of our threads) from n = sgemmMinimumBatch on.
//
// Concurrency: calls on one pool run one at a time on its scratch buffer; a concurrent call on the same pool
// still works (it gets temporary scratch and runs serially).

import CBLAS

public enum MatMul {
    /// y[n × w.rows] = x[n × w.cols] · wᵀ (row-major). Quantises x once per call into the activation
    /// format the weight type pairs with (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants);
    /// F32/F16/BF16 weights use float dot products. Reads the weights once for all n rows.
    public static func multiply(_ w: QuantizedMatrix, x: UnsafePointer<Float>, n: Int, y: UnsafeMutablePointer<Float>,
                                pool: ThreadPool) {
        precondition(n >= 0, "negative batch")
        if n == 0 || w.rows == 0 { return }
        if let kernel = IntegerKernel(w.type) {
            multiplyQuantized(w, kernel, x: x, n: n, y: y, pool: pool)
        } else {
            multiplyFloat(w, x: x, n: n, y: y, pool: pool)
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
        /// dots(w, rows, x, n, y, yStride): y[c·yStride + r] = w_r·x_c for r in rows, c in 0..<n.
        let dots: (QuantizedMatrix, Range<Int>, ActivationRows, Int, UnsafeMutablePointer<Float>, Int) -> Void

        init?(_ type: QuantType) {
            switch type {
            case .q4_1: dots = DotQ4_1.dots
            case .q8_0: dots = DotQ8_0.dots
            case .q5_0: dots = DotQ5_0.dots
            case .q4_K: dots = DotQ4_K.dots
            case .q6_K: dots = DotQ6_K.dots
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
            let dots = kernel.dots
            pool.parallelFor(count) { c in dots(w, (c * size)..<min(rows, (c + 1) * size), xq, n, y, rows) }
        }
    }

    // MARK: Float path

    /// From this many activation rows on, the float path multiplies dequantised weight tiles with sgemm.
    static let sgemmMinimumBatch = 8
    /// Weight rows per sgemm tile (a tile of 64 rows × 2048 columns is 512 KB of floats).
    static let sgemmTileRows = 64

    /// OpenBLAS runs single-threaded inside our own threads (set once, process-wide).
    static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

    static func multiplyFloat(_ w: QuantizedMatrix, x: UnsafePointer<Float>, n: Int, y: UnsafeMutablePointer<Float>,
                              pool: ThreadPool) {
        let cols = w.cols, rows = w.rows
        let (count, size) = chunking(rows: rows, work: rows * cols * n, threads: pool.threadCount)
        let tileRows = n >= sgemmMinimumBatch ? min(size, sgemmTileRows) : 1
        // Scratch: one tile of tileRows × cols floats per chunk (unused for F32 weights).
        pool.withScratch(bytes: count * tileRows * cols * MemoryLayout<Float>.stride) { scratch in
            let tiles = scratch.bindMemory(to: Float.self, capacity: count * tileRows * cols)
            if n >= sgemmMinimumBatch { _ = singleThreadedBLAS }
            pool.parallelFor(count) { c in
                let end = min(rows, (c + 1) * size)
                for first in stride(from: c * size, to: end, by: tileRows) {
                    let tile = min(tileRows, end - first)
                    let weights: UnsafePointer<Float>
                    if w.type == .f32 {
                        weights = w.row(first).assumingMemoryBound(to: Float.self)
                    } else {
                        Dequantize.rows(w.type, w.row(first), rowCount: tile, rowLength: cols, tiles + c * tileRows * cols)
                        weights = UnsafePointer(tiles + c * tileRows * cols)
                    }
                    if n >= sgemmMinimumBatch {
                        // y[n × rows] (columns first..<first+tile) = x[n × cols] · weights[tile × cols]ᵀ
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(tile), Int32(cols),
                                    1, x, Int32(cols), weights, Int32(cols), 0, y + first, Int32(rows))
                    } else {
                        for j in 0..<n { y[j * rows + first] = FloatDot.dot(weights, x + j * cols, cols) }
                    }
                }
            }
        }
    }
}
