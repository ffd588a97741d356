import Model

/// A request's resolved adapter mixture: each pinned version with its interpolation scale.
public struct AdapterMixture: Sendable {
    public struct Entry: Sendable {
        public let version: AdapterVersion
        public let scale: Double
        /// The request named this version (`<model>:<adapter>@<n>`) rather than the one served.
        public let pinned: Bool

        public init(version: AdapterVersion, scale: Double, pinned: Bool = false) {
            self.version = version
            self.scale = scale
            self.pinned = pinned
        }
    }
    public var entries: [Entry]
    /// The normalised trade-off it came from, if any.
    public var tradeoff: [String: Double]?

    public init(entries: [Entry], tradeoff: [String: Double]? = nil) {
        self.entries = entries
        self.tradeoff = tradeoff
    }

    public static let base = AdapterMixture(entries: [])
    public var isBase: Bool { entries.isEmpty }

    /// The per-row terms the forward pass applies.
    public var terms: [AdapterTerm] { entries.map { AdapterTerm(adapter: $0.version.adapter, scale: Float($0.scale)) } }
}

/// Maps a trade-off between the configured objectives to the neighbouring adapters of the trained weight
/// grid (adapters whose metadata carries these objectives and a weight vector), interpolating their
/// deltas linearly as in rewarded soups.
public struct TradeoffResolver: Sendable {
    public let objectives: [String]

    public init(objectives: [String]) { self.objectives = objectives }

    /// Validates and normalises a trade-off to the simplex over `objectives` (missing objectives weigh 0).
    public func normalise(_ tradeoff: [String: Double]) throws -> [Double] {
        for (name, w) in tradeoff {
            guard objectives.contains(name) else { throw AdapterError.unknownObjective(name) }
            guard w.isFinite, w >= 0 else { throw AdapterError.invalidTradeoff("weight of '\(name)' must be a finite number ≥ 0") }
        }
        let w = objectives.map { tradeoff[$0] ?? 0 }
        let total = w.reduce(0, +)
        guard total > 0 else { throw AdapterError.invalidTradeoff("weights must not all be zero") }
        // Finite weights can still sum past the largest Double (1e308 twice), and w / ∞ is 0 for every weight.
        guard total.isFinite else { throw AdapterError.invalidTradeoff("the weights' sum \(total) is not a finite number") }
        return w.map { $0 / total }
    }

    /// The grid adapters among `available` and their scales for `tradeoff`; `.base` when there are none.
    public func resolve(_ tradeoff: [String: Double], available: [AdapterVersion]) throws -> AdapterMixture {
        let w = try normalise(tradeoff)
        let named = Dictionary(zip(objectives, w), uniquingKeysWith: { first, _ in first })
        let grid = available.compactMap { v -> (AdapterVersion, [Double])? in
            guard let weights = gridPoint(v.metadata) else { return nil }
            return (v, weights)
        }
        guard !grid.isEmpty else { return AdapterMixture(entries: [], tradeoff: named) }
        if let exact = grid.first(where: { distance($0.1, w) < 1e-9 }) {
            return AdapterMixture(entries: [.init(version: exact.0, scale: 1)], tradeoff: named)
        }
        if objectives.count == 2 {
            // Along the segment: bracket w_0 between the nearest grid points below and above it.
            let sorted = grid.sorted { $0.1[0] < $1.1[0] }
            let below = sorted.last { $0.1[0] <= w[0] }
            let above = sorted.first { $0.1[0] >= w[0] }
            switch (below, above) {
            case let (lo?, hi?) where hi.1[0] > lo.1[0]:
                let t = (w[0] - lo.1[0]) / (hi.1[0] - lo.1[0])
                return AdapterMixture(entries: [.init(version: lo.0, scale: 1 - t), .init(version: hi.0, scale: t)],
                                      tradeoff: named)
            case let (lo?, _): return AdapterMixture(entries: [.init(version: lo.0, scale: 1)], tradeoff: named)
            case let (_, hi?): return AdapterMixture(entries: [.init(version: hi.0, scale: 1)], tradeoff: named)
            default: break
            }
        }
        // More objectives: the nearest grid point.
        let nearest = grid.min { distance($0.1, w) < distance($1.1, w) }!
        return AdapterMixture(entries: [.init(version: nearest.0, scale: 1)], tradeoff: named)
    }

    /// The adapter's weight vector reordered to `objectives`, when it was trained for exactly these.
    func gridPoint(_ m: AdapterMetadata) -> [Double]? {
        // Metadata is validated at load (`AdapterMetadata.validate`); a repeated name is still never a trap here.
        guard m.weights.count == m.objectives.count, m.objectives.count == objectives.count,
              Set(m.objectives) == Set(objectives) else { return nil }
        let byName = Dictionary(zip(m.objectives, m.weights), uniquingKeysWith: { first, _ in first })
        return objectives.map { byName[$0] ?? 0 }
    }

    func distance(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
    }
}
