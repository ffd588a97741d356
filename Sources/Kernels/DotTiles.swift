// The driver shared by the integer dot kernels: it walks the weight rows of a chunk and the activation rows
// in groups of up to four, and calls the kernel's code specialised for the group's width. The specialised
// entry points are closures made in each kernel's own file, where the width is a constant the compiler
// unrolls (calls across files are not inlined in debug builds, so each hot loop lives with what it calls).

struct DotTiles {
    /// rows1(w, rows, x, c, y) writes y[r] = dot(row r of w, activation row c) for r in rows: a whole matvec
    /// chunk in one call (at n = 1 a call per weight row costs ~6%).
    typealias Rows1 = (QuantizedMatrix, Range<Int>, ActivationRows, Int, UnsafeMutablePointer<Float>) -> Void
    /// tile(weight row, blocks per row, activations, first activation row, y, yStride) writes
    /// y[c·yStride] = dot(weight row, activation row first + c) for c in 0..<width.
    typealias Tile = (UnsafeRawPointer, Int, ActivationRows, Int, UnsafeMutablePointer<Float>, Int) -> Void

    let rows1: Rows1
    let width2: Tile
    let width3: Tile
    let width4: Tile

    init(rows1: @escaping Rows1, width2: @escaping Tile, width3: @escaping Tile, width4: @escaping Tile) {
        self.rows1 = rows1
        self.width2 = width2
        self.width3 = width3
        self.width4 = width4
    }

    /// Entry points that call a scalar reference dot product once per pair of rows (non-x86 builds).
    init(reference: @escaping (UnsafeRawPointer, UnsafeRawPointer, Int) -> Float) {
        rows1 = { w, rows, x, c, y in for r in rows { y[r] = reference(w.row(r), x.row(c), w.blocksPerRow) } }
        func tile(_ width: Int) -> Tile {
            { w, blocks, x, first, y, yStride in
                for c in 0..<width { y[c * yStride] = reference(w, x.row(first + c), blocks) }
            }
        }
        width2 = tile(2)
        width3 = tile(3)
        width4 = tile(4)
    }

    /// y[c·yStride + r] = dot(row r of w, row c of x) for r in rows, c in 0..<n; each weight row is read once
    /// per group of four activation rows.
    func dots(_ w: QuantizedMatrix, rows: Range<Int>, _ x: ActivationRows, n: Int,
              _ y: UnsafeMutablePointer<Float>, yStride: Int) {
        if n == 1 {
            rows1(w, rows, x, 0, y)
            return
        }
        let blocks = w.blocksPerRow
        for r in rows {
            let wr = w.row(r)
            for c in stride(from: 0, to: n, by: 4) {
                let yc = y + c * yStride + r
                switch n - c {
                case 1: rows1(w, r..<r + 1, x, c, y + c * yStride)
                case 2: width2(wr, blocks, x, c, yc, yStride)
                case 3: width3(wr, blocks, x, c, yc, yStride)
                default: width4(wr, blocks, x, c, yc, yStride)
                }
            }
        }
    }
}
