import CSupport

/// Memory that work after a chunk's rows will read (a LoRA epilogue, the next product's prologue), requested a few
/// cache lines at a time between the rows, so that it arrives while the core computes the base rows instead of being
/// waited for when that work starts.
///
/// A decode step's base product is bound by the integer kernels, not by memory: two threads stream SmolLM2's weights
/// at about half of what this machine's bus carries. Requested in the gaps, an adapter's bytes cost little; read after
/// the rows, they stall the core for the whole transfer (−2.1 to −2.7 points of adapter overhead at batch 1,
/// docs/benchmarks-history.md, 2026-11-29, 2228159). A burst of prefetches just before the reads gained nothing (b0b91d7).
public struct Lookahead {
    /// Spans past this many are ignored.
    public static let capacity = 16
    private var starts: InlineArray<16, Int> = .init(repeating: 0)   // first byte's address, per span
    private var ends: InlineArray<16, Int> = .init(repeating: 0)     // one past the last byte, per span
    public private(set) var spanCount = 0
    private var span = 0, line = 0
    private var linesPerStep = 0
    /// Cache lines requested so far.
    public private(set) var requested = 0

    public init() {}

    /// Adds `bytes` bytes at `p`.
    public mutating func add(_ p: UnsafeRawPointer, bytes: Int) {
        guard bytes > 0, spanCount < Self.capacity else { return }
        starts[spanCount] = Int(bitPattern: p)
        ends[spanCount] = Int(bitPattern: p) + bytes
        spanCount += 1
    }

    /// Span i's addresses: its first byte and one past its last.
    public func span(_ i: Int) -> (start: Int, end: Int) { (starts[i], ends[i]) }

    /// Cache lines the spans cover.
    public var lineCount: Int {
        var lines = 0
        for s in 0..<spanCount { lines += (ends[s] - (starts[s] & ~63) + 63) / 64 }
        return lines
    }

    /// Spreads the spans' lines evenly over `steps` calls of `step()`.
    public mutating func spread(over steps: Int) {
        guard spanCount > 0 else { return }
        linesPerStep = (lineCount + max(1, steps) - 1) / max(1, steps)
        span = 0
        line = starts[0] & ~63
    }

    /// Requests the next lines.
    @inline(__always)
    public mutating func step() {
        guard span < spanCount else { return }
        for _ in 0..<linesPerStep {
            raconteur_prefetch(UnsafeRawPointer(bitPattern: line))
            requested += 1
            line += 64
            if line >= ends[span] {
                span += 1
                guard span < spanCount else { return }
                line = starts[span] & ~63
            }
        }
    }
}
