import Foundation
import Tokenizers

/// The vocabulary's byte strings as a trie, built once per tokenizer, so that a step's mask walks the trie with the
/// grammar's state and drops a whole subtree at the first byte the grammar refuses, instead of matching every token
/// of the vocabulary from its first byte (llama.cpp's `llama_grammar_reject_candidates` does the latter).
///
/// Special tokens (control, user-defined) and tokens without bytes are left out: a grammar constrains text. The
/// end-of-generation tokens are handled apart, allowed exactly when the grammar can end.
public final class TokenTrie: Sendable {
    /// Token ids the tokenizer knows: the mask covers these, every id from here to the logits row's end is refused.
    public let vocabularySize: Int
    /// Node 0 is the root. Node n's children are entries childStart[n]..<childStart[n+1] of childByte/childNode,
    /// sorted by byte: [nodes + 1], [nodes - 1], [nodes - 1].
    let childStart: [Int32]
    let childByte: [UInt8]
    let childNode: [Int32]
    /// Tokens whose bytes end at node n: tokenIDs[tokenStart[n]..<tokenStart[n+1]]: [nodes + 1], [tokens in the trie].
    let tokenStart: [Int32]
    let tokenIDs: [Int32]
    /// Every token's bytes, for advancing the grammar by a sampled token: [vocabularySize] (empty when left out).
    let tokenBytes: [[UInt8]]

    public var nodeCount: Int { childStart.count - 1 }
    public var tokenCount: Int { tokenIDs.count }

    public init(tokenizer: Tokenizer) {
        vocabularySize = tokenizer.vocabularySize
        var bytesByToken = [[UInt8]](repeating: [], count: vocabularySize)
        // Children as [nodes] of (byte, node) lists while building; flattened below.
        var children: [[(UInt8, Int32)]] = [[]]
        var ending: [[Int32]] = [[]]
        for id in 0..<vocabularySize where !tokenizer.isSpecial(id) {
            let bytes = tokenizer.tokenBytes(id)
            guard !bytes.isEmpty else { continue }
            bytesByToken[id] = bytes
            var node = 0
            for byte in bytes {
                if let child = children[node].first(where: { $0.0 == byte }) {
                    node = Int(child.1)
                } else {
                    let child = Int32(children.count)
                    children.append([])
                    ending.append([])
                    children[node].append((byte, child))
                    node = Int(child)
                }
            }
            ending[node].append(Int32(id))
        }
        var childStart: [Int32] = [0], childByte: [UInt8] = [], childNode: [Int32] = []
        var tokenStart: [Int32] = [0], tokenIDs: [Int32] = []
        for node in children.indices {
            for (byte, child) in children[node].sorted(by: { $0.0 < $1.0 }) {
                childByte.append(byte)
                childNode.append(child)
            }
            childStart.append(Int32(childByte.count))
            tokenIDs.append(contentsOf: ending[node])
            tokenStart.append(Int32(tokenIDs.count))
        }
        self.childStart = childStart
        self.childByte = childByte
        self.childNode = childNode
        self.tokenStart = tokenStart
        self.tokenIDs = tokenIDs
        tokenBytes = bytesByToken
    }

    /// The trie of `tokenizer`, built on first use and kept (a server has one tokenizer; the cache holds the tokenizer
    /// itself, so its identity is never reused by another).
    public static func shared(for tokenizer: Tokenizer) -> TokenTrie {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        let key = ObjectIdentifier(tokenizer)
        if let entry = cache[key] { return entry.trie }
        if cache.count >= maxCachedTries { cache.removeAll() }
        let trie = TokenTrie(tokenizer: tokenizer)
        cache[key] = (tokenizer, trie)
        return trie
    }

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var cache: [ObjectIdentifier: (tokenizer: Tokenizer, trie: TokenTrie)] = [:]
    private static let maxCachedTries = 8
}

/// A set of token ids as bits: [(size + 63) / 64] words.
public struct TokenMask: Equatable, Sendable {
    public private(set) var words: [UInt64]
    public let size: Int

    public init(size: Int) {
        self.size = size
        words = [UInt64](repeating: 0, count: (size + 63) / 64)
    }

    @inline(__always) public mutating func insert(_ token: Int) { words[token >> 6] |= 1 << UInt64(token & 63) }
    @inline(__always) public func contains(_ token: Int) -> Bool {
        token >= 0 && token < size && words[token >> 6] & (1 << UInt64(token & 63)) != 0
    }
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }
}

extension Grammar {
    /// The tokens (of the trie) whose bytes the grammar allows from `state`: a depth-first walk of the trie carrying
    /// the state, so a byte the grammar refuses prunes every token that continues it. A token that ends inside a
    /// multi-byte character is allowed when some stack can still match a character it may become.
    public func allowedTokens(from state: GrammarState, trie: TokenTrie) throws -> TokenMask {
        var mask = TokenMask(size: trie.vocabularySize)
        var budget = GrammarBudget(limit: GrammarLimits.maxMaskWork)
        // Nodes still to expand with the state after their bytes: [depth of the walk × siblings].
        var pending: [(node: Int32, state: GrammarState)] = [(0, state)]
        // States met again during the walk (inside a string every character leads back to the same state), each
        // with what each byte makes of it: the advance is computed once per distinct state and byte.
        var seenStates: [GrammarState: Int] = [state: 0]
        var transitions: [[UInt8: Int]] = [[:]]     // [distinct states] of byte → index into `targets`, -1: refused
        var targets: [GrammarState] = [state]
        var pendingIndex: [Int] = [0]               // the state index of each entry of `pending`
        while let (node, nodeState) = pending.popLast() {
            let stateIndex = pendingIndex.removeLast()
            for edge in Int(trie.childStart[Int(node)])..<Int(trie.childStart[Int(node) + 1]) {
                try budget.spend(1)
                let byte = trie.childByte[edge]
                var nextIndex = transitions[stateIndex][byte]
                if nextIndex == nil {
                    if let advanced = try advance(nodeState, byte: byte, budget: &budget) {
                        if let known = seenStates[advanced] {
                            nextIndex = known
                        } else {
                            nextIndex = targets.count
                            seenStates[advanced] = targets.count
                            targets.append(advanced)
                            transitions.append([:])
                        }
                    } else {
                        nextIndex = -1
                    }
                    transitions[stateIndex][byte] = nextIndex
                }
                guard let index = nextIndex, index >= 0 else { continue }
                let next = targets[index]
                let child = Int(trie.childNode[edge])
                for t in Int(trie.tokenStart[child])..<Int(trie.tokenStart[child + 1]) { mask.insert(Int(trie.tokenIDs[t])) }
                if trie.childStart[child] < trie.childStart[child + 1] {
                    pending.append((Int32(child), next))
                    pendingIndex.append(index)
                }
            }
        }
        return mask
    }

    /// The same set as `allowedTokens`, by matching every token's bytes on its own: the reference the trie walk is
    /// tested against.
    public func allowedTokensByScan(from state: GrammarState, trie: TokenTrie) throws -> TokenMask {
        var mask = TokenMask(size: trie.vocabularySize)
        for (token, bytes) in trie.tokenBytes.enumerated() where !bytes.isEmpty {
            var budget = GrammarBudget(limit: GrammarLimits.maxMaskWork)
            if try advance(state, bytes: bytes, budget: &budget) != nil { mask.insert(token) }
        }
        return mask
    }
}
