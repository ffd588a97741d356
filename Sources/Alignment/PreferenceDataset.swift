import Model
import Tokenizers

/// The preference rows a trainer learns from: tokenized (prompt, chosen and rejected responses, each response
/// ending with the end-of-turn token), checked against the model's vocabulary and length budget, and split by prompt
/// into training and held-out rows (docs/RACO.md, "Preference data").
struct PreferenceDataset {
    /// A tokenized preference row: A = chosen, B = rejected.
    struct EncodedRow {
        let chosen: SequencePair
        let rejected: SequencePair
        let labels: [PreferenceLabel]   // [k]
        var tokenCount: Int { chosen.prompt.count + chosen.response.count + rejected.prompt.count + rejected.response.count - 2 }
    }

    let rows: [EncodedRow]           // usable rows, in file order
    let trainIndices: [Int]          // into rows
    let heldOutIndices: [Int]        // into rows
    /// Rows left out because their prompt leaves no room for a response within `maxTokensPerSequence`.
    let skippedRows: Int

    init(records: [PreferenceRecord], objectives: [String], tokenizer: Tokenizer, vocabularySize: Int,
         hyperparameters: AlignmentHyperparameters, endOfTurnID: Int? = nil) throws {
        // The response ends with the token the chat template closes an assistant turn with (else the family's
        // end-of-turn token), so that the policy also learns where to stop, as the served model does.
        let endOfTurn = endOfTurnID ?? tokenizer.endOfTurnID ?? tokenizer.eosID
        let maxTokens = hyperparameters.maxTokensPerSequence
        var encoded = [EncodedRow](), skipped = 0
        for (index, record) in records.enumerated() {
            let prompt = tokenizer.encode(record.prompt)
            func response(_ text: String) -> [Int] {
                var ids = tokenizer.encode(text, addSpecialTokens: false, parseSpecialTokens: false)
                if let endOfTurn { ids.append(endOfTurn) }
                return Array(ids.prefix(maxTokens - prompt.count))
            }
            // A prompt that leaves no room for a few response tokens cannot be scored meaningfully.
            guard !prompt.isEmpty, prompt.count <= maxTokens - 2 else {
                skipped += 1
                continue
            }
            let chosen = response(record.chosen), rejected = response(record.rejected)
            guard !chosen.isEmpty, !rejected.isEmpty else {
                throw AlignmentTrainingError.invalidRecord(line: index + 1, reason: "empty response and no end-of-turn token")
            }
            for t in prompt + chosen + rejected where t >= vocabularySize {
                throw AlignmentTrainingError.invalidRecord(line: index + 1, reason: "token \(t) is outside the model's vocabulary")
            }
            encoded.append(EncodedRow(
                chosen: SequencePair(prompt: prompt, response: chosen),
                rejected: SequencePair(prompt: prompt, response: rejected),
                labels: objectives.map { PreferenceLabel(rawValue: Int8(record.labels[$0] ?? 0)) ?? .tie }))
        }
        rows = encoded
        skippedRows = skipped

        // Split by prompt: whole prompts, in a seeded order, are held out until about `heldOutFraction` of the rows
        // are, so that the pairs of one question stay on one side and held-out accuracy is measured on questions
        // the adapter did not train on. (With a single prompt, its rows are split.)
        var groups = Dictionary(grouping: encoded.indices, by: { encoded[$0].chosen.prompt }).values
            .sorted { $0[0] < $1[0] }
        if groups.count < 2 { groups = encoded.indices.map { [$0] } }
        var order = Array(groups.indices)
        var random = SplitMix64(seed: hyperparameters.seed ^ 0x5EED_5EED)
        random.shuffle(&order)
        groups = order.map { groups[$0] }
        var target = Int((hyperparameters.heldOutFraction * Double(encoded.count)).rounded())
        if hyperparameters.heldOutFraction > 0 && encoded.count >= 2 { target = max(target, 1) }
        var heldOut: [Int] = [], training: [Int] = []
        for group in groups {
            if heldOut.count < target && heldOut.count + group.count < encoded.count {
                heldOut += group
            } else {
                training += group
            }
        }
        guard !training.isEmpty else {
            throw AlignmentTrainingError.notEnoughData("\(encoded.count) usable rows (\(skipped) too long for \(maxTokens) tokens)")
        }
        heldOutIndices = heldOut.sorted()
        trainIndices = training.sorted()
    }
}
