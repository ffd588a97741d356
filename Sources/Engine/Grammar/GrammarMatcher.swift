/// Where a partial parse stands: llama.cpp's `llama_grammar` state (src/llama-grammar.cpp). Each stack is a path of
/// element positions through the rules, its top (last) the character class to match next; an empty stack is a
/// complete parse. Several stacks are alive when the grammar is ambiguous so far. `partial` holds the leading bytes of
/// a code point that a token split (byte-level vocabularies split multi-byte characters).
public struct GrammarState: Hashable, Sendable {
    /// [stacks] of [depth] element positions, deduplicated.
    public internal(set) var stacks: [[Int32]]
    public internal(set) var partial: PartialCodePoint

    /// Some stack is complete and no character is half-read: the output may end here.
    public var canEnd: Bool { partial.remaining == 0 && stacks.contains { $0.isEmpty } }
    /// Complete with nothing that could follow: the output must end here.
    public var isFinished: Bool { partial.remaining == 0 && stacks.allSatisfy { $0.isEmpty } }
}

/// The bits of a UTF-8 sequence read so far and how many continuation bytes it still needs. Only well-formed UTF-8
/// passes (RFC 3629 section 4): no overlong forms, no surrogates, nothing above U+10FFFF, so that a byte-level
/// vocabulary cannot spell a character the grammar allows with bytes a client would decode as U+FFFD.
public struct PartialCodePoint: Hashable, Sendable {
    var value: UInt32 = 0
    var remaining: UInt8 = 0
    /// The smallest code point the sequence's length may encode (0x80, 0x800 or 0x10000).
    var minimum: UInt32 = 0

    /// Feeds one byte: a whole code point, a longer partial one, or nil for bytes that are not well-formed UTF-8.
    @inline(__always) func feeding(_ byte: UInt8) -> (codePoint: UInt32?, partial: PartialCodePoint)? {
        if remaining == 0 {
            switch byte {
            case 0..<0x80: return (UInt32(byte), PartialCodePoint())
            case 0xC2..<0xE0: return (nil, PartialCodePoint(value: UInt32(byte & 0x1F), remaining: 1, minimum: 0x80))
            case 0xE0..<0xF0: return (nil, PartialCodePoint(value: UInt32(byte & 0x0F), remaining: 2, minimum: 0x800))
            case 0xF0..<0xF5: return (nil, PartialCodePoint(value: UInt32(byte & 0x07), remaining: 3, minimum: 0x10000))
            default: return nil
            }
        }
        guard byte & 0xC0 == 0x80 else { return nil }
        let next = PartialCodePoint(value: value << 6 | UInt32(byte & 0x3F), remaining: remaining - 1, minimum: minimum)
        let possible = next.rawRange
        // Overlong, beyond U+10FFFF, or a surrogate: no continuation can make it well-formed.
        guard possible.upperBound >= minimum, possible.lowerBound <= 0x10FFFF,
              !(possible.lowerBound >= 0xD800 && possible.upperBound <= 0xDFFF) else { return nil }
        return next.remaining == 0 ? (next.value, PartialCodePoint()) : (nil, next)
    }

    private var rawRange: ClosedRange<UInt32> {
        let shift = UInt32(remaining) * 6
        let low = value << shift
        return low...(low | ((1 << shift) - 1))
    }

    /// The code points this partial sequence can still become.
    var range: ClosedRange<UInt32> {
        let raw = rawRange
        return max(raw.lowerBound, minimum)...min(raw.upperBound, 0x10FFFF)
    }
}

public struct GrammarBudget: Sendable {
    public private(set) var used = 0
    public let limit: Int
    public init(limit: Int) { self.limit = limit }

    @inline(__always) mutating func spend(_ units: Int) throws {
        used += units
        guard used <= limit else {
            throw GrammarStepError(message: "the grammar is too ambiguous here: one decoding step needed more than \(limit) steps of matching")
        }
    }
}

public struct GrammarStepError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

extension Grammar {
    /// The state before any output: the root rule's alternatives, expanded.
    public func initialState() throws -> GrammarState {
        var budget = GrammarBudget(limit: GrammarLimits.maxExpansionWork)
        var expander = StackExpander()
        try expander.expand([], pushingRule: Int(rootRule), grammar: self, budget: &budget)
        return GrammarState(stacks: expander.stacks, partial: PartialCodePoint())
    }

    /// The state after `bytes`, or nil when the grammar does not allow them.
    public func advance(_ state: GrammarState, bytes: some Sequence<UInt8>, budget: inout GrammarBudget) throws -> GrammarState? {
        var state = state
        for byte in bytes {
            guard let next = try advance(state, byte: byte, budget: &budget) else { return nil }
            state = next
        }
        return state
    }

