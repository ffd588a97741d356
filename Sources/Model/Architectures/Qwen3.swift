extension Architecture {
    /// Qwen3: llama's block with per-head RMS norms of query and key, RoPE on halves (neox), ChatML.
    public static let qwen3 = Architecture(
        name: "qwen3", ropeStyle: .halves, hasQKNorm: true, hasPostNorms: false, activation: .silu,
        embeddingScaling: .none, scalesQueryBeforeAttention: false,
        endOfTurnTokens: ["<|im_end|>"], chatTemplateFallback: .chatml(defaultSystem: nil))
}
