import Foundation
import Model

/// Teacher-forced scoring: what the model thinks of text it did not choose.
public enum Evaluation {
    /// log p(tokens[i] | tokens[..<i]) for every i in scoreFrom..<tokens.count (scoreFrom ≥ 1), in one fresh cache.
    /// With `topCount` > 0, each entry also carries the best alternatives at that position.
    public static func teacherForcedLogprobs(model: TransformerModel, tokens: [Int], scoreFrom: Int,
                                             topCount: Int = 0, chunk: Int = 128,
                                             adapters: [AdapterTerm] = []) throws -> [TokenLogprobs] {
        precondition(scoreFrom >= 1, "the first token has no context to be scored in")
        let cache = model.makeCache(capacity: tokens.count)
        var result: [TokenLogprobs] = []
        let vocab = model.config.vocabularySize
        var start = 0
        while start < tokens.count - 1 {
            let end = min(tokens.count - 1, start + chunk)   // rows start..<end predict tokens start+1...end
            var batch = ForwardBatch()
            batch.append(sequence: 0, tokens: tokens[start..<end], startingAt: start, logitsForLast: false, adapters: adapters)
            let wanted = (start..<end).filter { $0 + 1 >= scoreFrom }
            batch.logitRows = wanted.map { $0 - start }
            try model.forward(batch, caches: [cache]) { logits in
                for (i, row) in wanted.enumerated() {
                    let rowLogits = UnsafeBufferPointer(rebasing: logits[(i * vocab)..<((i + 1) * vocab)])
                    result.append(TokenLogprobs(logits: rowLogits, token: tokens[row + 1], topCount: topCount))
                }
            }
            start = end
        }
        return result
    }

    /// llama.cpp's llama-perplexity protocol: chunks of `context` tokens (the first replaced by BOS when the
    /// model adds BOS), only the second half of each chunk scored. Returns PPL = exp(mean NLL) and the count.
    public static func perplexity(model: TransformerModel, tokens: [Int], context: Int, bos: Int?,
                                  progress: (Int, Int, Double) -> Void = { _, _, _ in }) throws -> (ppl: Double, scored: Int) {
        let chunks = tokens.count / context
        let first = context / 2
        var nll = 0.0, count = 0
        for c in 0..<chunks {
            var chunk = Array(tokens[(c * context)..<((c + 1) * context)])
            if let bos { chunk[0] = bos }
            let scored = try teacherForcedLogprobs(model: model, tokens: chunk, scoreFrom: first + 1)
            for s in scored { nll -= Double(s.logprob) }
            count += scored.count
            progress(c + 1, chunks, exp(nll / Double(count)))
        }
        return (exp(nll / Double(max(count, 1))), count)
    }
}
