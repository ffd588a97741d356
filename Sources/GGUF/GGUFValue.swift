// Metadata values as GGUF stores them. Arrays are typed (`[Float]`, `[String]`, …) rather than
// arrays of `GGUFValue`, so a 262,144-entry vocabulary costs one allocation per string, not an enum
// box per element.

/// The value type ids on disk.
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0
    case int8 = 1
    case uint16 = 2
    case int16 = 3
    case uint32 = 4
    case int32 = 5
    case float32 = 6
    case bool = 7
    case string = 8
    case array = 9
    case uint64 = 10
    case int64 = 11
    case float64 = 12

    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }

    /// Bytes one value of a fixed-size type takes; nil for strings and arrays.
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }
}

public enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// "uint32", "string", "array of float32", "array of array": what error messages call the value.
    public var typeName: String {
        if case .array(let array) = self { return "array of \(array.elementType)" }
        return type.description
    }

    /// The value as an `Int` when it is an integer that fits; nil otherwise.
    public var integerValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(exactly: v)
        case .float32, .float64, .bool, .string, .array: return nil
        }
    }

    /// The value for messages: numbers and bools as written, strings quoted and escaped,
    /// arrays by type and length only (they can hold hundreds of thousands of elements).
    public var description: String {
        switch self {
        case .uint8(let v): return String(v)
        case .int8(let v): return String(v)
        case .uint16(let v): return String(v)
        case .int16(let v): return String(v)
        case .uint32(let v): return String(v)
        case .int32(let v): return String(v)
        case .uint64(let v): return String(v)
        case .int64(let v): return String(v)
        case .float32(let v): return String(v)
        case .float64(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let v): return Self.quoted(v)
        case .array(let v): return "\(typeName) (\(v.count) elements)"
        }
    }

    /// The escapes `quoted` writes by name; other control characters are written as `\u{…}`.
    private static let namedEscapes: [Unicode.Scalar: String] = ["\"": #"\""#, "\\": #"\\"#, "\n": #"\n"#, "\r": #"\r"#, "\t": #"\t"#]

    /// `text` in double quotes with quotes, backslashes and control characters escaped.
    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            if let escape = namedEscapes[scalar] {
                result += escape
            } else if scalar.value < 0x20 || scalar.value == 0x7F {
                result += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    public var isInteger: Bool {
        switch self {
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64: return true
        case .float32, .float64, .bool, .string, .array: return false
        }
    }
}

/// A GGUF array: one element type, any count. Nested arrays may differ from each other in type.
public enum GGUFArray: Sendable, Equatable {
    case uint8s([UInt8])
    case int8s([Int8])
    case uint16s([UInt16])
    case int16s([Int16])
    case uint32s([UInt32])
    case int32s([Int32])
    case float32s([Float])
    case bools([Bool])
    case strings([String])
    case arrays([GGUFArray])
    case uint64s([UInt64])
    case int64s([Int64])
    case float64s([Double])

    public var elementType: GGUFValueType {
        switch self {
        case .uint8s: return .uint8
        case .int8s: return .int8
        case .uint16s: return .uint16
        case .int16s: return .int16
        case .uint32s: return .uint32
        case .int32s: return .int32
        case .float32s: return .float32
        case .bools: return .bool
        case .strings: return .string
        case .arrays: return .array
        case .uint64s: return .uint64
        case .int64s: return .int64
        case .float64s: return .float64
        }
    }

    public var count: Int {
        switch self {
        case .uint8s(let a): return a.count
        case .int8s(let a): return a.count
        case .uint16s(let a): return a.count
        case .int16s(let a): return a.count
        case .uint32s(let a): return a.count
        case .int32s(let a): return a.count
        case .float32s(let a): return a.count
        case .bools(let a): return a.count
        case .strings(let a): return a.count
        case .arrays(let a): return a.count
        case .uint64s(let a): return a.count
        case .int64s(let a): return a.count
        case .float64s(let a): return a.count
        }
    }

    /// The elements as `Int`s when the array holds integers that all fit; nil otherwise.
    public var integers: [Int]? {
        switch self {
        case .uint8s(let a): return a.map { Int($0) }
        case .int8s(let a): return a.map { Int($0) }
        case .uint16s(let a): return a.map { Int($0) }
        case .int16s(let a): return a.map { Int($0) }
        case .uint32s(let a): return a.map { Int($0) }
        case .int32s(let a): return a.map { Int($0) }
        case .uint64s(let a): return Self.exactInts(a)
        case .int64s(let a): return Self.exactInts(a)
        case .float32s, .float64s, .bools, .strings, .arrays: return nil
        }
    }

    /// The elements as `Float`s when the array holds numbers (integers are converted); nil otherwise.
    public var floats: [Float]? {
        switch self {
        case .float32s(let a): return a
        case .float64s(let a): return a.map { Float($0) }
        case .strings, .bools, .arrays: return nil
        default: return integers?.map { Float($0) }
        }
    }

    /// Element `index` as a `GGUFValue` (for display and generic walks; not for bulk access).
    public func element(at index: Int) -> GGUFValue? {
        guard index >= 0, index < count else { return nil }
        switch self {
        case .uint8s(let a): return .uint8(a[index])
        case .int8s(let a): return .int8(a[index])
        case .uint16s(let a): return .uint16(a[index])
        case .int16s(let a): return .int16(a[index])
        case .uint32s(let a): return .uint32(a[index])
        case .int32s(let a): return .int32(a[index])
        case .float32s(let a): return .float32(a[index])
        case .bools(let a): return .bool(a[index])
        case .strings(let a): return .string(a[index])
        case .arrays(let a): return .array(a[index])
        case .uint64s(let a): return .uint64(a[index])
        case .int64s(let a): return .int64(a[index])
        case .float64s(let a): return .float64(a[index])
        }
    }

    /// 1 for a flat array, 2 for an array of flat arrays, and so on.
    var nestingDepth: Int {
        guard case .arrays(let arrays) = self else { return 1 }
        return 1 + (arrays.map(\.nestingDepth).max() ?? 0)
    }

    private static func exactInts<T: BinaryInteger>(_ values: [T]) -> [Int]? {
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let exact = Int(exactly: value) else { return nil }
            result.append(exact)
        }
        return result
    }
}
