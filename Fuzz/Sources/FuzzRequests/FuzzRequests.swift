// libFuzzer target: any byte string, posted as the JSON body of /v1/completions, /v1/chat/completions, /v1/feedback
// and /v1/realign to the real application (router, middleware, controllers, decoding, validation), must be answered
// with a 2xx, a 4xx in OpenAI's error envelope, or the 503 every route gives while the model is still loading: never
// another 5xx, a trap, a hang or a huge allocation (docs/FUZZING.md, "FuzzRequests").
//
// The model never loads, so every request stops where model work would begin: what runs
// is exactly what the server does with a body before it touches a model. Feedback needs no model: a valid pair is
// stored in a scratch SQLite file.

import Dispatch
import Foundation
import FuzzDriver
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Server

/// FUZZ_VERBOSE=1 prints every answer (to see how far a corpus gets).
private let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil
private let routes = ["/v1/completions", "/v1/chat/completions", "/v1/feedback", "/v1/realign"]

/// One posted body and, once answered, what went wrong (nil: every route answered as it should).
private final class Job: @unchecked Sendable {
    let body: ByteBuffer
    var failure: String?
    let done = DispatchSemaphore(value: 0)
    init(body: ByteBuffer) { self.body = body }
}

/// Collects a response body (Hummingbird writes bodies through a writer).
private final class CollectedBody: @unchecked Sendable {
    var buffer = ByteBuffer()
}

private struct CollectingWriter: ResponseBodyWriter {
    let into: CollectedBody
    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        into.buffer.writeBuffer(&buffer)
    }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// The application's responder (router and middleware, as `ApplicationProtocol.run` drives it for each request),
/// serving jobs from the fuzzer's thread.
private final class Harness: @unchecked Sendable {
    let submit: AsyncStream<Job>.Continuation

    init() {
        let (jobs, submit) = AsyncStream.makeStream(of: Job.self)
        self.submit = submit
        let ready = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                var logger = Logger(label: "raconteur-fuzz")
                logger.logLevel = .critical
                let store = "/dev/shm/raconteur-fuzz-store-\(getpid()).sqlite"
                for suffix in ["", "-wal", "-shm"] { unlink(store + suffix) }
                var configuration = ServerConfiguration(modelPath: "/nonexistent/fuzz.gguf", threads: 1, contextLimit: 512,
                                                        maxBatch: 4, maxQueued: 8, maxBodyBytes: 1 << 16, maxTokensCap: 256,
                                                        maxChoices: 8, requestTimeout: 60, storePath: store,
                                                        adaptersDirectory: nil)
                configuration.realign.starter = false
                // The application's services (the model loader among them) are never run: the model stays loading.
                let app = try await buildApplication(configuration, logger: logger) {
                    while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
                }
                try await Self.serve(app, jobs: jobs, logger: logger, ready: ready)
            } catch {
                print("FuzzRequests: the application did not start: \(error)")
                exit(2)
            }
        }
        ready.wait()
    }

    static func serve<App: ApplicationProtocol>(_ app: App, jobs: AsyncStream<Job>, logger: Logger,
                                                ready: DispatchSemaphore) async throws {
        let responder = try await app.responder
        let channel = NIOAsyncTestingChannel()
        ready.signal()
        for await job in jobs {
            job.failure = nil
            for route in routes {
                var head = HTTPRequest(method: .post, scheme: "http", authority: "127.0.0.1:8080", path: route)
                head.headerFields[.contentType] = "application/json"
                head.headerFields[.contentLength] = String(job.body.readableBytes)
                let request = Request(head: head, body: RequestBody(buffer: job.body))
                let context = App.Responder.Context(source: .init(channel: channel, logger: logger))
                let response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch {
                    // `ApplicationProtocol.run` answers an error that escapes the responder with a bare 500.
                    job.failure = "\(route): an error escaped the responder (a 500): \(error)"
                    break
                }
                let body = CollectedBody()
                do {
                    try await response.body.write(CollectingWriter(into: body))
                } catch {
                    job.failure = "\(route): writing the body failed: \(error)"
                    break
                }
                if let failure = check(status: response.status.code, body: body.buffer, route: route) {
                    job.failure = failure
                    break
                }
            }
            job.done.signal()
        }
    }

    /// nil when the answer is one the route may give, else what is wrong with it.
    static func check(status code: Int, body: ByteBuffer, route: String) -> String? {
        if verbose { print("\(route) \(code) \(String(buffer: body).prefix(300))") }
        if (200..<300).contains(code) { return nil }
        guard (400..<500).contains(code) || code == 503 else {
            return "\(route): status \(code): \(String(buffer: body))"
        }
        // Every error is OpenAI's envelope: {"error": {"message", "type", "param", "code"}}.
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
              let error = object["error"] as? [String: Any],
              let message = error["message"] as? String, !message.isEmpty,
              error["type"] is String, error.keys.contains("param"), error.keys.contains("code") else {
            return "\(route): status \(code) without the error envelope: \(String(buffer: body))"
        }
        return nil
    }
}

private let harness = Harness()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequests(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let job = Job(body: ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size)))
    harness.submit.yield(job)
    job.done.wait()
    if let failure = job.failure {
        print("FuzzRequests: \(failure)")
        abort()
    }
    return 0
}

/// The entry point a debug build links as `main` (FuzzDriver); a release build uses libFuzzer's own.
@_cdecl("FuzzRequests_main")
public func fuzzrequestsMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzRequests)
}
