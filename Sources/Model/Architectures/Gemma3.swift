extension Architecture {
    /// Gemma 3 (llama.cpp's gemma3 graph): query/key norms, post-attention and post-feed-forward norms, GELU (tanh),
    /// embeddings scaled by √d_model, the query scaled before attention, and local layers (a window, RoPE base
    /// 10 000) with every period-th layer global.
    public static let gemma3 = Architecture(
        name: "gemma3", ropeStyle: .halves, hasQKNorm: true, hasPostNorms: true, activation: .geluTanh,
        embeddingScaling: .squareRootOfWidth, scalesQueryBeforeAttention: true, slidingWindow: SlidingWindowLayout(),
        endOfTurnTokens: ["<end_of_turn>"], chatTemplateFallback: .gemma)
}
