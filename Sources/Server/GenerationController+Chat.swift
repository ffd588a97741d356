import Dispatch
import Engine
import Feedback
import Hummingbird
import Logging
import Tokenizers

/// `POST /v1/chat/completions`: a conversation rendered with the model's own chat template (its Jinja
/// `tokenizer.chat_template`, or the hand-written fallback for a file without one), then completed like a prompt.
extension GenerationController {
    @Sendable func createChatCompletion(_ request: Request, context: Context) async throws -> Response {
        let arrival = DispatchTime.now().uptimeNanoseconds
        let body = try await request.decodeJSON(as: ChatCompletionRequest.self, maxBytes: configuration.maxBodyBytes)
        let adapterFromModel = try checkModel(body.options.model, configuration: configuration)
        let messages = try body.chatMessages()
        let stops = try body.options.validate(toolsAllowed: true)
        let logprobs = try body.validateLogprobs()
        let tools = try body.toolCallSettings()
        var constraint = try body.options.grammarConstraint()
        if let forced = try tools?.grammarConstraint() {
            // A forced call is itself the output's grammar: another one could not hold with it.
            guard constraint == nil else {
                throw APIError.invalidValue("tool_choice", "A forced tool call ('required' or a named function) cannot be combined with "
                                            + "'response_format', 'grammar' or 'json_schema'.", code: "conflicting_parameters")
            }
            constraint = forced
        }
        let choiceCount = try body.options.validatedChoiceCount(prompts: 1, limit: configuration.maxChoices)
        if body.maxTokens != nil && body.maxCompletionTokens != nil {
            throw APIError.invalidValue("max_tokens", "Send either 'max_tokens' or 'max_completion_tokens', not both.")
        }

        let engine = try host.engine()
        let mixture = try engine.adapters.mixture(adapterFromModel: adapterFromModel, options: body.options)
        let rendered: String
        do {
            rendered = try ToolCallPrompt.render(messages, settings: tools, template: engine.served.chatTemplate)
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
                                                     adapters: mixture.terms, grammar: constraint))
        }

        return try await respond(to: plans, options: body.options, mixture: mixture, endpoint: .chat, promptParam: "messages",
                                 arrival: arrival, engine: engine, context: context) { recorder in
            ChatResponseBuilder(identifier: CompletionIdentifier(), created: unixTime(), model: configuration.servedModelID,
                                engine: engine, plans: plans, wantsLogprobs: logprobs != nil, mixture: MixtureReport(mixture),
                                recorder: recorder, toolNames: tools.flatMap { $0.isActive ? $0.functionNames : nil })
        }
    }
}

/// Turns a run's events into a chat completion, whole or as a stream of chunks.
struct ChatResponseBuilder: GeneratedResponseBuilder {
    let identifier: CompletionIdentifier
    let created: Int
    let model: String
    let engine: InferenceEngine
    let plans: [ChoicePlan]
    let wantsLogprobs: Bool
    let mixture: MixtureReport
    let recorder: CompletionRecorder
    /// The functions the output may call; nil when the request offers no tools (or `tool_choice` is `none`): the
    /// output is then content as it is.
    let toolNames: Set<String>?

    func complete(_ run: AsyncThrowingStream<ChoiceEvent, any Error>) async throws -> Response {
        let collected = try await CollectedChoice.collect(run, plans: plans, engine: engine)
        let choices = try zip(plans, collected).map { plan, choice in
            var logprobs: ChatLogprobs?
            if wantsLogprobs {
                var report = ChatLogprobs()
                for case let (_, tokenLogprobs?) in choice.reported { report.append(tokenLogprobs, engine: engine) }
                logprobs = report
            }
            var finishReason = try choice.finishReason.apiValue()
            guard let toolNames else {
                return ChatChoice(index: plan.index, content: choice.text, logprobs: logprobs, finishReason: finishReason,
                                  completionID: identifier.choiceID(plan.index))
            }
            let parsed = ToolCallStreamParser.parse(choice.text, functionNames: toolNames)
            if !parsed.calls.isEmpty && finishReason == "stop" { finishReason = "tool_calls" }
            return ChatChoice(index: plan.index, content: parsed.content, toolCalls: parsed.calls.isEmpty ? nil : parsed.calls,
                              logprobs: logprobs, finishReason: finishReason, completionID: identifier.choiceID(plan.index))
        }
        // The store keeps the text as the model wrote it, tool-call markup included (issue 23).
        await recorder.record(plans: plans, collected: collected, identifier: identifier)
        let response = CompletionObject(id: identifier.chatResponseID, object: "chat.completion", created: created, model: model,
                                        choices: choices,
                                        usage: CollectedChoice.usage(plans: plans, completionTokens: collected.map(\.completionTokens)),
                                        mixture: mixture)
        return try Response.json(response)
    }

    func stream(_ run: AsyncThrowingStream<ChoiceEvent, any Error>, includeUsage: Bool) -> Response {
        streamChoices(run, plans: plans, identifier: identifier, recorder: recorder, includeUsage: includeUsage,
                      format: ChatChunkFormat(builder: self, toolNames: toolNames))
    }

