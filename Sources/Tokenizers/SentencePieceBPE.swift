/// SentencePiece-style BPE (llama.cpp's `llm_tokenizer_spm_session`): the text (spaces already
/// replaced by "▁") starts as one symbol per UTF-8 character; the adjacent pair whose
/// concatenation is a token with the highest score is merged, the leftmost pair winning ties,
/// until no pair forms a token. A final symbol that is not a token is emitted as byte tokens
/// (`<0xNN>`).
struct SentencePieceBPE: Sendable {
    let scores: [Float]
    /// The token for each byte: `<0xNN>`, else the one-byte token, else the unknown token, else -1.
    let byteTokens: [Int32]

    init(scores: [Float]?, tokenCount: Int, table: ByteStringTable, unknownID: Int?) {
        self.scores = scores ?? [Float](repeating: 0, count: tokenCount)
        let hex = Array("0123456789ABCDEF".utf8)
        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            let name: [UInt8] = Array("<0x".utf8) + [hex[byte >> 4], hex[byte & 15], UInt8(ascii: ">")]
            var id = table.lookup(name)
            if id < 0 { id = table.lookup([UInt8(byte)]) }
            if id < 0, let unknownID { id = Int32(unknownID) }
            byteTokens[byte] = id
        }
        self.byteTokens = byteTokens
    }

    /// Appends the tokens of `text` (whitespace already escaped).
    func encode(_ text: UnsafeBufferPointer<UInt8>, table: ByteStringTable, into output: inout [Int]) {
        guard let base = text.baseAddress, !text.isEmpty else { return }
        var session = Session(text)
        session.run(base, table, scores)
        var i: Int32 = 0
        while i >= 0 {
            let start = Int(session.starts[Int(i)]), length = Int(session.lengths[Int(i)])
            let token = table.lookup(base + start, length)
            if token >= 0 {
                output.append(Int(token))
            } else {
                for j in start..<(start + length) {
                    let byteToken = byteTokens[Int(text[j])]
                    if byteToken >= 0 { output.append(Int(byteToken)) }
                }
            }
            i = session.next[Int(i)]
        }
    }

    /// The symbols of the text while it is being merged: a linked list over its characters.
    /// A queued merge is keyed by (descending score, left position), so that the best score and
    /// then the leftmost pair come first, and carries right position << 32 | the pair's length.
    private struct Session {
        var starts: [Int32] = []
        var lengths: [Int32] = []
        var next: [Int32]
        var prev: [Int32]
        var queue = MergeQueue()

        init(_ text: UnsafeBufferPointer<UInt8>) {
            starts.reserveCapacity(text.count)
            lengths.reserveCapacity(text.count)
            var offset = 0
            while offset < text.count {
                let length = min(UTF8Scalars.sequenceLength(lead: text[offset]), text.count - offset)
                starts.append(Int32(offset))
                lengths.append(Int32(length))
                offset += length
            }
            let n = starts.count
            next = (0..<n).map { Int32($0 + 1) }
            next[n - 1] = -1
            prev = (0..<n).map { Int32($0 - 1) }
            queue.reserve(n)
        }

        /// A key that sorts higher scores first (equal scores, -0 and +0 included, compare equal).
        @inline(__always)
        static func descendingKey(_ score: Float) -> UInt64 {
            let bits = score == 0 ? 0 : score.bitPattern
            let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
            return UInt64(~ascending)
        }

        @inline(__always)
        mutating func consider(_ left: Int32, _ right: Int32, _ base: UnsafePointer<UInt8>,
                               _ table: ByteStringTable, _ scores: [Float]) {
            guard left >= 0, right >= 0 else { return }
            let size = lengths[Int(left)] + lengths[Int(right)]
            let token = table.lookup(base + Int(starts[Int(left)]), Int(size))
            guard token >= 0 else { return }
            queue.push(key: Session.descendingKey(scores[Int(token)]) << 32 | UInt64(left),
                       payload: UInt64(right) << 32 | UInt64(size))
        }

        mutating func run(_ base: UnsafePointer<UInt8>, _ table: ByteStringTable, _ scores: [Float]) {
            for i in 1..<max(starts.count, 1) { consider(Int32(i - 1), Int32(i), base, table, scores) }
            while let (key, payload) = queue.pop() {
                let left = Int(key & 0xFFFF_FFFF), right = Int(payload >> 32)
                // Stale if either symbol was merged away or has grown since.
                guard lengths[left] != 0, lengths[right] != 0,
                      lengths[left] + lengths[right] == Int32(payload & 0xFFFF_FFFF) else { continue }
                lengths[left] += lengths[right]
                lengths[right] = 0
                let after = next[right]
                next[left] = after
                if after >= 0 { prev[Int(after)] = Int32(left) }
                consider(prev[left], Int32(left), base, table, scores)
                consider(Int32(left), after, base, table, scores)
            }
        }
    }
}
