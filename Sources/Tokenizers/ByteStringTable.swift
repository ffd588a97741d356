/// A hash table from byte strings to token ids that looks keys up from raw memory, so the
/// tokenizers' hot loops hash slices of their input without building a String or an Array.
///
/// Open addressing with linear probing over a power-of-two slot array; keys are stored back to
/// back in one buffer. Inserting an existing key replaces its value (the last token with a given
/// text wins, as in llama.cpp).
struct ByteStringTable: Sendable {
    private var keyBytes: [UInt8] = []
    private var keyStarts: [Int32] = [0]
    private var values: [Int32] = []
    private var slots: [Int32]
    private var mask: Int

    init(minimumCapacity: Int) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        keyBytes.reserveCapacity(minimumCapacity * 8)
        keyStarts.reserveCapacity(minimumCapacity + 1)
        values.reserveCapacity(minimumCapacity)
    }

    var count: Int { values.count }

    @inline(__always)
    static func hash(_ base: UnsafePointer<UInt8>, _ count: Int) -> Int {
        // FNV-1a, then a final mix so that linear probing sees well-spread low bits.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<count {
            h = (h ^ UInt64(base[i])) &* 0x0000_0100_0000_01b3
        }
        h ^= h >> 29
        h = h &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    /// Empty keys are not stored (no tokenizer ever looks one up).
    mutating func insert(_ key: [UInt8], value: Int32) {
        guard !key.isEmpty else { return }
        let slot = key.withUnsafeBufferPointer { slotIndex($0.baseAddress!, $0.count) }
        if slots[slot] >= 0 {
            values[Int(slots[slot])] = value
            return
        }
        slots[slot] = Int32(values.count)
        keyBytes.append(contentsOf: key)
        keyStarts.append(Int32(keyBytes.count))
        values.append(value)
        if values.count * 2 > slots.count { grow() }
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func slotIndex(_ base: UnsafePointer<UInt8>, _ count: Int) -> Int {
        var slot = ByteStringTable.hash(base, count) & mask
        return keyBytes.withUnsafeBufferPointer { stored in
            keyStarts.withUnsafeBufferPointer { starts in
                slots.withUnsafeBufferPointer { slots in
                    while true {
                        let entry = Int(slots[slot])
                        if entry < 0 { return slot }
                        let start = Int(starts[entry])
                        let length = Int(starts[entry + 1]) - start
                        if length == count {
                            var equal = true
                            for i in 0..<count where stored[start + i] != base[i] {
                                equal = false
                                break
                            }
                            if equal { return slot }
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        var newSlots = [Int32](repeating: -1, count: size)
        let newMask = size - 1
        keyBytes.withUnsafeBufferPointer { stored in
            for entry in 0..<values.count {
                let start = Int(keyStarts[entry])
                let length = Int(keyStarts[entry + 1]) - start
                var slot = ByteStringTable.hash(stored.baseAddress! + start, length) & newMask
                while newSlots[slot] >= 0 { slot = (slot + 1) & newMask }
                newSlots[slot] = Int32(entry)
            }
        }
        slots = newSlots
        mask = newMask
    }

    /// The value stored for the `count` bytes at `base`, or -1.
    @inline(__always)
    func lookup(_ base: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
        let entry = slots[slotIndex(base, count)]
        return entry < 0 ? -1 : values[Int(entry)]
    }

    func lookup(_ key: [UInt8]) -> Int32 {
        guard !key.isEmpty else { return -1 }
        return key.withUnsafeBufferPointer { lookup($0.baseAddress!, $0.count) }
    }
}