    fileprivate func chunk(_ choice: ChatChunkChoice?) -> CompletionObject<ChatChunkChoice> {
        CompletionObject(id: identifier.chatResponseID, object: "chat.completion.chunk", created: created, model: model,
                         choices: choice.map { [$0] } ?? [], usage: nil, mixture: mixture)
    }
}

/// Chat chunks: each choice opens with the assistant role and empty content (as OpenAI's do), then carries deltas of
/// its content with their logprobs, and ends with an empty delta and its finish reason. With tools, each choice's
/// text goes through a `ToolCallStreamParser`: content as it is known not to be a call, and each call once complete,
/// as OpenAI streams them (a delta with its index, id, type and name, then one with its arguments), the choice
/// ending with `tool_calls` when it made any.
struct ChatChunkFormat: StreamChunkFormat, Sendable {
    let builder: ChatResponseBuilder
    /// One per choice when the output is parsed for tool calls.
    private var parsers: [ToolCallStreamParser]?

    init(builder: ChatResponseBuilder, toolNames: Set<String>?) {
        self.builder = builder
        parsers = toolNames.map { names in builder.plans.map { _ in ToolCallStreamParser(functionNames: names) } }
    }

    func opening() -> [CompletionObject<ChatChunkChoice>] {
        builder.plans.map { plan in
            builder.chunk(.init(index: plan.index, role: "assistant", content: "", completionID: builder.identifier.choiceID(plan.index)))
        }
    }

    func piece(choice: Int, token: Int?, text: String, logprobs: TokenLogprobs?) -> CompletionObject<ChatChunkChoice>? {
        var report: ChatLogprobs?
        if let token, builder.wantsLogprobs, let logprobs,
           !builder.engine.endsGeneration(token, ignoreEOS: builder.plans[choice].generation.ignoreEOS) {
            var tokenReport = ChatLogprobs()
            tokenReport.append(logprobs, engine: builder.engine)
            report = tokenReport
        }
        guard token == nil || !text.isEmpty || report != nil else { return nil }
        return builder.chunk(.init(index: choice, content: text, logprobs: report, completionID: builder.identifier.choiceID(choice)))
    }

    mutating func pieces(choice: Int, token: Int?, text: String, logprobs: TokenLogprobs?) -> [CompletionObject<ChatChunkChoice>] {
        guard parsers != nil else { return piece(choice: choice, token: token, text: text, logprobs: logprobs).map { [$0] } ?? [] }
        var report = tokenReport(choice: choice, token: token, logprobs: logprobs)
        let outputs = parsers?[choice].feed(text) ?? []
        var chunks = toolChunks(choice: choice, outputs)
        if let first = chunks.indices.first, report != nil {
            chunks[first].choices[0].logprobs = report
            report = nil
        }
        if let report {
            chunks.append(builder.chunk(.init(index: choice, logprobs: report, completionID: builder.identifier.choiceID(choice))))
        }
        return chunks
    }

    mutating func finishing(choice: Int, reason: String) -> [CompletionObject<ChatChunkChoice>] {
        guard parsers != nil else { return [finished(choice: choice, reason: reason)] }
        let outputs = parsers?[choice].finish() ?? []
        let madeCalls = (parsers?[choice].callCount ?? 0) > 0
        return toolChunks(choice: choice, outputs) + [finished(choice: choice, reason: madeCalls && reason == "stop" ? "tool_calls" : reason)]
    }

    /// Content as one chunk; each call as two: its index, id, type and name with empty arguments, then its arguments.
    private func toolChunks(choice: Int, _ outputs: [ToolCallStreamParser.Output]) -> [CompletionObject<ChatChunkChoice>] {
        var chunks: [CompletionObject<ChatChunkChoice>] = []
        let completionID = builder.identifier.choiceID(choice)
        let callsBefore = (parsers?[choice].callCount ?? 0) - outputs.filter { if case .call = $0 { true } else { false } }.count
        var callIndex = callsBefore
        for output in outputs {
            switch output {
            case .content(let text):
                chunks.append(builder.chunk(.init(index: choice, content: text, completionID: completionID)))
            case .call(let call):
                chunks.append(builder.chunk(.init(index: choice, toolCalls: [ToolCallDelta(index: callIndex, id: call.id, name: call.name, arguments: "")],
                                                  completionID: completionID)))
                chunks.append(builder.chunk(.init(index: choice, toolCalls: [ToolCallDelta(index: callIndex, id: nil, name: nil, arguments: call.arguments)],
                                                  completionID: completionID)))
                callIndex += 1
            }
        }
        return chunks
    }

    private func tokenReport(choice: Int, token: Int?, logprobs: TokenLogprobs?) -> ChatLogprobs? {
        guard let token, builder.wantsLogprobs, let logprobs,
              !builder.engine.endsGeneration(token, ignoreEOS: builder.plans[choice].generation.ignoreEOS) else { return nil }
        var report = ChatLogprobs()
        report.append(logprobs, engine: builder.engine)
        return report
    }

    func finished(choice: Int, reason: String) -> CompletionObject<ChatChunkChoice> {
        builder.chunk(.init(index: choice, finishReason: reason, completionID: builder.identifier.choiceID(choice)))
    }

    func usage(_ usage: UsageBlock) -> CompletionObject<ChatChunkChoice> {
        var last = builder.chunk(nil)
        last.usage = usage
        return last
    }
}
