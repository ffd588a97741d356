extension Architecture {
    /// Qwen2 (Qwen2.5 and its Coder and Instruct variants; llama.cpp's qwen2 graph): llama's block with biases on
    /// the query, key and value projections (`blk.N.attn_q.bias`, …, read when present as for every family, see
    /// `TensorNames.projectionBias`), RoPE on halves (llama.cpp's `llama_model_rope_type`: QWEN2 → NEOX), SiLU,
    /// the RoPE base from the file (1e6 for Qwen2.5), an untied `output.weight` when the file has one, ChatML.
    public static let qwen2 = Architecture(
        name: "qwen2", ropeStyle: .halves, hasQKNorm: false, hasPostNorms: false, activation: .silu,
        embeddingScaling: .none, scalesQueryBeforeAttention: false,
        endOfTurnTokens: ["<|im_end|>"], chatTemplateFallback: .chatml(defaultSystem: nil))
}
