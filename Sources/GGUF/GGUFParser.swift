// Reads a GGUF file's header, metadata and tensor directory from its bytes and validates the
// directory against the file size. The tensor data itself is never touched here.

/// What the parser learns about a file.
struct GGUFLayout {
    var version: UInt32
    var alignment: Int
    var dataOffset: Int
    var metadata: [String: GGUFValue]
    var metadataKeys: [String]
    var tensors: [GGUFTensorInfo]
}

enum GGUFParser {
    static let magic: [UInt8] = Array("GGUF".utf8)
    static let supportedVersions: ClosedRange<UInt32> = 2 ... 3
    static let alignmentKey = "general.alignment"
    static let defaultAlignment = 32
    /// Deeper nesting is refused so a crafted file cannot exhaust the stack.
    static let maxArrayDepth = 32

    // Smallest possible encodings, used to reject counts before allocating for them.
    static let minimumStringSize = 8              // length only
    static let minimumArraySize = 4 + 8           // element type, count
    static let minimumKeyValueSize = 8 + 4 + 1    // empty key, value type, one-byte value
    static let minimumTensorInfoSize = 8 + 4 + 4 + 8  // empty name, n_dims, type, offset

    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> GGUFLayout {
        var reader = GGUFByteReader(bytes)

        let magicBytes = try reader.take(4, "magic")
        guard Array(magicBytes) == magic else { throw GGUFError.badMagic(Array(magicBytes)) }
        let version = try reader.read(UInt32.self, "version")
        guard supportedVersions.contains(version) else { throw GGUFError.unsupportedVersion(version) }
        let tensorCount = try reader.readCount(minimumItemSize: minimumTensorInfoSize, "tensor count")
        let keyValueCount = try reader.readCount(minimumItemSize: minimumKeyValueSize, "metadata count")

        var metadata: [String: GGUFValue] = [:]
        var metadataKeys: [String] = []
        metadata.reserveCapacity(keyValueCount)
        metadataKeys.reserveCapacity(keyValueCount)
        for index in 0 ..< keyValueCount {
            let key = try reader.readString("key of metadata entry \(index)")
            guard metadata[key] == nil else { throw GGUFError.duplicateKey(key) }
            metadata[key] = try readValue(&reader, key: key)
            metadataKeys.append(key)
        }

        let alignment = try alignment(in: metadata)

        var entries: [TensorEntry] = []
        var tensorNames = Set<String>()
        entries.reserveCapacity(tensorCount)
        for index in 0 ..< tensorCount {
            let entry = try readTensorEntry(&reader, index: index)
            guard tensorNames.insert(entry.name).inserted else { throw GGUFError.duplicateTensor(entry.name) }
            entries.append(entry)
        }

        let dataOffset = try padded(reader.position, to: alignment)
        let tensors = try entries.map {
            try $0.placed(dataOffset: dataOffset, alignment: alignment, fileSize: bytes.count)
        }

        return GGUFLayout(version: version, alignment: alignment, dataOffset: dataOffset,
                          metadata: metadata, metadataKeys: metadataKeys, tensors: tensors)
    }

    // MARK: metadata

