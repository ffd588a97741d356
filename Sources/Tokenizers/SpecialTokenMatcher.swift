/// Finds special tokens (control, user-defined, unknown) in text before it is tokenized, exactly
/// as llama.cpp's `tokenizer_st_partition` does: the tokens are taken longest first, and each one
/// claims its non-overlapping occurrences, left to right, in the text that no longer token has
/// claimed. (This is not leftmost-longest: with tokens "ab" and "bcd", "abcd" gives "a" + "bcd".)
/// Tokens of equal length are taken in id order.
///
/// Control and unknown tokens are matched only when special tokens are parsed; user-defined
/// tokens always are (as in llama.cpp and Hugging Face tokenizers). A token may remove the blanks
/// next to it (llama.cpp's LSTRIP/RSTRIP), as far as the text no other token has claimed.
struct SpecialTokenMatcher: Sendable {
    enum Piece: Equatable {
        case text(Range<Int>)
        case token(Int)
    }

    private struct Entry: Sendable {
        var id: Int32
        var length: Int32
        var alwaysParsed: Bool  // user-defined
        var stripsBefore: Bool
        var stripsAfter: Bool
    }

    /// Entries in priority order (longest first, then by id).
    private let entries: [Entry]
    /// Byte trie: child of (node << 8 | byte).
    private let children: TrieTransitions
    /// Per trie node: the entry whose text ends there, or -1.
    private let terminal: [Int32]
    private let firstBytes: [Bool]

    /// `candidates`: (token id, its text bytes, whether it is matched even when special tokens are not parsed).
    /// `stripsBefore` / `stripsAfter`: the ids that remove the blanks before / after them.
    init(candidates: [(id: Int, bytes: [UInt8], alwaysParsed: Bool)],
         stripsBefore: Set<Int> = [], stripsAfter: Set<Int> = []) {
        let ordered = candidates.filter { !$0.bytes.isEmpty }.sorted {
            $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id
        }
        var entries: [Entry] = []
        var children = TrieTransitions()
        var terminal: [Int32] = [-1]
        var firstBytes = [Bool](repeating: false, count: 256)
        for candidate in ordered {
            var node = 0
            for byte in candidate.bytes {
                let key = node << 8 | Int(byte)
                let child = children[key]
                if child >= 0 {
                    node = Int(child)
                } else {
                    children.insert(key, Int32(terminal.count))
                    node = terminal.count
                    terminal.append(-1)
                }
            }
            // A repeated text keeps its first (highest-priority) entry; llama.cpp would match the
            // same text once anyway, and the token-to-id map resolves it the same way.
            if terminal[node] < 0 {
                terminal[node] = Int32(entries.count)
                entries.append(Entry(id: Int32(candidate.id), length: Int32(candidate.bytes.count),
                                     alwaysParsed: candidate.alwaysParsed,
                                     stripsBefore: stripsBefore.contains(candidate.id),
                                     stripsAfter: stripsAfter.contains(candidate.id)))
            }
            firstBytes[Int(candidate.bytes[0])] = true
        }
        self.entries = entries
        self.children = children
        self.terminal = terminal
        self.firstBytes = firstBytes
    }

    var isEmpty: Bool { entries.isEmpty }