    /// The state after one byte, or nil when the grammar does not allow it.
    @inline(__always)
    func advance(_ state: GrammarState, byte: UInt8, budget: inout GrammarBudget) throws -> GrammarState? {
        guard let (codePoint, partial) = state.partial.feeding(byte) else { return nil }
        guard let codePoint else {
            // Keep only the stacks whose next class can still match the character being read.
            let range = partial.range
            let viable = state.stacks.filter { stack in stack.last.map { matchesSome(Int($0), in: range) } ?? false }
            return viable.isEmpty ? nil : GrammarState(stacks: viable, partial: partial)
        }
        let stacks = try accept(codePoint, stacks: state.stacks, budget: &budget)
        return stacks.isEmpty ? nil : GrammarState(stacks: stacks, partial: PartialCodePoint())
    }

    /// llama.cpp's `llama_grammar_accept`: every stack whose top class matches `codePoint`, moved past it and expanded.
    func accept(_ codePoint: UInt32, stacks: [[Int32]], budget: inout GrammarBudget) throws -> [[Int32]] {
        var expander = StackExpander()
        for stack in stacks {
            guard let top = stack.last else { continue }
            let (matched, after) = match(Int(top), codePoint)
            guard matched else { continue }
            var next = stack
            next.removeLast()
            if !endsSequence(after) { next.append(Int32(after)) }
            try expander.expand(next, grammar: self, budget: &budget)
        }
        return expander.stacks
    }

    /// llama.cpp's `llama_grammar_match_char`: whether the class starting at `position` matches, and the position after it.
    @inline(__always)
    func match(_ position: Int, _ codePoint: UInt32) -> (Bool, Int) {
        var p = position
        let positive = elements[p].kind != .charNot
        var found = false
        repeat {
            let element = elements[p]
            if element.kind == .charAny {
                found = true
                p += 1
            } else if elements[p + 1].kind == .charRangeUpper {
                found = found || (element.value <= codePoint && codePoint <= elements[p + 1].value)
                p += 2
            } else {
                found = found || element.value == codePoint
                p += 1
            }
        } while elements[p].kind == .charAlternative
        return (found == positive, p)
    }

    /// llama.cpp's `llama_grammar_match_partial_char`: whether the class at `position` may match some code point in
    /// `range`. Exact for positive classes; a negated class passes unless one of its ranges covers all of `range`.
    func matchesSome(_ position: Int, in range: ClosedRange<UInt32>) -> Bool {
        var p = position
        let positive = elements[p].kind != .charNot
        repeat {
            let element = elements[p]
            if element.kind == .charAny { return true }
            let low = element.value
            var high = element.value
            if elements[p + 1].kind == .charRangeUpper { high = elements[p + 1].value; p += 2 } else { p += 1 }
            if positive && low <= range.upperBound && range.lowerBound <= high { return true }
            if !positive && low <= range.lowerBound && range.upperBound <= high { return false }
        } while elements[p].kind == .charAlternative
        return !positive
    }
}

/// llama.cpp's `llama_grammar_advance_stack`, iteratively: a stack whose top is a rule reference becomes one stack
/// per alternative of that rule, until every top is a character class or the stack is empty (a complete parse).
struct StackExpander {
    /// The expanded stacks, in the order first reached, without duplicates: [stacks] of [depth].
    private(set) var stacks: [[Int32]] = []
    private var seen: Set<[Int32]> = []
    private var pending: [[Int32]] = []

    mutating func expand(_ stack: [Int32], grammar: Grammar, budget: inout GrammarBudget) throws {
        pending.append(stack)
        try drain(grammar: grammar, budget: &budget)
    }

    /// Expands `base` with `rule` pushed on top of it (the root at the start).
    mutating func expand(_ base: [Int32], pushingRule rule: Int, grammar: Grammar, budget: inout GrammarBudget) throws {
        pushAlternatives(of: rule, onto: base, grammar: grammar)
        try drain(grammar: grammar, budget: &budget)
    }

    private mutating func pushAlternatives(of rule: Int, onto base: [Int32], grammar: Grammar) {
        var start = Int(grammar.ruleStarts[rule])
        while true {
            var next = base
            if !grammar.endsSequence(start) { next.append(Int32(start)) }
            pending.append(next)
            while !grammar.endsSequence(start) { start += 1 }
            guard grammar.elements[start].kind == .alternative else { return }
            start += 1
        }
    }

    private mutating func drain(grammar: Grammar, budget: inout GrammarBudget) throws {
        while let stack = pending.popLast() {
            try budget.spend(1)
            guard let top = stack.last, grammar.elements[Int(top)].kind == .ruleReference else {
                if seen.insert(stack).inserted {
                    stacks.append(stack)
                    guard stacks.count <= GrammarLimits.maxStacks else {
                        throw GrammarStepError(message: "the grammar is too ambiguous here: more than \(GrammarLimits.maxStacks) parses are alive at once")
                    }
                }
                continue
            }
            let position = Int(top)
            var base = stack
            base.removeLast()
            if !grammar.endsSequence(position + 1) { base.append(Int32(position + 1)) }
            pushAlternatives(of: Int(grammar.elements[position].value), onto: base, grammar: grammar)
        }
    }
}
