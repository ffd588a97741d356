/// Finds stop sequences in streamed text, holding back any tail that could still become one,
/// so a client never sees part of a stop sequence.
public struct StopMatcher: Sendable {
    public let stops: [String]
    private var pending = ""

    public init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Feeds newly decoded text. Returns the text safe to emit, and whether a stop sequence was reached
    /// (the emitted text then ends just before it).
    public mutating func feed(_ text: String) -> (emit: String, stopped: Bool) {
        guard !stops.isEmpty else { return (text, false) }
        pending += text
        var earliest: String.Index?
        for s in stops {
            if let r = pending.range(of: s), earliest.map({ r.lowerBound < $0 }) ?? true { earliest = r.lowerBound }
        }
        if let cut = earliest {
            let emit = String(pending[..<cut])
            pending = ""
            return (emit, true)
        }
        // Hold back the longest suffix of pending that is a proper prefix of some stop sequence.
        let scalars = Array(pending.unicodeScalars)
        var hold = 0
        for s in stops {
            let ss = Array(s.unicodeScalars)
            for n in stride(from: min(ss.count - 1, scalars.count), to: hold, by: -1)
            where scalars[(scalars.count - n)...].elementsEqual(ss[..<n]) {
                hold = n
                break
            }
        }
        var emitScalars = String.UnicodeScalarView()
        emitScalars.append(contentsOf: scalars[..<(scalars.count - hold)])
        var keep = String.UnicodeScalarView()
        keep.append(contentsOf: scalars[(scalars.count - hold)...])
        pending = String(keep)
        return (String(emitScalars), false)
    }

    /// At the end of generation: whatever was held back.
    public mutating func finish() -> String {
        defer { pending = "" }
        return pending
    }
}
