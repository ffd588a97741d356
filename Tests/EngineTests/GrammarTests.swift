import Foundation
import Testing
import Tokenizers
@testable import Engine

/// The GBNF parser's refusals: each is a `GrammarError` with a message, never a crash or a loop.
struct GrammarParserTests {
    func refusal(_ source: String) -> String? {
        do {
            _ = try GrammarParser.parse(source)
            return nil
        } catch let error as GrammarError {
            return error.message
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func acceptsLlamaCppSyntax() throws {
        let grammar = try GrammarParser.parse(#"""
        # a comment
        root ::= greeting ( ", " name )? [.!]{1,3}   # trailing comment
        greeting ::= "hello" | "hi" | "\x48\u0069"
        name ::= [A-Z] [a-z\-]* | .+
        other ::= ( "a" | "b" )* "c"{2} "d"{2,} "e"{0,2} [^\]\n]
        """#)
        #expect(grammar.ruleNames.contains("greeting"))
        #expect(accepts(grammar, "hello!"))
        #expect(accepts(grammar, "Hi, Ann..."))
        #expect(!accepts(grammar, "hello"))
        #expect(!accepts(grammar, "hello!!!!"))
    }

    @Test func refusesMalformedGrammars() {
        #expect(refusal(#"root ::= "a" | b"#)?.contains("'b' is used but never defined") == true)
        #expect(refusal(#"root ::= "\q""#)?.contains("unknown escape") == true)
        #expect(refusal(#"root ::= "abc"#)?.contains("unterminated") == true)
        #expect(refusal(#"root ::= [abc"#)?.contains("unterminated") == true)
        #expect(refusal(#"start ::= "a""#)?.contains("no 'root' rule") == true)
        #expect(refusal("root ::= \"a\"\nroot ::= \"b\"")?.contains("defined twice") == true)
        #expect(refusal(#"root ::= * "a""#)?.contains("nothing before it") == true)
        #expect(refusal(#"root ::= "a"{3,2}"#)?.contains("maximum below") == true)
        #expect(refusal(#"root ::= ( "a" "#)?.contains("expected ')'") == true)
        #expect(refusal(#"root ::= [z-a]"#)?.contains("ends before it starts") == true)
        #expect(refusal(#"root ::= "\U00110000""#)?.contains("not a Unicode code point") == true)
    }

    @Test func refusesLeftRecursion() {
        #expect(refusal(#"root ::= root "a" | "b""#)?.contains("left-recursive") == true)
        // Through a nullable prefix and another rule.
        #expect(refusal("root ::= x \"a\" | \"b\"\nx ::= y? root\ny ::= \"c\"")?.contains("left-recursive") == true)
        // Right recursion is fine.
        #expect(refusal("root ::= \"a\" root | \"b\"") == nil)
    }

    @Test func refusesAGrammarWithoutFiniteStrings() {
        #expect(refusal("root ::= a\na ::= \"x\" a")?.contains("accepts no finite string") == true)
    }

    @Test func refusesOverLimitGrammars() {
        #expect(refusal(#"root ::= "a"{1001}"#)?.contains("above 1000") == true)
        // 250 characters repeated 1000 times: 250,000 elements once expanded.
        #expect(refusal("root ::= \"" + String(repeating: "ab", count: 125) + "\"{1000}")?.contains("more than 200000 elements") == true)
        let deep = String(repeating: "( ", count: 65) + "\"a\"" + String(repeating: " )", count: 65)
        #expect(refusal("root ::= " + deep)?.contains("nested more than") == true)
        let manyRules = (0..<5000).map { "r\($0) ::= \"a\"" }.joined(separator: "\n") + "\nroot ::= r0"
        #expect(refusal(manyRules)?.contains("more than 4096 rules") == true)
        #expect(refusal("root ::= \"" + String(repeating: "a", count: 300_000) + "\"")?.contains("bytes") == true)
    }

    @Test func boundsAmbiguity() throws {
        // After n a's, 2^n stacks (each level may close with "b" or "c"): the stack limit stops it with an error.
        let grammar = try GrammarParser.parse("root ::= x\nx ::= \"a\" x \"b\" | \"a\" x \"c\" | \"\"")
        var failed = false
        do {
            var budget = GrammarBudget(limit: GrammarLimits.maxExpansionWork)
            _ = try grammar.advance(try grammar.initialState(), bytes: Array("aaaaaaaaaaaa".utf8), budget: &budget)
        } catch is GrammarStepError {
            failed = true
        }
        #expect(failed)
    }
}

/// Whether `grammar` accepts all of `text` (and may end after it).
func accepts(_ grammar: Grammar, _ text: String) -> Bool {
    var budget = GrammarBudget(limit: GrammarLimits.maxMaskWork)
    guard let state = try? grammar.advance(try grammar.initialState(), bytes: Array(text.utf8), budget: &budget) else { return false }
    return state.canEnd
}

/// Arithmetic expressions: the matcher against a hand-written recursive-descent checker of the same language.
struct GrammarMatcherTests {
    static let arithmetic = #"""
    root ::= expr
    expr ::= term ( ( "+" | "-" ) term )*
    term ::= factor ( ( "*" | "/" ) factor )*
    factor ::= number | "(" expr ")" | "-" factor
    number ::= [0-9]+ ( "." [0-9]{1,3} )?
    """#

    /// The same language, parsed directly: true when all of `text` is one expression.
    struct Checker {
        let s: [UInt8]
        var i = 0
        static func accepts(_ text: String) -> Bool {
            var checker = Checker(s: Array(text.utf8))
            return checker.expr() && checker.i == checker.s.count
        }
        func peek() -> UInt8? { i < s.count ? s[i] : nil }
        func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 48 && $0 <= 57 } ?? false }
        mutating func expr() -> Bool {
            guard term() else { return false }
            while peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { i += 1; guard term() else { return false } }
            return true
        }
        mutating func term() -> Bool {
            guard factor() else { return false }
            while peek() == UInt8(ascii: "*") || peek() == UInt8(ascii: "/") { i += 1; guard factor() else { return false } }
            return true
        }
        mutating func factor() -> Bool {
            if peek() == UInt8(ascii: "(") {
                i += 1
                guard expr(), peek() == UInt8(ascii: ")") else { return false }
                i += 1
                return true
            }
            if peek() == UInt8(ascii: "-") { i += 1; return factor() }
            guard isDigit(peek()) else { return false }
            while isDigit(peek()) { i += 1 }
            if peek() == UInt8(ascii: ".") {
                i += 1
                var digits = 0
                while isDigit(peek()) && digits < 3 { i += 1; digits += 1 }
                return digits > 0
            }
            return true
        }
    }

    @Test func agreesWithARecursiveDescentChecker() throws {
        let grammar = try GrammarParser.parse(Self.arithmetic)
        var random = RandomSource(seed: 23)
        let alphabet = Array("0123456789+-*/().".utf8)
        var acceptedCount = 0
        for round in 0..<3000 {
            var text: [UInt8]
            if round % 2 == 0 {
                text = (0..<Int(random.nextUnit() * 12)).map { _ in alphabet[Int(random.nextUnit() * Double(alphabet.count)) % alphabet.count] }
            } else {
                // A valid expression, sometimes with one character changed, to probe the boundary.
                text = Array(Self.expression(&random, depth: 0).utf8)
                if random.nextUnit() < 0.5, !text.isEmpty {
                    text[Int(random.nextUnit() * Double(text.count)) % text.count] = alphabet[Int(random.nextUnit() * 17) % 17]
                }
            }
            let string = String(decoding: text, as: UTF8.self)
            let expected = Checker.accepts(string)
            #expect(accepts(grammar, string) == expected, "\(string)")
            if expected { acceptedCount += 1 }
        }
        #expect(acceptedCount > 1000)
    }

    static func expression(_ random: inout RandomSource, depth: Int) -> String {
        var out = factor(&random, depth: depth)
        while random.nextUnit() < 0.4 { out += ["+", "-", "*", "/"][Int(random.nextUnit() * 4) % 4] + factor(&random, depth: depth) }
        return out
    }

    static func factor(_ random: inout RandomSource, depth: Int) -> String {
        let pick = random.nextUnit()
        if pick < 0.2 && depth < 4 { return "(" + expression(&random, depth: depth + 1) + ")" }
        if pick < 0.3 { return "-" + factor(&random, depth: depth) }
        var number = String(Int(random.nextUnit() * 1000))
        if random.nextUnit() < 0.3 { number += "." + String(Int(random.nextUnit() * 1000)) }
        return number
    }

    @Test func multiByteCharactersAcrossBytes() throws {
        let grammar = try GrammarParser.parse(#"root ::= [α-ω]+ "€""#)
        let initial = try grammar.initialState()
        var budget = GrammarBudget(limit: GrammarLimits.maxMaskWork)
        let alpha = Array("α".utf8)   // CE B1
        // The first byte of α leaves a partial character that a class can still match.
        let half = try #require(try grammar.advance(initial, bytes: alpha.prefix(1), budget: &budget))
        #expect(!half.canEnd)
        #expect(try grammar.advance(half, bytes: alpha.suffix(1), budget: &budget) != nil)
        // The first byte of "€" (E2) cannot start a Greek letter.
        #expect(try grammar.advance(initial, bytes: [0xE2], budget: &budget) == nil)
        // An overlong α (E0 80 + CE B1's bits) or a surrogate is not UTF-8, whatever the grammar allows.
        let any = try GrammarParser.parse("root ::= .+")
        #expect(try any.advance(try any.initialState(), bytes: [0xE0, 0x83, 0xB1], budget: &budget) == nil)
        #expect(try any.advance(try any.initialState(), bytes: [0xC1, 0xB4], budget: &budget) == nil)
        #expect(try any.advance(try any.initialState(), bytes: [0xED, 0xA0, 0x80], budget: &budget) == nil)
        #expect(try any.advance(try any.initialState(), bytes: [0xF4, 0x90, 0x80, 0x80], budget: &budget) == nil)
        #expect(try any.advance(try any.initialState(), bytes: [0xF0, 0x9F, 0x98, 0x80], budget: &budget) != nil)
        #expect(accepts(grammar, "αβγ€"))
        #expect(!accepts(grammar, "αβγ"))
        #expect(!accepts(grammar, "€"))
    }

    @Test func finishedWhenNothingCanFollow() throws {
        let grammar = try GrammarParser.parse(JSONGrammar.object)
        var budget = GrammarBudget(limit: GrammarLimits.maxMaskWork)
        let open = try #require(try grammar.advance(try grammar.initialState(), bytes: Array(#"{"a": [1, "x"]"#.utf8), budget: &budget))
        #expect(!open.canEnd)
        let closed = try #require(try grammar.advance(open, bytes: Array("}".utf8), budget: &budget))
        #expect(closed.canEnd && closed.isFinished)
        #expect(!accepts(grammar, "[1]"))
        #expect(accepts(grammar, "{\n  \"k\": {\"n\": -1.5e3, \"t\": true, \"z\": null}\n}"))
    }
}

/// The trie walk against matching every token of SmolLM2's vocabulary on its own, from random reachable states.
@Suite(.enabled(if: SmolLM2Tokenizer.shared != nil, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/setup.sh)"))
struct GrammarMaskTests {
    var tokenizer: Tokenizer { SmolLM2Tokenizer.shared! }

    @Test(arguments: [JSONGrammar.object, GrammarMatcherTests.arithmetic, #"root ::= "«" [α-ω ]{1,40} "»" | [0-9]{2,4}"#])
    func trieEqualsFullScan(source: String) throws {
        let grammar = try GrammarParser.parse(source)
        let trie = TokenTrie.shared(for: tokenizer)
        var random = RandomSource(seed: 7)
        var state = try grammar.initialState()
        for _ in 0..<8 {
            let walked = try grammar.allowedTokens(from: state, trie: trie)
            let scanned = try grammar.allowedTokensByScan(from: state, trie: trie)
            #expect(walked == scanned)
            #expect(!walked.isEmpty || state.canEnd)
            let allowed = (0..<trie.vocabularySize).filter { scanned.contains($0) }
            guard !allowed.isEmpty else { break }
            let token = allowed[Int(random.nextUnit() * Double(allowed.count)) % allowed.count]
            var budget = GrammarBudget(limit: GrammarLimits.maxExpansionWork)
            state = try #require(try grammar.advance(state, bytes: trie.tokenBytes[token], budget: &budget))
            if state.isFinished { break }
        }
    }
}

/// Constrained decoding in `DecodeState`: masked sampling, logprobs of the constrained distribution, the end.
@Suite(.enabled(if: SmolLM2Tokenizer.shared != nil, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/setup.sh)"))
struct ConstrainedDecodeTests {
    var tokenizer: Tokenizer { SmolLM2Tokenizer.shared! }

    @Test func followsTheGrammarAndStopsWhenComplete() throws {
        let constraint = try GrammarConstraint(try GrammarParser.parse(#"root ::= "yes" | "no""#))
        var state = DecodeState(request: GenerationRequest(promptTokens: [1], maxTokens: 20, logprobs: 3, grammar: constraint),
                                tokenizer: tokenizer, capacity: 64)
        var text = ""
        var random = RandomSource(seed: 1)
        while state.finishReason == nil {
            // Random logits: whatever the model prefers, the grammar decides what may follow.
            let logits = (0..<tokenizer.vocabularySize).map { _ in Float(random.nextUnit() * 10) }
            guard let step = logits.withUnsafeBufferPointer({ state.consume($0) }) else { break }
            text += step.text
            let report = try #require(step.logprobs)
            #expect(report.logprob <= 0 && report.logprob > -30)
            #expect(report.top.allSatisfy { $0.logprob.isFinite })
        }
        text += state.close().text
        #expect(text == "yes" || text == "no")
        #expect(state.finishReason == .stop)
    }

    @Test func endOfGenerationOnlyWhereTheGrammarCanEnd() throws {
        let constraint = try GrammarConstraint(try GrammarParser.parse(#"root ::= "ab" "c"*"#))
        var state = DecodeState(request: GenerationRequest(promptTokens: [1], maxTokens: 20, grammar: constraint),
                                tokenizer: tokenizer, capacity: 64)
        let end = try #require(tokenizer.endOfGenerationIDs.first)
        var tokens: [Int] = []
        while state.finishReason == nil {
            // The end-of-generation token is always the model's favourite.
            var logits = [Float](repeating: 0, count: tokenizer.vocabularySize)
            logits[end] = 20
            guard let step = logits.withUnsafeBufferPointer({ state.consume($0) }) else { break }
            tokens.append(step.token)
        }
        #expect(tokens.last == end)
        #expect(tokenizer.decode(tokens.dropLast(), skipSpecialTokens: true) == "ab")
        #expect(state.finishReason == .stop)
    }
}

/// The cost of one cold mask (nothing cached) on SmolLM2's vocabulary, printed for the record; bounded loosely so a
/// loaded CI host does not fail it, tightly enough to catch a walk that became a full scan per state.
@Suite(.enabled(if: SmolLM2Tokenizer.shared != nil, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/setup.sh)"))
struct GrammarMaskTimingTests {
    @Test func insideAStringTheWalkIsCheap() throws {
        let grammar = try GrammarParser.parse(JSONGrammar.object)
        let trie = TokenTrie.shared(for: SmolLM2Tokenizer.shared!)
        var budget = GrammarBudget(limit: GrammarLimits.maxMaskWork)
        let inString = try #require(try grammar.advance(try grammar.initialState(), bytes: Array(#"{"name": "Jo"#.utf8), budget: &budget))
        let start = DispatchTime.now().uptimeNanoseconds
        let mask = try grammar.allowedTokens(from: inString, trie: trie)
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        print("cold mask inside a JSON string: \(mask.count) tokens allowed in \(milliseconds) ms")
        #expect(mask.count > 40_000)
        #expect(milliseconds < 2_000)
    }
}
