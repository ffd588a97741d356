import Foundation
import Testing
@testable import Tokenizers

/// Encoding 10 KB must take well under 50 ms; building Gemma's 262k-token tokenizer about 1 s.
@Suite(.serialized) struct PerformanceTests {
    static let text: String = {
        let paragraph = """
        The quick brown fox jumps over the lazy dog. It wasn't the first time; it had done so 1,024 times.
        def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n
        你好，世界！ 日本語のテキスト, café naïve 😀🎉 — "quoted" text, with punctuation...\n\n
        """
        var text = ""
        while text.utf8.count < 10_240 { text += paragraph }
        return text
    }()

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    @Test(arguments: ["smollm2", "gemma3"])
    func encodeTenKilobytes(_ name: String) throws {
        let tokenizer = try Fixtures.model(name).tokenizer
        let clock = ContinuousClock()
        var best = Double.infinity
        var count = 0
        for _ in 0..<3 {
            let elapsed = clock.measure { count = tokenizer.encode(Self.text).count }
            best = min(best, Self.milliseconds(elapsed))
        }
        print("\(name): encoded \(Self.text.utf8.count) bytes into \(count) tokens in \(best) ms")
        #expect(best < 50)
    }

    /// Degenerate 10 KB inputs: one long word, long runs that special tokens match at every position.
    static let degenerate: [String] = [
        String(repeating: " ", count: 10_240), String(repeating: "\n", count: 10_240), String(repeating: "a", count: 10_240),
        String(repeating: "<", count: 10_240), String(repeating: "<start_of_turn", count: 730),
        String(repeating: "你", count: 3_400), String(repeating: " \t\n", count: 3_400),
    ]

    @Test(arguments: ["smollm2", "gemma3"])
    func encodeDegenerateInputs(_ name: String) throws {
        let tokenizer = try Fixtures.model(name).tokenizer
        let clock = ContinuousClock()
        for text in Self.degenerate {
            var best = Double.infinity
            for _ in 0..<3 {
                best = min(best, Self.milliseconds(clock.measure { _ = tokenizer.encode(text) }))
            }
            #expect(best < 50, "\(name): \(text.prefix(4).debugDescription)… took \(best) ms")
        }
    }

    @Test func constructGemma() throws {
        let vocabulary = try Fixtures.gemma3().vocabulary
        let clock = ContinuousClock()
        var best = Double.infinity
        for _ in 0..<2 {
            let elapsed = try clock.measure { _ = try Tokenizer(vocabulary) }
            best = min(best, Self.milliseconds(elapsed))
        }
        print("gemma3: built a \(vocabulary.tokens.count)-token tokenizer in \(best) ms")
        #expect(best < 2000)  // goal about 1 s; headroom for a loaded machine
    }
}
