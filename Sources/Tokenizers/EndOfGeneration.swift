/// Which tokens end a generation, found by their text as llama.cpp does (GGUF files rarely list
/// them): eos, end-of-turn tokens of the common chat formats, and the FIM pad/repo/separator
/// tokens. All of them are treated as control tokens.
enum EndOfGeneration {
    static let endOfTurnTexts: [String] = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
    ]
    /// The turn closers of the chat formats Raconteur renders (ChatML, Gemma) and of Llama 3, in that order: a
    /// turn's end when the model family does not name its own.
    static let turnClosers = ["<|im_end|>", "<end_of_turn>", "<|eot_id|>"]
    /// FIM pad, repo and file-separator tokens, which llama.cpp also counts as end of generation.
    static let fimEndTexts: [[String]] = [
        ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
        ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"],
        ["<|file_sep|>"],
    ]
    /// FIM prefix/suffix/middle tokens: control, but not end of generation.
    static let fimControlTexts: [String] = [
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>",
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>",
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>",
    ]

    /// `lookup` gives a text's token id or a negative number; the model family's end-of-turn texts
    /// (`familyEndOfTurn`) end a generation too.
    static func ids(lookup: (String) -> Int32, eosID: Int?, familyEndOfTurn: [String] = [])
        -> (ids: Set<Int>, markedControl: Set<Int>) {
        func find(_ text: String) -> Int? {
            let id = lookup(text)
            return id >= 0 ? Int(id) : nil
        }
        var ids = Set<Int>()
        for text in endOfTurnTexts + familyEndOfTurn {
            if let id = find(text) { ids.insert(id) }
        }
        for group in fimEndTexts {
            // One token per role: the first name of the list that the vocabulary has.
            if let id = group.compactMap({ find($0) }).first { ids.insert(id) }
        }
        if let eosID { ids.insert(eosID) }
        // "<|end|>" ends a turn except in vocabularies that use "<|return|>"/"<|call|>" (gpt-oss)
        // or "<|calls|>"/"<|flush|>" (solar-open) for that; "</s>" is plain text in vocabularies
        // with "<|tool_response>" or "<|plamo:eos|>".
        if let end = find("<|end|>"), end != eosID,
           (find("<|return|>") != nil && find("<|call|>") != nil) || (find("<|calls|>") != nil && find("<|flush|>") != nil) {
            ids.remove(end)
        }
        if let closing = find("</s>"), closing != eosID,
           find("<|tool_response>") != nil || find("<|plamo:eos|>") != nil {
            ids.remove(closing)
        }
        var control = Set<Int>()
        for text in fimControlTexts {
            if let id = find(text) { control.insert(id) }
        }
        return (ids, control)
    }
}
