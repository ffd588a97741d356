import Dispatch
import Foundation
import Engine
import Feedback
import Hummingbird
import Logging

/// `POST /v1/completions`: OpenAI's legacy text completions.
extension GenerationController {
    @Sendable func createCompletion(_ request: Request, context: Context) async throws -> Response {
        let arrival = DispatchTime.now().uptimeNanoseconds
        let body = try await request.decodeJSON(as: CompletionRequest.self, maxBytes: configuration.maxBodyBytes)
        let adapterFromModel = try checkModel(body.options.model, configuration: configuration)
        let stops = try body.validate()
        let constraint = try body.options.grammarConstraint()
        let choicesPerPrompt = try body.options.validatedChoiceCount(prompts: body.prompt.count, limit: configuration.maxChoices)

        let engine = try host.engine()
        let mixture = try engine.adapters.mixture(adapterFromModel: adapterFromModel, options: body.options)
        let prompts = try prepare(body.prompt, engine: engine)
        let echo = body.echo ?? false
        var plans: [ChoicePlan] = []
        for (promptIndex, prompt) in prompts.enumerated() {
            let maxTokens = try validatedMaxTokens(body.maxTokens ?? CompletionRequest.defaultMaxTokens, param: "max_tokens",
                                                   promptTokens: prompt.tokens.count, contextLimit: engine.contextLimit,
                                                   cap: configuration.maxTokensCap, promptParam: "prompt")
            for copy in 0..<choicesPerPrompt {
                let index = promptIndex * choicesPerPrompt + copy
                let generation = GenerationRequest(promptTokens: prompt.tokens, maxTokens: maxTokens,
                                                   sampling: body.options.samplingParameters(choiceIndex: index), stop: stops,
                                                   ignoreEOS: body.options.ignoreEOS ?? false, logprobs: body.logprobs,
                                                   adapters: mixture.terms, grammar: constraint)
                plans.append(ChoicePlan(index: index, promptIndex: promptIndex, prompt: prompt, generation: generation))
            }
        }

        // echo with logprobs reports the prompt's own tokens too, scored teacher-forced (OpenAI's way to score text).
        var promptLogprobs: [CompletionLogprobs?] = Array(repeating: nil, count: prompts.count)
        if echo, let topCount = body.logprobs {
            for (promptIndex, prompt) in prompts.enumerated() {
                // Under the request's adapter mixture, exactly as its generation runs.
                let scores = try await engine.scorePrompt(prompt.tokens, topCount: topCount, adapters: mixture.terms)
                var report = CompletionLogprobs()
                var offset = 0
                for (position, token) in prompt.tokens.enumerated() {
                    report.append(token: token, logprobs: position == 0 ? nil : scores[position - 1], offset: &offset, engine: engine)
                }
                promptLogprobs[promptIndex] = report
            }
        }

        return try await respond(to: plans, options: body.options, mixture: mixture, endpoint: .completions, promptParam: "prompt",
                                 arrival: arrival, engine: engine, context: context) { recorder in
            CompletionResponseBuilder(
                identifier: CompletionIdentifier(), created: unixTime(), model: configuration.servedModelID, engine: engine,
                plans: plans, echo: echo, wantsLogprobs: body.logprobs != nil, promptLogprobs: promptLogprobs,
                mixture: MixtureReport(mixture), recorder: recorder)
        }
    }

    /// Every prompt as tokens: text is tokenized with special tokens parsed (as llama.cpp does), token ids are checked.
    private func prepare(_ input: PromptInput, engine: InferenceEngine) throws -> [PreparedPrompt] {
        switch input {
        case .texts(let texts):
            return try texts.map { text in
                let tokens = engine.tokenizer.encode(text)
                guard !tokens.isEmpty else {
                    throw APIError.invalidValue("prompt", "Invalid 'prompt': it must contain at least one token.")
                }
                return PreparedPrompt(tokens: tokens, text: text)
            }
        case .tokenLists(let lists):
            return try lists.map { tokens in
                guard !tokens.isEmpty else {
                    throw APIError.invalidValue("prompt", "Invalid 'prompt': it must contain at least one token.")
                }
                if let bad = tokens.first(where: { !(0..<engine.vocabularySize).contains($0) }) {
                    throw APIError.invalidValue("prompt", "Invalid 'prompt': token id \(bad) is not in the vocabulary (0..<\(engine.vocabularySize)).")
                }
                return PreparedPrompt(tokens: tokens, text: engine.tokenizer.decode(tokens))
            }
        }
    }
}

/// The adapter named by `model: "<model>:<adapter>"`, or nil for the base model; 404 for a model this server does
/// not serve. A request without `model`, or with "default" (what generic load generators send), gets the served one.
func checkModel(_ requested: String?, configuration: ServerConfiguration) throws -> String? {
    guard let requested, requested != "default" else { return nil }
    if requested == configuration.servedModelID { return nil }
    for base in [configuration.servedModelID, "default"] where requested.hasPrefix(base + ":") {
        let adapter = String(requested.dropFirst(base.count + 1))
        if !adapter.isEmpty { return adapter }
    }
    throw APIError.modelNotFound(requested)
}

