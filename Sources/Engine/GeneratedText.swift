import Tokenizers

/// Turns sampled tokens into the text a client sees: whole characters only, special tokens skipped, and
/// nothing from a stop sequence on. Shared by the single-sequence generator and the scheduler.
struct GeneratedText {
    private var decoder: StreamingDecoder
    private var stopMatcher: StopMatcher
    /// A stop sequence was reached; no more text follows.
    private(set) var stopped = false

    init(tokenizer: Tokenizer, stops: [String]) {
        decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: true)
        stopMatcher = StopMatcher(stops: stops)
    }

    /// The text this token makes safe to emit (possibly empty).
    mutating func push(_ token: Int) -> String {
        guard !stopped else { return "" }
        let (text, hit) = stopMatcher.feed(decoder.push(token))
        stopped = hit
        return text
    }

    /// At the end: an incomplete character and any tail held back as a possible stop-sequence prefix
    /// ("" after a stop sequence). May itself reach a stop sequence.
    mutating func finish() -> String {
        guard !stopped else { return "" }
        var (rest, hit) = stopMatcher.feed(decoder.finish())
        stopped = hit
        if !hit { rest += stopMatcher.finish() }
        return rest
    }
}
