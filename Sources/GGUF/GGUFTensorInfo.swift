// One entry of a GGUF file's tensor directory, validated against the file it came from.

public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Sizes in ggml order: `dimensions[0]` (ne0) varies fastest, so a [576, 49152] matrix has
    /// 49152 rows of 576 values.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Byte offset of the data, relative to the file's `dataOffset`.
    public let offset: Int
    public let elementCount: Int
    public let byteCount: Int

    init(name: String, dimensions: [Int], type: GGMLType, offset: Int, elementCount: Int, byteCount: Int) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
        self.elementCount = elementCount
        self.byteCount = byteCount
    }

    /// Element and byte counts for `dimensions` of `type`, or the error that makes them invalid
    /// (shared by the reader and the writer so both accept exactly the same shapes).
    static func sizes(name: String, type: GGMLType, dimensions: [Int]) throws -> (elements: Int, bytes: Int) {
        guard dimensions.count <= maxDimensions else {
            throw GGUFError.tooManyDimensions(name: name, count: dimensions.count)
        }
        var elements = 1
        for dimension in dimensions {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow else {
                throw GGUFError.invalidDimensions(name: name, dimensions: dimensions.map { Int64($0) })
            }
            elements = product
        }
        // ggml quantises along ne0, so each row must be whole blocks.
        guard (dimensions.first ?? 1) % type.blockSize == 0, let bytes = type.byteCount(elementCount: elements) else {
            throw GGUFError.partialBlock(name: name, type: type, dimensions: dimensions)
        }
        return (elements, bytes)
    }

    /// ggml's GGML_MAX_DIMS.
    static let maxDimensions = 4
}
