import Dispatch
import Engine
import NIOCore

/// A prompt as tokens, and as the text `echo` repeats.
struct PreparedPrompt: Sendable {
    var tokens: [Int]
    var text: String
}

/// One choice of a response: which prompt it continues and what the engine is asked for.
struct ChoicePlan: Sendable {
    var index: Int
    var promptIndex: Int
    var prompt: PreparedPrompt
    var generation: GenerationRequest
}

/// What a running request reports, choice by choice, in the order the engine produced it.
enum ChoiceEvent: Sendable {
    case token(choice: Int, id: Int, text: String, logprobs: TokenLogprobs?)
    /// Text the engine held back until the end (an unfinished character, a possible stop-sequence prefix).
    case text(choice: Int, String)
    case finished(choice: Int, FinishReason, completionTokens: Int)
}

/// Runs the choices of one request through the scheduler as one merged event stream, under the request's deadline.
///
/// Every choice is queued before anything is returned, so a full queue is answered 429 before a response starts.
/// Ending the returned stream early (a streaming client that disconnects) cancels every choice still generating, and
/// so does the deadline, after which the stream fails with a 504 `APIError`, and so does the client's connection
/// closing while the response is still being collected (a non-streaming client that gave up): the stream then fails
/// with `CancellationError`, and nothing is recorded.
enum GenerationRun {
    /// How a run ended: every choice finished, the deadline passed, or the client's connection closed.
    private enum Ending: Sendable { case finished, expired, disconnected }

    /// How often a running request checks that its client is still connected.
    static let connectionPollNanoseconds: UInt64 = 100_000_000

    static func start(_ plans: [ChoicePlan], engine: InferenceEngine, metrics: ServerMetrics, arrival: UInt64,
                      timeoutSeconds: Double, promptParam: String,
                      connection: (any Channel)? = nil) throws -> AsyncThrowingStream<ChoiceEvent, any Error> {
        var submitted: [(choice: Int, events: AsyncStream<GenerationEvent>)] = []
        do {
            for plan in plans where plan.generation.maxTokens > 0 {
                submitted.append((plan.index, try engine.submit(plan.generation, promptParam: promptParam)))
            }
        } catch {
            cancel(submitted.map(\.events))
            throw error
        }
        // With max_tokens 0 there is nothing to generate (echo scores the prompt): those choices end at once.
        let immediate = plans.filter { $0.generation.maxTokens <= 0 }

        let (stream, continuation) = AsyncThrowingStream<ChoiceEvent, any Error>.makeStream()
        let deadline = arrival &+ UInt64(timeoutSeconds * 1e9)
        let producer = Task {
            for plan in immediate {
                metrics.recordPromptTokens(plan.prompt.tokens.count)
                continuation.yield(.finished(choice: plan.index, .length, completionTokens: 0))
            }
            let ending = await withTaskGroup(of: Ending.self) { group -> Ending in
                for (choice, events) in submitted {
                    group.addTask {
                        await relay(events, choice: choice, to: continuation, metrics: metrics, arrival: arrival)
                        return .finished
                    }
                }
                group.addTask {
                    let now = DispatchTime.now().uptimeNanoseconds
                    do { try await Task.sleep(nanoseconds: deadline > now ? deadline - now : 0) } catch { return .finished }
                    return .expired
                }
                if let connection {
                    // Polled rather than a callback on its close future: a kept-alive connection would pile those up.
                    group.addTask {
                        let isGone = await ClientDisconnectWatcher.watching(connection)
                        while !isGone() {
                            do { try await Task.sleep(nanoseconds: connectionPollNanoseconds) } catch { return .finished }
                        }
                        return .disconnected
                    }
                }
                var running = submitted.count
                var ending = Ending.finished
                while running > 0, let next = await group.next() {
                    if next != .finished { ending = next; break }
                    running -= 1
                }
                group.cancelAll()   // the timer and the watcher, or the generations still running
                return running > 0 ? ending : .finished
            }
            switch ending {
            case .finished: continuation.finish()
            case .expired: continuation.finish(throwing: APIError.timeout(seconds: timeoutSeconds))
            case .disconnected: continuation.finish(throwing: CancellationError())
            }
        }
        continuation.onTermination = { _ in producer.cancel() }
        return stream
    }

    /// Forwards one choice's engine events, timing its first token (from the request's arrival) and the gaps between tokens.
    private static func relay(_ events: AsyncStream<GenerationEvent>, choice: Int,
                              to continuation: AsyncThrowingStream<ChoiceEvent, any Error>.Continuation,
                              metrics: ServerMetrics, arrival: UInt64) async {
        var previousToken: UInt64?
        for await event in events {
            switch event {
            case let .token(id, text, logprobs):
                let now = DispatchTime.now().uptimeNanoseconds
                if let previousToken {
                    metrics.recordTokenLatency(Double(now - previousToken) / 1e9)
                } else {
                    metrics.recordTimeToFirstToken(Double(now - arrival) / 1e9)
                }
                previousToken = now
                metrics.recordGeneratedToken()
                continuation.yield(.token(choice: choice, id: id, text: text, logprobs: logprobs))
            case let .text(text):
                continuation.yield(.text(choice: choice, text))
            case let .finished(reason, usage):
                metrics.recordPromptTokens(usage.promptTokens)
                continuation.yield(.finished(choice: choice, reason, completionTokens: usage.completionTokens))
            }
        }
    }

    /// Cancels generations whose streams will never be read: a stream is cancelled when a reader goes away,
    /// so each gets a reader that is cancelled at once.
    private static func cancel(_ streams: [AsyncStream<GenerationEvent>]) {
        for events in streams {
            Task { for await _ in events {} }.cancel()
        }
    }
}
