import Foundation

/// Picks next tokens for one sequence: penalties, then top-k, top-p, min-p, temperature, and a draw.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: RandomSource
    /// Tokens this sampler produced, for the penalties.
    private var generated: [Int] = []
    // Candidates within this many nats (after temperature) of the best token; the rest carry < e⁻³⁰ of its mass each.
    private static let candidateMargin: Float = 30

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        random = RandomSource(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
    }

    /// Chooses a token from `logits` (one row, vocabulary-sized) and records it.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int {
        let token = choose(logits)
        generated.append(token)
        return token
    }

    private func penalised(_ logits: UnsafeBufferPointer<Float>) -> [Int: Float] {
        let p = parameters
        guard p.repetitionPenalty != 1 || p.presencePenalty != 0 || p.frequencyPenalty != 0 else { return [:] }
        var adjusted = [Int: Float]()
        if p.repetitionPenalty != 1 {
            for t in Set(generated.suffix(max(0, p.penaltyWindow))) {
                let l = logits[t]
                adjusted[t] = l > 0 ? l / p.repetitionPenalty : l * p.repetitionPenalty
            }
        }
        if p.presencePenalty != 0 || p.frequencyPenalty != 0 {
            var counts = [Int: Int]()
            for t in generated { counts[t, default: 0] += 1 }
            for (t, n) in counts {
                adjusted[t] = (adjusted[t] ?? logits[t]) - Float(n) * p.frequencyPenalty - p.presencePenalty
            }
        }
        return adjusted
    }

    private mutating func choose(_ logits: UnsafeBufferPointer<Float>) -> Int {
        let p = parameters
        let adjusted = penalised(logits)
        @inline(__always) func logit(_ t: Int) -> Float { adjusted[t] ?? logits[t] }

        var best = 0
        var bestLogit = -Float.infinity
        for t in 0..<logits.count where logit(t) > bestLogit {
            bestLogit = logit(t)
            best = t
        }
        if p.isGreedy || p.topK == 1 { return best }

        let temperature = p.temperature
        let floor = bestLogit - Self.candidateMargin * temperature
        var candidates: [(token: Int, logit: Float)] = []
        for t in 0..<logits.count where logit(t) >= floor { candidates.append((t, logit(t))) }
        candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.token < $1.token) }
        if p.topK > 0, candidates.count > p.topK { candidates.removeLast(candidates.count - p.topK) }

        var probs = candidates.map { Double(expf(($0.logit - bestLogit) / temperature)) }
        var total = probs.reduce(0, +)
        var keep = probs.count
        if p.topP < 1 {
            var mass = 0.0
            for i in 0..<probs.count {
                mass += probs[i] / total
                if mass >= Double(p.topP) { keep = i + 1; break }
            }
        }
        if p.minP > 0 {
            let threshold = Double(p.minP) * probs[0]
            while keep > 1, probs[keep - 1] < threshold { keep -= 1 }
        }
        probs.removeLast(probs.count - keep)
        total = probs.reduce(0, +)
        var u = random.nextUnit() * total
        for i in 0..<keep {
            u -= probs[i]
            if u < 0 { return candidates[i].token }
        }
        return candidates[keep - 1].token
    }
}

/// log-softmax of the model's raw distribution, for reporting.
public struct TokenLogprobs: Sendable, Equatable, Codable {
    public var token: Int
    public var logprob: Float
    /// The most likely alternatives, best first.
    public var top: [Alternative]

    public struct Alternative: Sendable, Equatable, Codable {
        public var token: Int
        public var logprob: Float
    }

    /// The log-probability of `token` and the `topCount` best tokens under softmax(logits).
    public init(logits: UnsafeBufferPointer<Float>, token: Int, topCount: Int) {
        var maxLogit = -Float.infinity
        for l in logits where l > maxLogit { maxLogit = l }
        var sum = 0.0
        for l in logits { sum += Double(expf(l - maxLogit)) }
        let logZ = Float(log(sum)) + maxLogit
        self.token = token
        logprob = logits[token] - logZ
        var top: [Alternative] = []
        if topCount > 0 {
            // Keep a small sorted list: O(V · k).
            // A token a grammar refused (-inf) is never an alternative.
            for (t, l) in logits.enumerated() where l > -.infinity && (top.count < topCount || l > top[top.count - 1].logprob) {
                let entry = Alternative(token: t, logprob: l)
                let at = top.firstIndex { $0.logprob < l } ?? top.count
                top.insert(entry, at: at)
                if top.count > topCount { top.removeLast() }
            }
            for i in top.indices { top[i].logprob -= logZ }
        }
        self.top = top
    }
}