    private static func readValue(_ reader: inout GGUFByteReader, key: String) throws -> GGUFValue {
        let rawType = try reader.read(UInt32.self, "value type of '\(key)'")
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw GGUFError.unknownValueType(key: key, id: rawType)
        }
        let context = "value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, context))
        case .int8: return .int8(try reader.read(Int8.self, context))
        case .uint16: return .uint16(try reader.read(UInt16.self, context))
        case .int16: return .int16(try reader.read(Int16.self, context))
        case .uint32: return .uint32(try reader.read(UInt32.self, context))
        case .int32: return .int32(try reader.read(Int32.self, context))
        case .uint64: return .uint64(try reader.read(UInt64.self, context))
        case .int64: return .int64(try reader.read(Int64.self, context))
        case .float32: return .float32(Float(bitPattern: try reader.read(UInt32.self, context)))
        case .float64: return .float64(Double(bitPattern: try reader.read(UInt64.self, context)))
        // The spec says 0 or 1; any other byte is read as true rather than rejecting the file.
        case .bool: return .bool(try reader.read(UInt8.self, context) != 0)
        case .string: return .string(try reader.readString(context))
        case .array: return .array(try readArray(&reader, key: key, depth: 1))
        }
    }

    private static func readArray(_ reader: inout GGUFByteReader, key: String, depth: Int) throws -> GGUFArray {
        guard depth <= maxArrayDepth else { throw GGUFError.arrayNestingTooDeep(key: key) }
        let rawType = try reader.read(UInt32.self, "array element type of '\(key)'")
        guard let elementType = GGUFValueType(rawValue: rawType) else {
            throw GGUFError.unknownValueType(key: key, id: rawType)
        }
        let minimumSize: Int
        switch elementType {
        case .string: minimumSize = minimumStringSize
        case .array: minimumSize = minimumArraySize
        default: minimumSize = elementType.fixedSize ?? 1
        }
        let count = try reader.readCount(minimumItemSize: minimumSize, "array length of '\(key)'")
        let context = "array elements of '\(key)'"
        switch elementType {
        case .uint8: return .uint8s(try reader.readIntegers(UInt8.self, count: count, context))
        case .int8: return .int8s(try reader.readIntegers(Int8.self, count: count, context))
        case .uint16: return .uint16s(try reader.readIntegers(UInt16.self, count: count, context))
        case .int16: return .int16s(try reader.readIntegers(Int16.self, count: count, context))
        case .uint32: return .uint32s(try reader.readIntegers(UInt32.self, count: count, context))
        case .int32: return .int32s(try reader.readIntegers(Int32.self, count: count, context))
        case .uint64: return .uint64s(try reader.readIntegers(UInt64.self, count: count, context))
        case .int64: return .int64s(try reader.readIntegers(Int64.self, count: count, context))
        case .float32:
            return .float32s(try reader.readIntegers(UInt32.self, count: count, context).map(Float.init(bitPattern:)))
        case .float64:
            return .float64s(try reader.readIntegers(UInt64.self, count: count, context).map(Double.init(bitPattern:)))
        case .bool:
            return .bools(try reader.readIntegers(UInt8.self, count: count, context).map { $0 != 0 })
        case .string:
            var strings: [String] = []
            strings.reserveCapacity(count)
            for _ in 0 ..< count { strings.append(try reader.readString(context)) }
            return .strings(strings)
        case .array:
            var arrays: [GGUFArray] = []
            arrays.reserveCapacity(count)
            for _ in 0 ..< count { arrays.append(try readArray(&reader, key: key, depth: depth + 1)) }
            return .arrays(arrays)
        }
    }

    /// `general.alignment` if present (a positive power of two), otherwise 32. The writer uses it too.
    static func alignment(in metadata: [String: GGUFValue]) throws -> Int {
        guard let value = metadata[alignmentKey] else { return defaultAlignment }
        guard let alignment = value.integerValue, alignment > 0, alignment & (alignment - 1) == 0 else {
            throw GGUFError.invalidAlignment(key: alignmentKey, value: "\(value)")
        }
        return alignment
    }

    /// `offset` rounded up to a multiple of `alignment` (a power of two).
    static func padded(_ offset: Int, to alignment: Int) throws -> Int {
        let (sum, overflow) = offset.addingReportingOverflow(alignment - 1)
        guard !overflow else {
            throw GGUFError.invalidAlignment(key: alignmentKey, value: String(alignment))
        }
        return sum / alignment * alignment
    }

    // MARK: tensors

    /// A tensor's directory entry as read; its offset is checked once the data section's start is known.
    private struct TensorEntry {
        var name: String
        var dimensions: [Int]
        var type: GGMLType
        var elementCount: Int
        var byteCount: Int
        var rawOffset: UInt64

        func placed(dataOffset: Int, alignment: Int, fileSize: Int) throws -> GGUFTensorInfo {
            guard let offset = Int(exactly: rawOffset) else { throw GGUFError.tensorOutOfBounds(name: name) }
            guard offset % alignment == 0 else {
                throw GGUFError.misalignedTensor(name: name, offset: offset, alignment: alignment)
            }
            let (start, startOverflow) = dataOffset.addingReportingOverflow(offset)
            let (end, endOverflow) = start.addingReportingOverflow(byteCount)
            guard !startOverflow, !endOverflow, end <= fileSize else {
                throw GGUFError.tensorOutOfBounds(name: name)
            }
            return GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: offset,
                                  elementCount: elementCount, byteCount: byteCount)
        }
    }

    private static func readTensorEntry(_ reader: inout GGUFByteReader, index: Int) throws -> TensorEntry {
        let name = try reader.readString("name of tensor \(index)")
        let dimensionCount = try reader.read(UInt32.self, "dimension count of tensor '\(name)'")
        guard dimensionCount <= GGUFTensorInfo.maxDimensions else {
            throw GGUFError.tooManyDimensions(name: name, count: Int(dimensionCount))
        }
        let rawDimensions = try (0 ..< Int(dimensionCount)).map { _ in
            Int64(bitPattern: try reader.read(UInt64.self, "dimensions of tensor '\(name)'"))
        }
        let rawType = try reader.read(UInt32.self, "type of tensor '\(name)'")
        let rawOffset = try reader.read(UInt64.self, "offset of tensor '\(name)'")

        guard let type = GGMLType(rawValue: rawType) else {
            throw GGUFError.unknownTensorType(name: name, id: rawType)
        }
        // ggml reads dimensions as int64; a negative one is corrupt.
        let dimensions = rawDimensions.compactMap { Int(exactly: $0) }
        guard dimensions.count == rawDimensions.count, dimensions.allSatisfy({ $0 >= 0 }) else {
            throw GGUFError.invalidDimensions(name: name, dimensions: rawDimensions)
        }
        let sizes = try GGUFTensorInfo.sizes(name: name, type: type, dimensions: dimensions)
        return TensorEntry(name: name, dimensions: dimensions, type: type, elementCount: sizes.elements,
                           byteCount: sizes.bytes, rawOffset: rawOffset)
    }
}
