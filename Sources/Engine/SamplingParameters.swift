/// How the next token is chosen. The defaults sample from the model's distribution unchanged.
public struct SamplingParameters: Sendable, Equatable, Codable {
    /// 0 means greedy (argmax after penalties).
    public var temperature: Float = 1
    /// Keep the k most likely tokens; 0 keeps all.
    public var topK: Int = 0
    /// Keep the smallest set of most likely tokens whose probability reaches topP.
    public var topP: Float = 1
    /// Drop tokens whose probability is below minP × the most likely token's.
    public var minP: Float = 0
    /// llama.cpp's repetition penalty over the last `penaltyWindow` tokens (1 = off).
    public var repetitionPenalty: Float = 1
    /// OpenAI's presence and frequency penalties over the generated tokens (0 = off).
    public var presencePenalty: Float = 0
    public var frequencyPenalty: Float = 0
    public var penaltyWindow: Int = 64
    /// Same seed, same prompt, same parameters: same tokens. nil draws a seed.
    public var seed: UInt64?

    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                repetitionPenalty: Float = 1, presencePenalty: Float = 0, frequencyPenalty: Float = 0,
                penaltyWindow: Int = 64, seed: UInt64? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.penaltyWindow = penaltyWindow
        self.seed = seed
    }

    public static let greedy = SamplingParameters(temperature: 0)

    public var isGreedy: Bool { temperature <= 0 }
}
