// A bounds-checked little-endian cursor over the mapped file. Every read checks the bytes that
// remain first, so no input can make the parser read outside the mapping.

struct GGUFByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - position }

    /// The next `count` bytes; the cursor moves past them.
    mutating func take(_ count: Int, _ context: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw GGUFError.truncated(at: position, needed: count, context: context())
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position ..< position + count])
        position += count
        return slice
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ context: @autoclosure () -> String) throws -> T {
        let raw = try take(MemoryLayout<T>.size, context())
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    /// A 64-bit count of items that each take at least `minimumItemSize` bytes; counts the rest of
    /// the file cannot hold are rejected here, before anything is allocated for them.
    mutating func readCount(minimumItemSize: Int, _ context: @autoclosure () -> String) throws -> Int {
        let start = position
        let count = try read(UInt64.self, context())
        let possible = remaining / max(minimumItemSize, 1)
        guard count <= UInt64(possible) else {
            throw GGUFError.absurdCount(at: start, count: count, context: context())
        }
        return Int(count)
    }

    /// A GGUF string: 64-bit byte length, then UTF-8 bytes (invalid sequences become U+FFFD).
    mutating func readString(_ context: @autoclosure () -> String) throws -> String {
        let length = try readCount(minimumItemSize: 1, "length of \(context())")
        let raw = try take(length, context())
        return String(decoding: raw, as: UTF8.self)
    }

    /// `count` little-endian integers copied in one go (the count was checked by `readCount`).
    mutating func readIntegers<T: FixedWidthInteger>(_: T.Type, count: Int, _ context: @autoclosure () -> String) throws -> [T] {
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
        guard !overflow else {
            throw GGUFError.absurdCount(at: position, count: UInt64(count), context: context())
        }
        let raw = try take(byteCount, context())
        #if _endian(little)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            initialized = count
        }
        #else
        var values = [T](repeating: 0, count: count)
        values.withUnsafeMutableBytes { $0.copyMemory(from: raw) }
        for index in values.indices { values[index] = T(littleEndian: values[index]) }
        return values
        #endif
    }
}