    /// Splits `bytes` into raw text and special tokens, in order.
    func partition(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Piece] {
        let n = bytes.count
        guard n > 0 else { return [] }
        guard !entries.isEmpty else { return [.text(0..<n)] }
        // Every occurrence of every eligible token, found left to right: (entry, position).
        var occurrenceEntries: [Int32] = []
        var occurrencePositions: [Int32] = []
        var perEntry = [Int32](repeating: 0, count: entries.count + 1)
        for start in 0..<n where firstBytes[Int(bytes[start])] {
            var node = 0
            var p = start
            while p < n {
                let child = children[node << 8 | Int(bytes[p])]
                if child < 0 { break }
                node = Int(child)
                p += 1
                let entry = terminal[node]
                if entry >= 0 && (parseSpecial || entries[Int(entry)].alwaysParsed) {
                    occurrenceEntries.append(entry)
                    occurrencePositions.append(Int32(start))
                    perEntry[Int(entry) + 1] += 1
                }
            }
        }
        guard !occurrenceEntries.isEmpty else { return [.text(0..<n)] }

        // Priority order, then left to right (a counting sort by entry keeps the positions in
        // order); an occurrence overlapping a claimed one is skipped.
        for e in 0..<entries.count { perEntry[e + 1] += perEntry[e] }
        var ordered = [Int32](repeating: 0, count: occurrenceEntries.count)
        for (k, entry) in occurrenceEntries.enumerated() {
            ordered[Int(perEntry[Int(entry)])] = occurrencePositions[k]
            perEntry[Int(entry)] += 1
        }
        // perEntry[e] is now the end of entry e's run in `ordered`.
        var claimed = [Bool](repeating: false, count: n)
        // The span of each accepted token with the blanks it removed.
        var accepted: [(start: Int, end: Int, id: Int)] = []
        var runStart = 0
        for (e, entry) in entries.enumerated() {
            let runEnd = Int(perEntry[e])
            defer { runStart = runEnd }
            let length = Int(entry.length)
            for k in runStart..<runEnd {
                let start = Int(ordered[k])
                let end = start + length
                if claimed[start] || claimed[end - 1] { continue }
                var free = true
                for p in start..<end where claimed[p] {
                    free = false
                    break
                }
                guard free else { continue }
                for p in start..<end { claimed[p] = true }
                // C's isspace, as llama.cpp tests the bytes
                func isBlank(_ p: Int) -> Bool { bytes[p] == 0x20 || (0x09...0x0D).contains(bytes[p]) }
                var spanStart = start, spanEnd = end
                if entry.stripsBefore {
                    while spanStart > 0 && !claimed[spanStart - 1] && isBlank(spanStart - 1) {
                        spanStart -= 1
                        claimed[spanStart] = true
                    }
                }
                if entry.stripsAfter {
                    while spanEnd < n && !claimed[spanEnd] && isBlank(spanEnd) {
                        claimed[spanEnd] = true
                        spanEnd += 1
                    }
                }
                accepted.append((spanStart, spanEnd, Int(entry.id)))
            }
        }
        accepted.sort { $0.start < $1.start }
        var pieces: [Piece] = []
        pieces.reserveCapacity(accepted.count * 2 + 1)
        var cursor = 0
        for match in accepted {
            if match.start > cursor { pieces.append(.text(cursor..<match.start)) }
            pieces.append(.token(match.id))
            cursor = match.end
        }
        if cursor < n { pieces.append(.text(cursor..<n)) }
        return pieces
    }
}

/// The trie's edges: an open-addressing hash table from (node << 8 | byte) to the child node,
/// much cheaper per look-up than a Dictionary (which hashes with SipHash).
struct TrieTransitions: Sendable {
    private var keys = [Int](repeating: -1, count: 64)
    private var values = [Int32](repeating: -1, count: 64)
    private var count = 0

    @inline(__always)
    private static func slot(_ key: Int, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(key)) &* 0x9E37_79B9_7F4A_7C15) >> 24) & mask
    }

    /// The child, or -1.
    subscript(key: Int) -> Int32 {
        let mask = keys.count - 1
        var slot = TrieTransitions.slot(key, mask)
        while true {
            let stored = keys[slot]
            if stored == key { return values[slot] }
            if stored < 0 { return -1 }
            slot = (slot + 1) & mask
        }
    }

    mutating func insert(_ key: Int, _ value: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let mask = keys.count - 1
        var slot = TrieTransitions.slot(key, mask)
        while keys[slot] >= 0 && keys[slot] != key { slot = (slot + 1) & mask }
        if keys[slot] < 0 { count += 1 }
        keys[slot] = key
        values[slot] = value
    }

    private mutating func grow() {
        let old = zip(keys, values).filter { $0.0 >= 0 }
        keys = [Int](repeating: -1, count: keys.count * 2)
        values = [Int32](repeating: -1, count: values.count * 2)
        count = 0
        for (key, value) in old { insert(key, value) }
    }
}
