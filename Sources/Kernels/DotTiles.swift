// The driver shared by the integer dot kernels: it walks the weight rows of a chunk and the activation rows
// in groups of up to four, and calls the kernel's tile specialised for the group's width. The per-format
// tiles are closures made in each kernel's own file, where the width is a constant the compiler unrolls
// (calls across files are not inlined in debug builds, so each hot loop lives with what it calls).

struct DotTiles {
    /// tile(weight row, blocks per row, activations, first activation row, y, yStride) writes
    /// y[c·yStride] = dot(weight row, activation row first + c) for c in 0..<width.
    typealias Tile = (UnsafeRawPointer, Int, ActivationRows, Int, UnsafeMutablePointer<Float>, Int) -> Void

    let width1: Tile
    let width2: Tile
    let width3: Tile
    let width4: Tile

    /// Tiles that call a scalar reference dot product once per activation row (non-x86 builds).
    init(reference: @escaping (UnsafeRawPointer, UnsafeRawPointer, Int) -> Float) {
        let tile: Tile = { w, blocks, x, first, y, yStride in
            y[0] = reference(w, x.row(first), blocks)
        }
        width1 = tile
        width2 = { w, blocks, x, first, y, yStride in for c in 0..<2 { tile(w, blocks, x, first + c, y + c * yStride, yStride) } }
        width3 = { w, blocks, x, first, y, yStride in for c in 0..<3 { tile(w, blocks, x, first + c, y + c * yStride, yStride) } }
        width4 = { w, blocks, x, first, y, yStride in for c in 0..<4 { tile(w, blocks, x, first + c, y + c * yStride, yStride) } }
    }

    init(width1: @escaping Tile, width2: @escaping Tile, width3: @escaping Tile, width4: @escaping Tile) {
        self.width1 = width1
        self.width2 = width2
        self.width3 = width3
        self.width4 = width4
    }

    /// y[c·yStride + r] = dot(row r of w, row c of x) for r in rows, c in 0..<n; each weight row is read once
    /// per group of four activation rows.
    func dots(_ w: QuantizedMatrix, rows: Range<Int>, _ x: ActivationRows, n: Int,
              _ y: UnsafeMutablePointer<Float>, yStride: Int) {
        let blocks = w.blocksPerRow
        for r in rows {
            let wr = w.row(r)
            for c in stride(from: 0, to: n, by: 4) {
                let yc = y + c * yStride + r
                switch n - c {
                case 1: width1(wr, blocks, x, c, yc, yStride)
                case 2: width2(wr, blocks, x, c, yc, yStride)
                case 3: width3(wr, blocks, x, c, yc, yStride)
                default: width4(wr, blocks, x, c, yc, yStride)
                }
            }
        }
    }
}
