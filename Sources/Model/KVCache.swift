/// Keys and values of one sequence, for every layer, up to `capacity` positions, in F16 as llama.cpp
/// keeps them by default (half the memory of F32, and the attention then rounds as llama.cpp's does).
/// Not thread-safe: one sequence is advanced by one forward pass at a time.
public final class KVCache: @unchecked Sendable {
    public let capacity: Int
    /// Positions 0..<count hold valid entries.
    public internal(set) var count: Int = 0
    let keyStride: Int       // floats per position in `keys` (kvDim)
    let valueStride: Int     // floats per position in `values` (kvValueDim)
    let layerCount: Int
    let keys: UnsafeMutablePointer<Float16>    // [layer × capacity × kvDim]
    let values: UnsafeMutablePointer<Float16>  // [layer × capacity × kvValueDim]

    public init(config: ModelConfig, capacity: Int) {
        self.capacity = max(1, capacity)
        keyStride = config.kvDim
        valueStride = config.kvValueDim
        layerCount = config.blockCount
        keys = .allocate(capacity: layerCount * self.capacity * keyStride)
        values = .allocate(capacity: layerCount * self.capacity * valueStride)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes held by this cache.
    public var byteCount: Int { layerCount * capacity * (keyStride + valueStride) * MemoryLayout<Float16>.size }

    /// Forgets positions from `length` on (for reuse of a shared prefix, or a rewind).
    public func truncate(to length: Int) { count = min(count, max(0, length)) }

    @inline(__always) func key(layer: Int, position: Int) -> UnsafeMutablePointer<Float16> {
        keys + (layer * capacity + position) * keyStride
    }

    @inline(__always) func value(layer: Int, position: Int) -> UnsafeMutablePointer<Float16> {
        values + (layer * capacity + position) * valueStride
    }
}
