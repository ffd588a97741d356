/// GPT-2's byte-level BPE: every byte of a word starts as the token of its GPT-2 "byte character",
/// then the adjacent pair with the best (lowest) merge rank is merged until none is left, the
/// leftmost pair winning ties (llama.cpp's `llm_tokenizer_bpe_session`). Merges are keyed by
/// the ids of their two tokens; a vocabulary whose merges name or make a text that is not a
/// token is refused (`TokenizerError.mergeTokenMissing`; none of llama.cpp's test vocabularies has one).
struct ByteLevelBPE: Sendable {
    /// The token of each byte's GPT-2 character.
    let byteTokens: [Int32]
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    let merges: [UInt64: UInt64]

    /// Whether a word that is a token as a whole is taken as that token without merging
    /// (llama.cpp's `ignore_merges`, set for Llama 3 vocabularies).
    let ignoresMerges: Bool
    /// The UTF-8 of each byte's GPT-2 character, back to back (1 or 2 bytes each), for `ignoresMerges`.
    let byteCharacters: [UInt8]
    let byteCharacterStarts: [Int32]

    init(merges mergeStrings: [String], table: ByteStringTable, ignoresMerges: Bool = false) throws {
        var byteTokens = [Int32](repeating: -1, count: 256)
        var byteCharacters: [UInt8] = []
        var byteCharacterStarts: [Int32] = [0]
        for byte in 0..<256 {
            let character = Array(String(GPT2Bytes.character(for: UInt8(byte))).utf8)
            // -1 where the vocabulary has no token for the byte
            byteTokens[byte] = table.lookup(character)
            byteCharacters.append(contentsOf: character)
            byteCharacterStarts.append(Int32(byteCharacters.count))
        }
        var merges = [UInt64: UInt64](minimumCapacity: mergeStrings.count)
        // The merged text, without the separator; reused so that 150k merges allocate nothing each.
        var joined = [UInt8](repeating: 0, count: 64)
        for (rank, merge) in mergeStrings.enumerated() {
            let parsed = try merge.utf8.withContiguousStorageIfAvailable { try Self.parse($0, rank, merge, table, &joined) }
            let (left, right, merged) = try parsed
                ?? Array(merge.utf8).withUnsafeBufferPointer { try Self.parse($0, rank, merge, table, &joined) }
            let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
            if merges[key] == nil {  // the first (best) rank of a repeated pair counts
                merges[key] = UInt64(rank) << 32 | UInt64(UInt32(merged))
            }
        }
        self.byteTokens = byteTokens
        self.merges = merges
        self.ignoresMerges = ignoresMerges
        self.byteCharacters = byteCharacters
        self.byteCharacterStarts = byteCharacterStarts
    }

