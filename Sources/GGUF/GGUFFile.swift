// A GGUF file opened for reading: its metadata and tensor directory parsed and validated, its tensor data
// left in a read-only memory mapping (pages load on first touch) or read into resident memory (`FileStorage`).

public final class GGUFFile: @unchecked Sendable {
    // Immutable after init; the file's bytes are read-only, so sharing across threads is safe.
    public let path: String
    public let version: UInt32
    public let alignment: Int
    /// Where the data section starts; tensor offsets are relative to it.
    public let dataOffset: Int
    public let fileSize: Int
    public let metadata: [String: GGUFValue]
    /// The metadata keys in file order.
    public let metadataKeys: [String]
    /// The tensor directory in file order.
    public let tensors: [GGUFTensorInfo]

    private let fileBytes: FileBytes
    /// Where the file's bytes live.
    public let storage: FileStorage
    /// A resident file whose memory the kernel agreed to back with huge pages (see `FileStorage.resident`).
    public var residentOnHugePages: Bool { fileBytes.onHugePages }
    private let base: UnsafeRawPointer
    private let tensorIndexByName: [String: Int]

    public init(path: String, storage: FileStorage = .mapped) throws {
        let fileBytes = try FileBytes(path: path, storage: storage)
        let layout = try GGUFParser.parse(fileBytes.bytes)
        // Only an empty file has no base address, and the parser has already rejected it.
        guard let base = fileBytes.bytes.baseAddress else {
            throw GGUFError.truncated(at: 0, needed: 4, context: "magic")
        }
        self.path = path
        self.fileBytes = fileBytes
        self.storage = storage
        self.base = base
        fileSize = fileBytes.bytes.count
        version = layout.version
        alignment = layout.alignment
        dataOffset = layout.dataOffset
        metadata = layout.metadata
        metadataKeys = layout.metadataKeys
        tensors = layout.tensors
        tensorIndexByName = Dictionary(uniqueKeysWithValues: layout.tensors.enumerated().map { ($1.name, $0) })
    }

    public func tensor(_ name: String) -> GGUFTensorInfo? {
        tensorIndexByName[name].map { tensors[$0] }
    }

    /// The tensor's directory entry, or `.missingTensor`.
    public func requiredTensor(_ name: String) throws -> GGUFTensorInfo {
        guard let info = tensor(name) else { throw GGUFError.missingTensor(name) }
        return info
    }

    /// The start of the tensor's data inside the file's bytes; valid while this object lives.
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        bytes(for: tensor).baseAddress ?? base
    }

    /// The tensor's data inside the file's bytes; valid while this object lives.
    public func bytes(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        // Infos from this file were bounds-checked when parsed; one from another file may not fit.
        precondition(tensor.offset >= 0 && tensor.byteCount <= fileSize - dataOffset - tensor.offset,
                     "tensor '\(tensor.name)' does not belong to \(path)")
        return UnsafeRawBufferPointer(start: base + dataOffset + tensor.offset, count: tensor.byteCount)
    }
}
