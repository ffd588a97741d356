// Typed access to metadata values. The required forms throw `.missingKey`; every form throws
// `.typeMismatch` or `.valueOutOfRange` when the stored value cannot be the requested type.

extension GGUFFile {
    /// `general.architecture` ("llama", "gemma3", …).
    public var architecture: String {
        get throws { try string("general.architecture") }
    }

    public func value(_ key: String) throws -> GGUFValue {
        guard let value = metadata[key] else { throw GGUFError.missingKey(key) }
        return value
    }

    public func string(_ key: String) throws -> String { try Self.string(value(key), key: key) }
    /// Any integer type, as long as the value fits in `Int`.
    public func int(_ key: String) throws -> Int { try Self.int(value(key), key: key) }
    /// float32 or float64, or an integer converted.
    public func float(_ key: String) throws -> Float { try Self.float(value(key), key: key) }
    public func bool(_ key: String) throws -> Bool { try Self.bool(value(key), key: key) }

    public func optionalString(_ key: String) throws -> String? { try metadata[key].map { try Self.string($0, key: key) } }
    public func optionalInt(_ key: String) throws -> Int? { try metadata[key].map { try Self.int($0, key: key) } }
    public func optionalFloat(_ key: String) throws -> Float? { try metadata[key].map { try Self.float($0, key: key) } }
    public func optionalBool(_ key: String) throws -> Bool? { try metadata[key].map { try Self.bool($0, key: key) } }

    public func stringArray(_ key: String) throws -> [String] {
        let array = try array(key, expected: "array of string")
        guard case .strings(let strings) = array else { throw mismatch(key, "array of string", array) }
        return strings
    }

    /// An array of float32 or float64, or of integers converted.
    public func floatArray(_ key: String) throws -> [Float] {
        let array = try array(key, expected: "array of numbers")
        guard let floats = array.floats else { throw mismatch(key, "array of numbers", array) }
        return floats
    }

    /// An array of any integer type whose elements all fit in `Int`.
    public func intArray(_ key: String) throws -> [Int] {
        let array = try array(key, expected: "array of integers")
        if let integers = array.integers { return integers }
        switch array {
        case .uint64s, .int64s:
            throw GGUFError.valueOutOfRange(key: key, value: "an element beyond the range of Int")
        default:
            throw mismatch(key, "array of integers", array)
        }
    }

    // MARK: conversions

    private func array(_ key: String, expected: String) throws -> GGUFArray {
        let value = try value(key)
        guard case .array(let array) = value else {
            throw GGUFError.typeMismatch(key: key, expected: expected, found: value.typeName)
        }
        return array
    }

    private func mismatch(_ key: String, _ expected: String, _ array: GGUFArray) -> GGUFError {
        .typeMismatch(key: key, expected: expected, found: GGUFValue.array(array).typeName)
    }

    private static func string(_ value: GGUFValue, key: String) throws -> String {
        guard case .string(let string) = value else {
            throw GGUFError.typeMismatch(key: key, expected: "string", found: value.typeName)
        }
        return string
    }

    private static func int(_ value: GGUFValue, key: String) throws -> Int {
        guard value.isInteger else {
            throw GGUFError.typeMismatch(key: key, expected: "integer", found: value.typeName)
        }
        guard let integer = value.integerValue else {
            throw GGUFError.valueOutOfRange(key: key, value: "\(value)")
        }
        return integer
    }

    private static func float(_ value: GGUFValue, key: String) throws -> Float {
        switch value {
        case .float32(let float): return float
        case .float64(let double): return Float(double)
        case .uint64(let integer): return Float(integer)
        default:
            guard let integer = value.integerValue else {
                throw GGUFError.typeMismatch(key: key, expected: "number", found: value.typeName)
            }
            return Float(integer)
        }
    }

    private static func bool(_ value: GGUFValue, key: String) throws -> Bool {
        guard case .bool(let bool) = value else {
            throw GGUFError.typeMismatch(key: key, expected: "bool", found: value.typeName)
        }
        return bool
    }
}
