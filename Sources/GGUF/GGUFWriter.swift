// Builds a GGUF v3 file: metadata in insertion order, tensors laid out at aligned offsets in the
// order they were added. The file appears at its path complete or not at all.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct GGUFWriter: Sendable {
    public private(set) var metadataKeys: [String] = []
    public private(set) var metadata: [String: GGUFValue] = [:]
    private var tensors: [PendingTensor] = []
    private var tensorNames = Set<String>()

    private struct PendingTensor: Sendable {
        var name: String
        var type: GGMLType
        var dimensions: [Int]
        var bytes: [UInt8]
    }

    public init() {}

    /// Sets a metadata value; a key set again keeps its first position.
    public mutating func setValue(_ key: String, _ value: GGUFValue) {
        if metadata.updateValue(value, forKey: key) == nil { metadataKeys.append(key) }
    }

    /// Adds a tensor whose `bytes` are already in `type`'s block format; dimensions in ggml order (ne0 first).
    public mutating func addTensor(name: String, type: GGMLType, dimensions: [Int], bytes: [UInt8]) throws {
        guard !tensorNames.contains(name) else { throw GGUFError.duplicateTensor(name) }
        let sizes = try GGUFTensorInfo.sizes(name: name, type: type, dimensions: dimensions)
        guard sizes.bytes == bytes.count else {
            throw GGUFError.tensorSizeMismatch(name: name, expected: sizes.bytes, actual: bytes.count)
        }
        tensorNames.insert(name)
        tensors.append(PendingTensor(name: name, type: type, dimensions: dimensions, bytes: bytes))
    }

    public mutating func addTensor(name: String, type: GGMLType, dimensions: [Int], bytes: Data) throws {
        try addTensor(name: name, type: type, dimensions: dimensions, bytes: [UInt8](bytes))
    }

    /// Adds an F32 tensor.
    public mutating func addTensor(name: String, dimensions: [Int], floats: [Float]) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(floats.count * 4)
        for value in floats { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        try addTensor(name: name, type: .f32, dimensions: dimensions, bytes: bytes)
    }

    /// Writes the file to a temporary name beside `path`, then renames it into place.
    public func write(to path: String) throws {
        let alignment = try GGUFParser.alignment(in: metadata)
        // Refuse what GGUFFile would refuse to read back.
        for key in metadataKeys {
            if case .array(let array)? = metadata[key], array.nestingDepth > GGUFParser.maxArrayDepth {
                throw GGUFError.arrayNestingTooDeep(key: key)
            }
        }
        let header = try encodedHeader(alignment: alignment)

        let temporaryPath = "\(path).tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw GGUFError.writeFailed(path: path, reason: lastSystemError()) }
        var renamed = false
        defer { if !renamed { unlink(temporaryPath) } }
        do {
            defer { close(descriptor) }
            try Self.writeAll(descriptor, header, path: path)
            // Each tensor's data is padded to the alignment, the last one included, as ggml writes it
            // (llama.cpp reads the data section as whole padded tensors).
            for tensor in tensors {
                try Self.writeAll(descriptor, tensor.bytes, path: path)
                let padding = try GGUFParser.padded(tensor.bytes.count, to: alignment) - tensor.bytes.count
                try Self.writeAll(descriptor, [UInt8](repeating: 0, count: padding), path: path)
            }
            guard fsync(descriptor) == 0 else { throw GGUFError.writeFailed(path: path, reason: lastSystemError()) }
        }
        guard rename(temporaryPath, path) == 0 else {
            throw GGUFError.writeFailed(path: path, reason: lastSystemError())
        }
        renamed = true
    }

    // MARK: layout

    /// Everything before the data section, padded to `alignment`.
    private func encodedHeader(alignment: Int) throws -> [UInt8] {
        var offsets: [Int] = []
        var end = 0
        for tensor in tensors {
            offsets.append(end)
            end = try GGUFParser.padded(end + tensor.bytes.count, to: alignment)
        }

        var encoder = GGUFEncoder()
        encoder.appendBytes(GGUFParser.magic)
        encoder.append(UInt32(3))
        encoder.append(UInt64(tensors.count))
        encoder.append(UInt64(metadataKeys.count))
        for key in metadataKeys {
            guard let value = metadata[key] else { continue }
            encoder.append(key)
            encoder.appendTyped(value)
        }
        for (tensor, offset) in zip(tensors, offsets) {
            encoder.append(tensor.name)
            encoder.append(UInt32(tensor.dimensions.count))
            tensor.dimensions.forEach { encoder.append(UInt64($0)) }
            encoder.append(tensor.type.rawValue)
            encoder.append(UInt64(offset))
        }
        encoder.appendBytes(zeros: try GGUFParser.padded(encoder.bytes.count, to: alignment) - encoder.bytes.count)
        return encoder.bytes
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws {
        if let failure = bytes.withUnsafeBytes({ writeFully(descriptor, $0) }) {
            throw GGUFError.writeFailed(path: path, reason: failure)
        }
    }
}
