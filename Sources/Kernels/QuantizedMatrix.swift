// A rows × cols weight matrix stored row-major in one block format, viewed in place (e.g. in a mapped GGUF file).

public struct QuantizedMatrix: @unchecked Sendable {
    public let type: QuantType
    public let rows: Int
    public let cols: Int
    /// rows × rowBytes bytes: row r starts at data + r·rowBytes and holds cols values in `type` blocks.
    public let data: UnsafeRawPointer
    /// Bytes per row.
    public let rowBytes: Int

    public init(type: QuantType, rows: Int, cols: Int, data: UnsafeRawPointer) {
        precondition(rows >= 0 && cols >= 0, "negative matrix shape")
        precondition(cols % type.blockSize == 0, "\(type) rows need a multiple of \(type.blockSize) values, got \(cols)")
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        rowBytes = type.byteCount(for: cols)
    }

    /// Blocks per row.
    public var blocksPerRow: Int { cols / type.blockSize }

    /// Address of row `row`.
    @inline(__always)
    public func row(_ row: Int) -> UnsafeRawPointer { data + row * rowBytes }

    /// Writes the cols floats of row `row` to dst.
    public func dequantizeRow(_ row: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < rows, "row \(row) out of 0..<\(rows)")
        Dequantize.row(type, self.row(row), dst, cols)
    }
}