    /// The ids of a merge's left part, right part and result. The separator is the first space
    /// after the first byte, as llama.cpp reads it.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, _ rank: Int, _ merge: String,
                              _ table: ByteStringTable, _ joined: inout [UInt8]) throws -> (Int32, Int32, Int32) {
        guard bytes.count >= 3, let base = bytes.baseAddress,
              let space = bytes[1...].firstIndex(of: 0x20), space + 1 < bytes.count else {
            throw TokenizerError.malformedMerge(index: rank, merge: merge)
        }
        let rightCount = bytes.count - space - 1
        let left = table.lookup(base, space)
        let right = table.lookup(base + space + 1, rightCount)
        if joined.count < bytes.count { joined = [UInt8](repeating: 0, count: bytes.count * 2) }
        let merged = joined.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let target = buffer.baseAddress else { return -1 }
            target.update(from: base, count: space)
            (target + space).update(from: base + space + 1, count: rightCount)
            return table.lookup(UnsafePointer(target), bytes.count - 1)
        }
        guard left >= 0, right >= 0, merged >= 0 else {
            throw TokenizerError.mergeTokenMissing(index: rank, merge: merge)
        }
        return (left, right, merged)
    }

    /// The token whose text is the word's GPT-2 characters, if there is one.
    private func wholeWordToken(_ word: UnsafeBufferPointer<UInt8>, table: ByteStringTable) -> Int32 {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(word.count * 2)
        for byte in word {
            let start = Int(byteCharacterStarts[Int(byte)]), end = Int(byteCharacterStarts[Int(byte) + 1])
            encoded.append(contentsOf: byteCharacters[start..<end])
        }
        return table.lookup(encoded)
    }

    /// Appends the tokens of one pre-tokenized word (its raw bytes). A byte without a token
    /// (SmolLM2 has none for some control characters) is left out, as llama.cpp does.
    func encode(_ word: UnsafeBufferPointer<UInt8>, table: ByteStringTable, into output: inout [Int]) {
        let n = word.count
        if n == 0 { return }
        if ignoresMerges {
            let whole = wholeWordToken(word, table: table)
            if whole >= 0 {
                output.append(Int(whole))
                return
            }
        }
        if n == 1 {
            let id = byteTokens[Int(word[0])]
            if id >= 0 { output.append(Int(id)) }
            return
        }
        var session = Session(word, byteTokens: byteTokens)
        session.run(merges)
        var i: Int32 = 0
        while i >= 0 {
            let id = session.ids[Int(i)]
            if id >= 0 { output.append(Int(id)) }
            i = session.next[Int(i)]
        }
    }

    /// The symbols of one word while it is being merged: a linked list over the byte positions.
    /// A queued merge is keyed by rank << 32 | left position (the leftmost pair wins ties) and
    /// carries right position << 32 | the pair's length in bytes.
    private struct Session {
        var ids: [Int32]
        var lengths: [Int32]
        var next: [Int32]
        var prev: [Int32]
        var queue = MergeQueue()

        init(_ word: UnsafeBufferPointer<UInt8>, byteTokens: [Int32]) {
            let n = word.count
            ids = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
                for i in 0..<n { buffer[i] = byteTokens[Int(word[i])] }
                count = n
            }
            lengths = [Int32](repeating: 1, count: n)
            next = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
                for i in 0..<n { buffer[i] = Int32(i + 1) }
                buffer[n - 1] = -1
                count = n
            }
            prev = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
                for i in 0..<n { buffer[i] = Int32(i - 1) }
                count = n
            }
            queue.reserve(n)
        }

        @inline(__always)
        static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
            UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        }

        @inline(__always)
        mutating func consider(_ left: Int32, _ right: Int32, _ merges: [UInt64: UInt64]) {
            guard left >= 0, right >= 0 else { return }
            guard let value = merges[Session.pairKey(ids[Int(left)], ids[Int(right)])] else { return }
            queue.push(key: (value >> 32) << 32 | UInt64(left),
                       payload: UInt64(right) << 32 | UInt64(lengths[Int(left)] + lengths[Int(right)]))
        }

        mutating func run(_ merges: [UInt64: UInt64]) {
            for i in 0..<(ids.count - 1) { consider(Int32(i), Int32(i + 1), merges) }
            while let (key, payload) = queue.pop() {
                let left = Int(key & 0xFFFF_FFFF), right = Int(payload >> 32)
                // Stale if either was merged away or has grown since (symbols only grow, so an
                // unchanged total length means both are unchanged, and still neighbours).
                guard lengths[left] != 0, lengths[right] != 0,
                      lengths[left] + lengths[right] == Int32(payload & 0xFFFF_FFFF),
                      let value = merges[Session.pairKey(ids[left], ids[right])] else { continue }
                ids[left] = Int32(truncatingIfNeeded: value)
                lengths[left] += lengths[right]
                lengths[right] = 0
                let after = next[right]
                next[left] = after
                if after >= 0 { prev[Int(after)] = Int32(left) }
                consider(prev[left], Int32(left), merges)
                consider(Int32(left), after, merges)
            }
        }
    }
}

/// GPT-2's reversible map between bytes and printable Unicode characters.
enum GPT2Bytes {
    /// Bytes that stand for themselves: '!'...'~', '¡'...'¬', '®'...'ÿ'.
    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    static let characters: [Unicode.Scalar] = {
        var result = [Unicode.Scalar](repeating: "\0", count: 256)
        var shifted = 0
        for byte in 0..<256 {
            if isPrintable(byte) {
                result[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                result[byte] = Unicode.Scalar(UInt32(256 + shifted))!
                shifted += 1
            }
        }
        return result
    }()

    /// Unicode scalar value → byte, or -1, for the scalars below U+0144 (the map's characters all are).
    static let bytes: [Int16] = {
        var result = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in characters.enumerated() { result[Int(scalar.value)] = Int16(byte) }
        return result
    }()

    static func character(for byte: UInt8) -> Unicode.Scalar { characters[Int(byte)] }

    /// Appends the bytes a byte-level token (its text's UTF-8) stands for; characters outside the
    /// map are kept as UTF-8. Straight from the UTF-8: 150k tokens are decoded per model load.
    static func appendDecoded(_ utf8: [UInt8], to out: inout [UInt8]) {
        var i = 0
        while i < utf8.count {
            let lead = utf8[i]
            let length = min(UTF8Scalars.sequenceLength(lead: lead), utf8.count - i)
            var scalar = -1
            if length == 1 {
                scalar = Int(lead)
            } else if length == 2 {
                scalar = Int(lead & 0x1F) << 6 | Int(utf8[i + 1] & 0x3F)
            }
            if scalar >= 0 && scalar < bytes.count && bytes[scalar] >= 0 {
                out.append(UInt8(bytes[scalar]))
            } else {
                out.append(contentsOf: utf8[i..<(i + length)])
            }
            i += length
        }
    }
}
