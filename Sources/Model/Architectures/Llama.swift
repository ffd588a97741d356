extension Architecture {
    /// Llama and the families converted as llama (SmolLM2): RoPE on adjacent pairs, SiLU, no extra norms.
    public static let llama = Architecture(
        name: "llama", ropeStyle: .adjacentPairs, hasQKNorm: false, hasPostNorms: false, activation: .silu,
        embeddingScaling: .none, scalesQueryBeforeAttention: false,
        // ChatML (SmolLM2) first, then Llama 3's end of turn.
        endOfTurnTokens: ["<|im_end|>", "<|eot_id|>"], chatTemplateFallback: .chatml(defaultSystem: nil))
}