/// Turns a run's events into a completions response, whole or as a stream of chunks.
struct CompletionResponseBuilder: GeneratedResponseBuilder {
    let identifier: CompletionIdentifier
    let created: Int
    let model: String
    let engine: InferenceEngine
    let plans: [ChoicePlan]
    let echo: Bool
    let wantsLogprobs: Bool
    /// Per prompt, when echo and logprobs are both asked for.
    let promptLogprobs: [CompletionLogprobs?]
    let mixture: MixtureReport
    let recorder: CompletionRecorder

    func complete(_ run: AsyncThrowingStream<ChoiceEvent, any Error>) async throws -> Response {
        let collected = try await CollectedChoice.collect(run, plans: plans, engine: engine)
        var choices: [CompletionChoice] = []
        for (plan, choice) in zip(plans, collected) {
            var text = choice.text
            var logprobs: CompletionLogprobs?
            if wantsLogprobs {
                var report = CompletionLogprobs()
                var offset = 0
                if echo, let prompt = promptLogprobs[plan.promptIndex] {
                    report = prompt
                    offset = plan.prompt.text.unicodeScalars.count
                }
                for (token, tokenLogprobs) in choice.reported {
                    report.append(token: token, logprobs: tokenLogprobs, offset: &offset, engine: engine)
                }
                logprobs = report
            }
            if echo { text = plan.prompt.text + text }
            choices.append(.init(index: plan.index, text: text, logprobs: logprobs,
                                 finishReason: try choice.finishReason.apiValue(), completionID: identifier.choiceID(plan.index)))
        }
        let usage = CollectedChoice.usage(plans: plans, completionTokens: collected.map(\.completionTokens))
        await recorder.record(plans: plans, collected: collected, identifier: identifier)
        return try Response.json(completionObject(choices, usage: usage))
    }

    func stream(_ run: AsyncThrowingStream<ChoiceEvent, any Error>, includeUsage: Bool) -> Response {
        streamChoices(run, plans: plans, identifier: identifier, recorder: recorder, includeUsage: includeUsage,
                      format: CompletionChunkFormat(self))
    }

    /// OpenAI uses one shape for a whole completion and for each chunk of its stream.
    fileprivate func completionObject(_ choices: [CompletionChoice], usage: UsageBlock?) -> CompletionObject<CompletionChoice> {
        CompletionObject(id: identifier.completionResponseID, object: "text_completion", created: created, model: model,
                         choices: choices, usage: usage, mixture: mixture)
    }

    fileprivate func chunk(_ choice: Int, text: String, logprobs: CompletionLogprobs?, finishReason: String? = nil) -> CompletionObject<CompletionChoice> {
        completionObject([CompletionChoice(index: choice, text: text, logprobs: logprobs, finishReason: finishReason,
                                           completionID: identifier.choiceID(choice))], usage: nil)
    }
}

/// `/v1/completions` chunks: the echoed prompts first when asked for, then text pieces with their logprobs, whose
/// text offsets run on per choice from the end of its echoed prompt.
struct CompletionChunkFormat: StreamChunkFormat, Sendable {
    let builder: CompletionResponseBuilder
    private var offsets: [Int]

    init(_ builder: CompletionResponseBuilder) {
        self.builder = builder
        offsets = Array(repeating: 0, count: builder.plans.count)
    }

    mutating func opening() -> [CompletionObject<CompletionChoice>] {
        guard builder.echo else { return [] }
        return builder.plans.map { plan in
            offsets[plan.index] = plan.prompt.text.unicodeScalars.count
            return builder.chunk(plan.index, text: plan.prompt.text, logprobs: builder.promptLogprobs[plan.promptIndex])
        }
    }

    mutating func piece(choice: Int, token: Int?, text: String, logprobs: TokenLogprobs?) -> CompletionObject<CompletionChoice>? {
        var report: CompletionLogprobs?
        if let token, builder.wantsLogprobs,
           !builder.engine.endsGeneration(token, ignoreEOS: builder.plans[choice].generation.ignoreEOS) {
            var tokenReport = CompletionLogprobs()
            tokenReport.append(token: token, logprobs: logprobs, offset: &offsets[choice], engine: builder.engine)
            report = tokenReport
        }
        guard token == nil || !text.isEmpty || report != nil else { return nil }
        return builder.chunk(choice, text: text, logprobs: report)
    }

    func finished(choice: Int, reason: String) -> CompletionObject<CompletionChoice> {
        builder.chunk(choice, text: "", logprobs: nil, finishReason: reason)
    }

    func usage(_ usage: UsageBlock) -> CompletionObject<CompletionChoice> {
        builder.completionObject([], usage: usage)
    }
}

extension Response {
    /// A JSON body with OpenAI's encoding conventions.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONEncoder.api.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
