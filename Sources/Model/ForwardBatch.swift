/// The rows of one forward pass: each row is one token of one sequence at one position.
/// Rows of several sequences (prefill chunks and decode steps alike) share the weights' single read.
public struct ForwardBatch: Sendable {
    public var tokens: [Int]        // [R]
    public var positions: [Int]     // [R] position of each token in its sequence
    public var sequences: [Int]     // [R] index into the caches passed with the batch
    /// Rows whose next-token logits are wanted, in the order the logits are returned.
    public var logitRows: [Int]
    /// [R] the LoRA mixture of each row (empty: the base model). Rows with different mixtures share the pass.
    public var adapters: [[AdapterTerm]]

    public init(tokens: [Int] = [], positions: [Int] = [], sequences: [Int] = [], logitRows: [Int] = []) {
        self.tokens = tokens
        self.positions = positions
        self.sequences = sequences
        self.logitRows = logitRows
        adapters = Array(repeating: [], count: tokens.count)
    }

    public var count: Int { tokens.count }

    /// Appends a run of tokens of one sequence starting at `position`; optionally wants logits of its last token.
    public mutating func append(sequence: Int, tokens newTokens: some Collection<Int>, startingAt position: Int,
                                logitsForLast: Bool, adapters mixture: [AdapterTerm] = []) {
        for (i, t) in newTokens.enumerated() {
            tokens.append(t)
            positions.append(position + i)
            sequences.append(sequence)
            adapters.append(mixture)
        }
        if logitsForLast, !newTokens.isEmpty { logitRows.append(tokens.count - 1) }
    }
}
