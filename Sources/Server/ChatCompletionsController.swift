import Dispatch
import Engine
import Feedback
import Hummingbird
import Logging
import Tokenizers

/// `POST /v1/chat/completions`: a conversation rendered with the model's own chat template (its Jinja
/// `tokenizer.chat_template`, or the hand-written fallback for a file without one), then completed like a prompt.
struct ChatCompletionsController<Context: ConnectionAwareContext>: Sendable {
    let host: ModelHost
    let configuration: ServerConfiguration
    let metrics: ServerMetrics
    let store: FeedbackStore?
    let logger: Logger

    var endpoints: RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .post("chat/completions", use: create)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let arrival = DispatchTime.now().uptimeNanoseconds
        let body = try await request.decodeJSON(as: ChatCompletionRequest.self, maxBytes: configuration.maxBodyBytes)
        let adapterFromModel = try checkModel(body.options.model, configuration: configuration)
        let messages = try body.chatMessages()
        let stops = try body.options.validate()
        let logprobs = try body.validateLogprobs()
        let choiceCount = try body.options.validatedChoiceCount(prompts: 1, limit: configuration.maxChoices)
        if body.maxTokens != nil && body.maxCompletionTokens != nil {
            throw APIError.invalidValue("max_tokens", "Send either 'max_tokens' or 'max_completion_tokens', not both.")
        }

        let engine = try host.engine()
        let mixture = try engine.adapters.mixture(adapterFromModel: adapterFromModel, options: body.options)
        let rendered: String
        do {
            rendered = try engine.served.chatTemplate.prompt(messages)
        } catch let error as TemplateError {
            // The template refused this conversation (its raise_exception, e.g. roles that do not alternate) or hit a bound.
            throw APIError.invalidValue("messages", "The model's chat template cannot render these messages: \(error.message)",
                                        code: "chat_template_error")
        }
        let prompt = PreparedPrompt(tokens: engine.tokenizer.encode(rendered), text: rendered)
        let maxTokens = try validatedMaxTokens(body.maxCompletionTokens ?? body.maxTokens,
                                               param: body.maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens",
                                               promptTokens: prompt.tokens.count, contextLimit: engine.contextLimit,
                                               cap: configuration.maxTokensCap, promptParam: "messages")
        let plans = (0..<choiceCount).map { index in
            ChoicePlan(index: index, promptIndex: 0, prompt: prompt,
                       generation: GenerationRequest(promptTokens: prompt.tokens, maxTokens: maxTokens,
                                                     sampling: body.options.samplingParameters(choiceIndex: index), stop: stops,
                                                     ignoreEOS: body.options.ignoreEOS ?? false, logprobs: logprobs,
                                                     adapters: mixture.terms))
        }

        let run = try GenerationRun.start(plans, engine: engine, metrics: metrics, arrival: arrival,
                                          timeoutSeconds: configuration.requestTimeout, promptParam: "messages",
                                          connection: context.connection)
        let response = ChatResponseBuilder(identifier: CompletionIdentifier(), created: unixTime(), model: configuration.servedModelID,
                                           engine: engine, plans: plans, wantsLogprobs: logprobs != nil,
                                           mixture: MixtureReport(mixture),
                                           recorder: CompletionRecorder(store: store, model: configuration.servedModelID, endpoint: .chat,
                                                                        mixture: mixture, plans: plans, options: body.options,
                                                                        logger: logger))
        if body.options.isStreaming {
            return response.stream(run, includeUsage: body.options.includesUsageInStream)
        }
        return try await response.complete(run)
    }
}

/// Turns a run's events into a chat completion, whole or as a stream of chunks.
struct ChatResponseBuilder: Sendable {
    let identifier: CompletionIdentifier
    let created: Int
    let model: String
    let engine: InferenceEngine
    let plans: [ChoicePlan]
    let wantsLogprobs: Bool
    let mixture: MixtureReport
    let recorder: CompletionRecorder

    func complete(_ run: AsyncThrowingStream<ChoiceEvent, any Error>) async throws -> Response {
        let collected = try await CollectedChoice.collect(run, plans: plans, engine: engine)
        let choices = try zip(plans, collected).map { plan, choice in
            var logprobs: ChatLogprobs?
            if wantsLogprobs {
                var report = ChatLogprobs()
                for case let (_, tokenLogprobs?) in choice.reported { report.append(tokenLogprobs, engine: engine) }
                logprobs = report
            }
            return ChatChoice(index: plan.index, content: choice.text, logprobs: logprobs,
                                                 finishReason: try choice.finishReason.apiValue(),
                                                 completionID: identifier.choiceID(plan.index))
        }
        await recorder.record(plans: plans, collected: collected, identifier: identifier)
        let response = CompletionObject(id: identifier.chatResponseID, object: "chat.completion", created: created, model: model,
                                        choices: choices,
                                        usage: CollectedChoice.usage(plans: plans, completionTokens: collected.map(\.completionTokens)),
                                        mixture: mixture)
        return try Response.json(response)
    }

    func stream(_ run: AsyncThrowingStream<ChoiceEvent, any Error>, includeUsage: Bool) -> Response {
        Response(status: .ok, headers: ServerSentEventWriter.headers, body: ResponseBody { writer in
            var events = ServerSentEventWriter(writer)
            var completionTokens = Array(repeating: 0, count: plans.count)
            var texts = Array(repeating: "", count: plans.count)
            var finished: [CompletionRecorder.Finished] = []
            // OpenAI opens each choice with the assistant role and empty content.
            for plan in plans {
                try await events.send(chunk(.init(index: plan.index, role: "assistant", content: "",
                                                  completionID: identifier.choiceID(plan.index))))
            }
            do {
                for try await event in run {
                    switch event {
                    case let .token(choice, id, text, tokenLogprobs):
                        var logprobs: ChatLogprobs?
                        if wantsLogprobs, let tokenLogprobs, !engine.endsGeneration(id, ignoreEOS: plans[choice].generation.ignoreEOS) {
                            var report = ChatLogprobs()
                            report.append(tokenLogprobs, engine: engine)
                            logprobs = report
                        }
                        texts[choice] += text
                        if !text.isEmpty || logprobs != nil {
                            try await events.send(chunk(.init(index: choice, content: text, logprobs: logprobs,
                                                              completionID: identifier.choiceID(choice))))
                        }
                    case let .text(choice, text):
                        texts[choice] += text
                        try await events.send(chunk(.init(index: choice, content: text, completionID: identifier.choiceID(choice))))
                    case let .finished(choice, reason, tokens):
                        completionTokens[choice] = tokens
                        finished.append(.init(id: identifier.choiceID(choice), plan: plans[choice], text: texts[choice],
                                              finishReason: try reason.apiValue(), completionTokens: tokens))
                        try await events.send(chunk(.init(index: choice, finishReason: try reason.apiValue(),
                                                          completionID: identifier.choiceID(choice))))
                    }
                }
                await recorder.record(finished)
                if includeUsage {
                    var last = chunk(nil)
                    last.usage = CollectedChoice.usage(plans: plans, completionTokens: completionTokens)
                    try await events.send(last)
                }
            } catch let error as APIError {
                try await events.send(error: error)
            }
            try await events.finish()
        })
    }

    private func chunk(_ choice: ChatChunkChoice?) -> CompletionObject<ChatChunkChoice> {
        CompletionObject(id: identifier.chatResponseID, object: "chat.completion.chunk", created: created, model: model,
                         choices: choice.map { [$0] } ?? [], usage: nil, mixture: mixture)
    }
}
