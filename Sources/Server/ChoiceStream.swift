import Engine
import Hummingbird

/// What one endpoint sends for each event of a streamed run: its chunk type and how every event becomes a chunk.
/// The loop around it (`streamChoices`) is shared, so both endpoints record, count and end a stream the same way.
protocol StreamChunkFormat {
    associatedtype Chunk: Encodable & Sendable
    /// Chunks sent before the run's first event (chat: each choice's role; completions: echoed prompts).
    mutating func opening() -> [Chunk]
    /// A piece of a choice's text: with the token that produced it and its logprobs when it comes from one token,
    /// without (`token` nil) when it is text the engine held back until the end. nil: nothing worth sending.
    mutating func piece(choice: Int, token: Int?, text: String, logprobs: TokenLogprobs?) -> Chunk?
    /// The last chunk of a choice, with its finish reason.
    func finished(choice: Int, reason: String) -> Chunk
    /// The chunk that carries `usage` after every choice finished, when the request asked for it.
    func usage(_ usage: UsageBlock) -> Chunk
    /// What `piece` gives, for a format that may send several chunks for one piece (a tool call's name, then its
    /// arguments) or none; the loop calls this one.
    mutating func pieces(choice: Int, token: Int?, text: String, logprobs: TokenLogprobs?) -> [Chunk]
    /// The chunks that end a choice: text a format held back, then the one with the finish reason.
    mutating func finishing(choice: Int, reason: String) -> [Chunk]
}

extension StreamChunkFormat {
    mutating func pieces(choice: Int, token: Int?, text: String, logprobs: TokenLogprobs?) -> [Chunk] {
        piece(choice: choice, token: token, text: text, logprobs: logprobs).map { [$0] } ?? []
    }

    mutating func finishing(choice: Int, reason: String) -> [Chunk] { [finished(choice: choice, reason: reason)] }
}

/// A run's events as server-sent chunks in `format`; the finished choices are recorded for feedback before the usage
/// chunk. An error after the stream started is sent as an error event in the API's envelope.
func streamChoices<Format: StreamChunkFormat & Sendable>(
    _ run: AsyncThrowingStream<ChoiceEvent, any Error>, plans: [ChoicePlan], identifier: CompletionIdentifier,
    recorder: CompletionRecorder, includeUsage: Bool, format: Format
) -> Response {
    Response(status: .ok, headers: ServerSentEventWriter.headers, body: ResponseBody { writer in
        var events = ServerSentEventWriter(writer)
        var format = format
        var completionTokens = Array(repeating: 0, count: plans.count)
        var texts = Array(repeating: "", count: plans.count)
        var finished: [CompletionRecorder.Finished] = []
        for chunk in format.opening() { try await events.send(chunk) }
        do {
            for try await event in run {
                switch event {
                case let .token(choice, id, text, logprobs):
                    texts[choice] += text
                    for chunk in format.pieces(choice: choice, token: id, text: text, logprobs: logprobs) {
                        try await events.send(chunk)
                    }
                case let .text(choice, text):
                    texts[choice] += text
                    for chunk in format.pieces(choice: choice, token: nil, text: text, logprobs: nil) {
                        try await events.send(chunk)
                    }
                case let .finished(choice, reason, tokens):
                    completionTokens[choice] = tokens
                    let finishReason = try reason.apiValue()
                    finished.append(.init(id: identifier.choiceID(choice), plan: plans[choice], text: texts[choice],
                                          finishReason: finishReason, completionTokens: tokens))
                    for chunk in format.finishing(choice: choice, reason: finishReason) { try await events.send(chunk) }
                }
            }
            await recorder.record(finished)
            if includeUsage {
                try await events.send(format.usage(CollectedChoice.usage(plans: plans, completionTokens: completionTokens)))
            }
        } catch let error as APIError {
            try await events.send(error: error)
        }
        try await events.finish()
    })
}
