import Foundation
import Tokenizers

/// A compiled grammar that a request's choices decode under, with the masks already computed for it: the states of a
/// grammar recur (inside a string, after each comma), so a state's mask is computed once and then shared by every
/// sequence decoding under the same constraint (all choices of a request; requests that reuse it, see `cached`).
public final class GrammarConstraint: @unchecked Sendable {
    public let grammar: Grammar
    public let initialState: GrammarState
    private let lock = NSLock()
    /// Masks by trie and state, up to `maxCachedMasks` of them (each vocabulary / 8 bytes: 6 KiB for 49,152 tokens, so
    /// at most 3 MiB per constraint and 48 MiB for the `maxCachedConstraints` kept).
    private var masks: [MaskKey: TokenMask] = [:]
    static let maxCachedMasks = 512

    private struct MaskKey: Hashable {
        let trie: ObjectIdentifier
        let state: GrammarState
    }

    /// Fails when the grammar's start already needs more parses than allowed.
    public init(_ grammar: Grammar) throws {
        self.grammar = grammar
        initialState = try grammar.initialState()
    }

    /// The tokens of `trie` allowed from `state` (end-of-generation tokens aside).
    func allowedTokens(from state: GrammarState, trie: TokenTrie) throws -> TokenMask {
        let key = MaskKey(trie: ObjectIdentifier(trie), state: state)
        lock.lock()
        let cachedMask = masks[key]
        lock.unlock()
        if let cachedMask { return cachedMask }
        let mask = try grammar.allowedTokens(from: state, trie: trie)
        lock.lock()
        if masks.count >= Self.maxCachedMasks { masks.removeAll(keepingCapacity: true) }
        masks[key] = mask
        lock.unlock()
        return mask
    }

    /// The constraint compiled from `source` by `compile`, shared with earlier requests that sent the same source (up to
    /// `maxCachedConstraints` sources), so that their masks are reused: a service that sends one schema per call
    /// computes each state's mask once.
    public static func cached(source: String, compile: () throws -> GrammarConstraint) throws -> GrammarConstraint {
        cacheLock.lock()
        let found = cache[source]
        cacheLock.unlock()
        if let found { return found }
        let constraint = try compile()
        cacheLock.lock()
        if cache.count >= maxCachedConstraints { cache.removeAll() }
        cache[source] = constraint
        cacheLock.unlock()
        return constraint
    }

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var cache: [String: GrammarConstraint] = [:]
    static let maxCachedConstraints = 16
}

/// One sequence's constrained decoding: its grammar state, the logits row with refused tokens at -inf, and the
/// advance by each sampled token.
struct GrammarTokenFilter {
    let constraint: GrammarConstraint
    let trie: TokenTrie
    /// End-of-generation tokens the sequence treats as such (none under ignore_eos): allowed when the grammar can end.
    let endIDs: [Int]
    private(set) var state: GrammarState
    /// The row handed to the sampler: [logits row length].
    private var maskedRow: [Float] = []

    init(constraint: GrammarConstraint, tokenizer: Tokenizer, endIDs: Set<Int>) {
        self.constraint = constraint
        trie = TokenTrie.shared(for: tokenizer)
        self.endIDs = endIDs.sorted()
        state = constraint.initialState
    }

    /// `logits` with every token the grammar refuses set to -inf, or nil when it allows none (the sequence then fails).
    mutating func mask(_ logits: UnsafeBufferPointer<Float>) throws -> [Float]? {
        let allowed = try constraint.allowedTokens(from: state, trie: trie)
        let vocabulary = min(logits.count, allowed.size)
        if maskedRow.count != logits.count { maskedRow = [Float](repeating: -.infinity, count: logits.count) }
        var any = false
        maskedRow.withUnsafeMutableBufferPointer { row in
            for word in 0..<allowed.words.count {
                let bits = allowed.words[word]
                let base = word << 6
                for bit in 0..<64 where base + bit < vocabulary {
                    row[base + bit] = bits & (1 << UInt64(bit)) != 0 ? logits[base + bit] : -.infinity
                }
                any = any || bits != 0
            }
            for t in vocabulary..<row.count { row[t] = -.infinity }
            if state.canEnd {
                for t in endIDs where t < row.count { row[t] = logits[t]; any = true }
            }
        }
        return any ? maskedRow : nil
    }

    /// Moves the state past a sampled token (not an end-of-generation token). Fails if the grammar refuses it.
    mutating func accept(_ token: Int) throws {
        let bytes = token >= 0 && token < trie.tokenBytes.count ? trie.tokenBytes[token] : []
        var budget = GrammarBudget(limit: GrammarLimits.maxExpansionWork)
        guard !bytes.isEmpty, let next = try constraint.grammar.advance(state, bytes: bytes, budget: &budget) else {
            throw GrammarStepError(message: "token \(token) does not continue the grammar")
        }
        state = next
    }
}
