// Little-endian byte encoding of the GGUF header: values, strings, arrays, tensor directory entries.

struct GGUFEncoder {
    private(set) var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ string: String) {
        let utf8 = string.utf8
        append(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func appendBytes(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
    }

    mutating func appendBytes(zeros count: Int) {
        bytes.append(contentsOf: repeatElement(0, count: count))
    }

    /// The value's type id followed by the value.
    mutating func appendTyped(_ value: GGUFValue) {
        append(value.type.rawValue)
        switch value {
        case .uint8(let v): append(v)
        case .int8(let v): append(v)
        case .uint16(let v): append(v)
        case .int16(let v): append(v)
        case .uint32(let v): append(v)
        case .int32(let v): append(v)
        case .uint64(let v): append(v)
        case .int64(let v): append(v)
        case .float32(let v): append(v.bitPattern)
        case .float64(let v): append(v.bitPattern)
        case .bool(let v): append(UInt8(v ? 1 : 0))
        case .string(let v): append(v)
        case .array(let v): append(v)
        }
    }

    /// Element type, count, elements.
    mutating func append(_ array: GGUFArray) {
        append(array.elementType.rawValue)
        append(UInt64(array.count))
        switch array {
        case .uint8s(let a): a.forEach { append($0) }
        case .int8s(let a): a.forEach { append($0) }
        case .uint16s(let a): a.forEach { append($0) }
        case .int16s(let a): a.forEach { append($0) }
        case .uint32s(let a): a.forEach { append($0) }
        case .int32s(let a): a.forEach { append($0) }
        case .uint64s(let a): a.forEach { append($0) }
        case .int64s(let a): a.forEach { append($0) }
        case .float32s(let a): a.forEach { append($0.bitPattern) }
        case .float64s(let a): a.forEach { append($0.bitPattern) }
        case .bools(let a): a.forEach { append(UInt8($0 ? 1 : 0)) }
        case .strings(let a): a.forEach { append($0) }
        case .arrays(let a): a.forEach { append($0) }
        }
    }
}
