/// A context-free grammar in llama.cpp's compiled form (its `llama_grammar_element` arrays, "GBNF" in
/// grammars/README.md): every rule is a flat run of elements, alternatives separated by `.alternative` and the rule
/// closed by `.end`. Repetitions and groups are already rewritten into generated rules, so the matcher sees only
/// sequences, alternatives, rule references and character classes.
public struct Grammar: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case end            // closes a rule
        case alternative    // separates two alternatives of a rule
        case ruleReference  // value: the rule's index
        case char           // value: a code point; starts a positive character class
        case charNot        // value: a code point; starts a negated character class
        case charRangeUpper // value: the inclusive upper bound of the range that the previous char element starts
        case charAlternative // value: another code point of the same class
        case charAny        // `.`: any code point
    }

    public struct Element: Sendable, Equatable {
        public var kind: Kind
        public var value: UInt32
        public init(_ kind: Kind, _ value: UInt32 = 0) { self.kind = kind; self.value = value }
    }

    /// All rules' elements back to back: [total elements], each rule's run ending with `.end`.
    public let elements: [Element]
    /// Where each rule's run starts in `elements`: [rule count].
    public let ruleStarts: [Int32]
    /// Rule names by index (generated rules get `name#N`), for error messages.
    public let ruleNames: [String]
    public let rootRule: Int32

    init(elements: [Element], ruleStarts: [Int32], ruleNames: [String], rootRule: Int32) {
        self.elements = elements
        self.ruleStarts = ruleStarts
        self.ruleNames = ruleNames
        self.rootRule = rootRule
    }

    /// Whether the element at `position` ends an alternative (its sequence has nothing more to match).
    @inline(__always) func endsSequence(_ position: Int) -> Bool {
        let kind = elements[position].kind
        return kind == .end || kind == .alternative
    }
}

/// Bounds on what a request's grammar may compile to: each is checked while parsing, so a hostile grammar is
/// refused with a `GrammarError` before any decoding, and the matcher's per-step work stays bounded.
public enum GrammarLimits {
    /// Bytes of GBNF source.
    public static let maxSourceBytes = 256 * 1024
    /// Rules after groups and repetitions are rewritten into rules of their own.
    public static let maxRules = 4_096
    /// Elements of all rules together.
    public static let maxElements = 200_000
    /// Parentheses nested inside one another.
    public static let maxNestingDepth = 64
    /// The largest count in a `{m,n}` repetition.
    public static let maxRepetition = 1_000
    /// Parse stacks alive at once for one sequence (llama.cpp's `llama_grammar_stacks`); more is an error for that
    /// sequence, not a stall of the batch.
    public static let maxStacks = 1_024
    /// Stack expansions allowed while accepting one token (rule references through nullable rules).
    public static let maxExpansionWork = 100_000
    /// Stack expansions and trie nodes allowed while computing one step's mask of allowed tokens.
    public static let maxMaskWork = 4_000_000
}

public struct GrammarError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
