/// The priority queue of candidate merges that both BPE variants use: a binary min-heap of
/// (key, payload) pairs ordered by key alone. Not generic, so that it is fast without
/// whole-module optimisation.
struct MergeQueue {
    private struct Entry {
        var key: UInt64
        var payload: UInt64
    }

    private var entries: [Entry] = []

    mutating func reserve(_ capacity: Int) { entries.reserveCapacity(capacity) }

    mutating func push(key: UInt64, payload: UInt64) {
        let entry = Entry(key: key, payload: payload)
        entries.append(entry)
        entries.withUnsafeMutableBufferPointer { heap in
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard key < heap[parent].key else { break }
                heap[child] = heap[parent]
                child = parent
            }
            heap[child] = entry
        }
    }

    /// The entry with the smallest key.
    mutating func pop() -> (UInt64, UInt64)? {
        guard let last = entries.popLast() else { return nil }
        guard !entries.isEmpty else { return (last.key, last.payload) }
        return entries.withUnsafeMutableBufferPointer { heap in
            let top = heap[0]
            // Sift the last entry down from the root.
            let count = heap.count
            var parent = 0
            while true {
                var child = 2 * parent + 1
                if child >= count { break }
                if child + 1 < count && heap[child + 1].key < heap[child].key { child += 1 }
                guard heap[child].key < last.key else { break }
                heap[parent] = heap[child]
                parent = child
            }
            heap[parent] = last
            return (top.key, top.payload)
        }
    }
}
