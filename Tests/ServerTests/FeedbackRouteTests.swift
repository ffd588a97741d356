import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Server
import Testing

/// Feedback over HTTP: pairs by completion ids or by texts, every refusal, paging, the JSONL export, and the
/// realignment routes' refusals and one small real job.
@Suite(.serialized, .enabled(if: TestModel.isAvailable, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/setup.sh fetches it)"))
struct FeedbackRouteTests {
    /// Two completions of one prompt (n = 2, sampled): their completion ids.
    /// Polls `GET /v1/realign/{id}` until the job has left queued and running (up to two minutes); its last state.
    static func finishedJob(_ client: any TestClientProtocol, _ id: String) async throws -> JSONObject {
        var job: JSONObject = [:]
        for _ in 0..<600 {
            job = try json(try await client.execute(uri: "/v1/realign/\(id)", method: .get))
            if let state = job["state"] as? String, !["queued", "running"].contains(state) { break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        return job
    }

    static func twoCompletions(_ client: any TestClientProtocol, prompt: String = "Tell me about cats.") async throws -> (String, String) {
        let response = try await client.post("/v1/chat/completions", [
            "messages": [["role": "user", "content": prompt]], "n": 2, "max_tokens": 6, "temperature": 1, "seed": 7])
        #expect(response.status == .ok)
        let ids = choices(try json(response)).compactMap { $0["completion_id"] as? String }
        try #require(ids.count == 2)
        return (ids[0], ids[1])
    }

    @Test func aPairByCompletionIdsIsStoredListedAndExported() async throws {
        try await withServer { client in
            let (a, b) = try await Self.twoCompletions(client)
            let created = try await client.post("/v1/feedback", ["chosen_id": a, "rejected_id": b, "labels": ["concise": 1, "detailed": -1]])
            #expect(created.status == .created, "\(String(buffer: created.body))")
            let pair = try json(created)
            #expect((pair["id"] as? String)?.hasPrefix("fb-") == true)
            #expect(pair["chosen_id"] as? String == a)
            #expect((pair["prompt"] as? String)?.contains("<|im_start|>user\nTell me about cats.") == true,
                    "the prompt is the text the model saw")

            let byText = try await client.post("/v1/feedback", ["prompt": "Q?", "chosen": "Yes.", "rejected": "Well, perhaps yes.",
                                                                 "labels": ["concise": 1]])
            #expect(byText.status == .created)

            let page1 = try json(try await client.execute(uri: "/v1/feedback?limit=1", method: .get))
            #expect((page1["data"] as? [JSONObject])?.count == 1)
            #expect(page1["has_more"] as? Bool == true)
            #expect(page1["total"] as? Int == 2)
            let cursor = try #require(page1["next_cursor"] as? String)
            let page2 = try json(try await client.execute(uri: "/v1/feedback?limit=1&after=\(cursor)", method: .get))
            #expect(((page2["data"] as? [JSONObject])?.first?["prompt"] as? String) == "Q?")

            let export = try await client.execute(uri: "/v1/feedback/export", method: .get)
            #expect(export.status == .ok)
            #expect(export.headers[.contentType] == "application/x-ndjson")
            let lines = String(buffer: export.body).split(separator: "\n")
            #expect(lines.count == 2)
            let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? JSONObject)
            #expect(Set(first.keys) == ["prompt", "chosen", "rejected", "labels"])
            #expect(first["labels"] as? [String: Int] == ["concise": 1, "detailed": -1])
        }
    }

    @Test func badFeedbackIsAClearErrorAndStoresNothing() async throws {
        try await withServer { client in
            let (a, b) = try await Self.twoCompletions(client)
            let (other, _) = try await Self.twoCompletions(client, prompt: "Tell me about dogs.")
            #expect(try await client.post("/v1/feedback", ["chosen_id": a, "rejected_id": b, "labels": ["concise": 1]]).status == .created)
            let cases: [(JSONObject, Int, String?, String)] = [
                (["chosen_id": "cmpl-nope-0", "rejected_id": b, "labels": ["concise": 1]], 404, "chosen_id", "unknown_completion"),
                (["chosen_id": a, "rejected_id": a, "labels": ["concise": 1]], 400, "rejected_id", "same_completion"),
                (["chosen_id": a, "rejected_id": other, "labels": ["concise": 1]], 400, "rejected_id", "different_prompts"),
                (["chosen_id": b, "rejected_id": a, "labels": ["concise": -1]], 409, nil, "duplicate_pair"),
                (["chosen_id": a, "rejected_id": b, "labels": ["funny": 1]], 400, "labels.funny", "unknown_objective"),
                (["chosen_id": a, "rejected_id": b, "labels": ["concise": 2]], 400, "labels.concise", "invalid_label"),
                (["chosen_id": a, "rejected_id": b, "labels": [String: Int]()], 400, "labels", "missing_labels"),
                (["chosen_id": a, "rejected_id": b, "labels": ["concise": 0]], 400, "labels", "no_preference"),
                (["chosen_id": a, "rejected_id": b], 400, "labels", "missing_required_parameter"),
                (["chosen_id": a, "labels": ["concise": 1]], 400, "rejected_id", "missing_required_parameter"),
                (["chosen_id": a, "rejected_id": b, "prompt": "x", "labels": ["concise": 1]], 400, "chosen_id", "conflicting_parameters"),
                (["prompt": "x", "chosen": "a", "labels": ["concise": 1]], 400, "rejected", "missing_required_parameter"),
                (["prompt": "x", "chosen": "same", "rejected": "same", "labels": ["concise": 1]], 400, "rejected", "identical_texts"),
                (["prompt": " ", "chosen": "a", "rejected": "b", "labels": ["concise": 1]], 400, "prompt", "empty_text"),
                (["prompt": "x", "chosen": "a", "rejected": "b", "labels": ["concise": "yes"]], 400, "labels.concise", "invalid_type"),
                ([:], 400, "labels", "missing_required_parameter"),
            ]
            for (body, status, param, code) in cases {
                let response = try await client.post("/v1/feedback", body)
                #expect(Int(response.status.code) == status, "\(body): \(String(buffer: response.body))")
                let error = try errorEnvelope(response)
                #expect(error["param"] as? String == param, "\(body)")
                #expect(error["code"] as? String == code, "\(body)")
            }
            #expect(try await client.post("/v1/feedback", json: "{\"labels\": ").status == .badRequest)
            for query in ["limit=0", "limit=1001", "limit=x", "after=fb-unknown"] {
                let response = try await client.execute(uri: "/v1/feedback?\(query)", method: .get)
                #expect(response.status == .badRequest, "\(query)")
                _ = try errorEnvelope(response)
            }
            let all = try json(try await client.execute(uri: "/v1/feedback", method: .get))
            #expect(all["total"] as? Int == 1, "no refused pair was stored")
        }
    }

    @Test func realignRefusesBadRequestsAndTooLittleFeedback() async throws {
        try await withServer { client in
            let cases: [(String, Int, String?, String)] = [
                (#"{"method":"sgd"}"#, 400, "method", "invalid_value"),
                (#"{"weights":[[1,0,0]]}"#, 400, "weights.0", "invalid_value"),
                (#"{"weights":[[0,0]]}"#, 400, "weights.0", "invalid_value"),
                (#"{"weights":[[-1,2]]}"#, 400, "weights.0", "invalid_value"),
                (#"{"weights":[]}"#, 400, "weights", "invalid_value"),
                (#"{"steps":0}"#, 400, "steps", "invalid_value"),
                (#"{"steps":2.5}"#, 400, "steps", "invalid_type"),
                (#"{"c":1}"#, 400, "c", "invalid_value"),
                (#"{"weights":"all"}"#, 400, "weights", "invalid_type"),
                (#"{}"#, 409, "min_pairs", "not_enough_feedback"),
            ]
            for (body, status, param, code) in cases {
                let response = try await client.post("/v1/realign", json: body)
                #expect(Int(response.status.code) == status, "\(body): \(String(buffer: response.body))")
                let error = try errorEnvelope(response)
                #expect(error["param"] as? String == param, "\(body)")
                #expect(error["code"] as? String == code, "\(body)")
            }
            let unknown = try await client.execute(uri: "/v1/realign/job-000", method: .get)
            #expect(unknown.status == .notFound)
            #expect(try errorEnvelope(unknown)["code"] as? String == "unknown_job")
            #expect(try await client.execute(uri: "/v1/realign/job-000/cancel", method: .post).status == .notFound)
        }
    }

    @Test func aSmallRealignJobTrainsPromotesAndSwapsInTheGridAdapters() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-realign-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withServer(.testing { $0.adaptersDirectory = dir }) { client in
            // Short against long answers: concise prefers the short one, detailed the long one.
            for i in 0..<8 {
                let prompt = "<|im_start|>user\nQuestion \(i)?<|im_end|>\n<|im_start|>assistant\n"
                let short = "Yes."
                let long = "Yes, and there is much more to say about question \(i), with many details."
                let response = try await client.post("/v1/feedback", ["prompt": prompt, "chosen": short, "rejected": long,
                                                                      "labels": ["concise": 1, "detailed": -1]])
                #expect(response.status == .created)
            }
            let started = try await client.post("/v1/realign", ["weights": [[1, 0], [0, 1]], "steps": 2, "min_pairs": 8,
                                                                "held_out": 0.25, "rank": 4, "batch_size": 2])
            #expect(started.status == .accepted, "\(String(buffer: started.body))")
            let id = try #require(try json(started)["id"] as? String)
            #expect(try await client.post("/v1/realign", ["min_pairs": 2]).status == .conflict, "one job at a time")

            let job = try await Self.finishedJob(client, id)
            #expect(job["state"] as? String == "succeeded", "\(job)")
            // The job keeps its resolved request as one flat object: the body's fields and the defaults it took.
            let stored = try #require(job["request"] as? JSONObject)
            #expect(stored["weights"] as? [[Double]] == [[1, 0], [0, 1]])
            #expect(stored["steps"] as? Int == 2 && stored["min_pairs"] as? Int == 8 && stored["rank"] as? Int == 4)
            #expect(stored["held_out"] as? Double == 0.25 && stored["batch_size"] as? Int == 2)
            #expect(stored["method"] as? String == "raco")
            let report = try #require(job["report"] as? JSONObject)
            let promoted = (report["promoted"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
            let kept = report["kept"] as? [String] ?? []
            #expect(Set(promoted + kept) == ["concise1.00-detailed0.00", "concise0.00-detailed1.00"])
            let listed = (try json(try await client.execute(uri: "/v1/adapters", method: .get))["data"] as? [JSONObject] ?? [])
                .compactMap { $0["id"] as? String }
            #expect(Set(listed) == Set(promoted))
            for name in promoted {
                #expect(FileManager.default.fileExists(atPath: dir + "/\(name).gguf"))
            }
            let listing = try json(try await client.execute(uri: "/v1/realign", method: .get))
            #expect((listing["data"] as? [JSONObject])?.first?["id"] as? String == id)
        }
    }

    /// `realign.auto_after_pairs`: a job starts by itself once that many new pairs arrived, with the `[realign]`
    /// defaults, and the count starts again from that job's data.
    @Test func thePolicyStartsAJobAfterEnoughNewPairs() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-policy-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let configuration = ServerConfiguration.testing {
            $0.adaptersDirectory = dir
            $0.realign.autoAfterPairs = 3
            $0.realign.minPairs = 3
            $0.realign.gridPoints = 2
            $0.realign.training.steps = 1
            $0.realign.training.rank = 2
            $0.realign.training.batchSize = 2
            $0.realign.training.heldOutFraction = 0
        }
        try await withServer(configuration) { client in
            func postPair(_ i: Int) async throws {
                let response = try await client.post("/v1/feedback", [
                    "prompt": "<|im_start|>user\nPolicy question \(i)?<|im_end|>\n<|im_start|>assistant\n",
                    "chosen": "No.", "rejected": "No, and here is a long answer number \(i).",
                    "labels": ["concise": 1, "detailed": -1]])
                #expect(response.status == .created)
            }
            func jobs() async throws -> [JSONObject] {
                try json(try await client.execute(uri: "/v1/realign", method: .get))["data"] as? [JSONObject] ?? []
            }
            try await postPair(0)
            try await postPair(1)
            #expect(try await jobs().isEmpty, "two pairs are fewer than auto_after_pairs")
            try await postPair(2)
            var listed: [JSONObject] = []
            for _ in 0..<50 where listed.isEmpty {
                listed = try await jobs()
                if listed.isEmpty { try await Task.sleep(nanoseconds: 100_000_000) }
            }
            try #require(listed.count == 1, "the third pair starts a job")
            let id = try #require(listed[0]["id"] as? String)
            let job = try await Self.finishedJob(client, id)
            #expect(job["state"] as? String == "succeeded", "\(job)")
            #expect(job["pairs_used"] as? Int == 3)
            // The job used all three pairs: one more pair is not enough for another job.
            try await postPair(3)
            try await Task.sleep(nanoseconds: 300_000_000)
            #expect(try await jobs().count == 1)
        }
    }
}

/// What the feedback routes do with texts that GRDB's TEXT binding would cut (U+0000), and with stored rows edited
/// outside the server: every text comes back byte for byte; an unreadable row is skipped, logged and counted, never
/// a 500 or an export cut short after its 200.
@Suite(.serialized, .enabled(if: TestModel.isAvailable, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/setup.sh fetches it)"))
struct FeedbackStoredTextRouteTests {
    /// The application with a logger whose lines the test reads.
    static func withLoggedServer(_ configuration: ServerConfiguration,
                                 _ body: @Sendable (any TestClientProtocol, LogLines) async throws -> Void) async throws {
        let lines = LogLines()
        var logger = Logger(label: "raconteur-test") { _ in CapturingLogHandler(lines: lines) }
        logger.logLevel = .warning
        let app = try await buildApplication(configuration, logger: logger) { try TestModel.served() }
        try await app.test(.router) { client in
            try await waitUntilHealthy(client)
            try await body(client, lines)
        }
    }

    /// Edits the store's file as another program would (the sqlite3 shell), while the server has it open.
    static func editStore(_ path: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", path, sql]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "sqlite3 failed on \(sql)")
    }

    static func bytes(_ value: Any?) -> [UInt8]? { (value as? String).map { Array($0.utf8) } }

    /// The export's count of rows left out, a trailer field.
    static func skippedRowsTrailer(_ response: TestResponse) -> String? {
        response.trailerHeaders?.first { $0.name.canonicalName == "x-raconteur-skipped-rows" }?.value
    }

    @Test func textsWithNULAreStoredListedAndExportedByteForByte() async throws {
        try await withServer { client in
            let texts = ["prompt": "\u{0}leading NUL", "chosen": "same\u{0}one", "rejected": "same\u{0}two"]
            var request: JSONObject = texts
            request["labels"] = ["concise": 1]
            let created = try await client.post("/v1/feedback", request)
            #expect(created.status == .created, "\(String(buffer: created.body))")
            let pair = try json(created)
            for (field, text) in texts { #expect(Self.bytes(pair[field]) == Array(text.utf8), "\(field)") }
            let mirror = try await client.post("/v1/feedback", ["prompt": texts["prompt"]!, "chosen": texts["rejected"]!,
                                                                "rejected": texts["chosen"]!, "labels": ["concise": -1]])
            #expect(mirror.status == .conflict)
            #expect(try errorEnvelope(mirror)["code"] as? String == "duplicate_pair")

            // A completion's prompt with a NUL in it, named by id.
            let response = try await client.post("/v1/chat/completions", [
                "messages": [["role": "user", "content": "Cats\u{0}dogs?"]], "n": 2, "max_tokens": 8, "temperature": 1, "seed": 11])
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let ids = choices(try json(response)).compactMap { $0["completion_id"] as? String }
            try #require(ids.count == 2)
            let byIDs = try await client.post("/v1/feedback", ["chosen_id": ids[0], "rejected_id": ids[1], "labels": ["detailed": 1]])
            #expect(byIDs.status == .created, "\(String(buffer: byIDs.body))")
            let prompt = try #require(try json(byIDs)["prompt"] as? String)
            #expect(Array(prompt.utf8).contains(Array("Cats\u{0}dogs?".utf8)) || prompt.contains("Cats\u{0}dogs?"),
                    "the prompt keeps the NUL: \(prompt.debugDescription)")

            let list = try json(try await client.execute(uri: "/v1/feedback", method: .get))
            let data = try #require(list["data"] as? [JSONObject])
            #expect(data.count == 2 && list["skipped"] as? Int == 0)
            for (field, text) in texts { #expect(Self.bytes(data[0][field]) == Array(text.utf8), "\(field)") }
            #expect(Self.bytes(data[1]["prompt"]) == Array(prompt.utf8))

            let export = try await client.execute(uri: "/v1/feedback/export", method: .get)
            #expect(export.status == .ok)
            let lines = String(buffer: export.body).split(separator: "\n")
            try #require(lines.count == 2)
            let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? JSONObject)
            for (field, text) in texts { #expect(Self.bytes(first[field]) == Array(text.utf8), "\(field)") }
            let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? JSONObject)
            #expect(Self.bytes(second["prompt"]) == Array(prompt.utf8))
        }
    }

    @Test func aRowEditedOutsideTheServerIsSkippedLoggedAndCountedByTheListAndTheExport() async throws {
        let configuration = ServerConfiguration.testing()
        defer { try? FileManager.default.removeItem(atPath: configuration.storePath) }
        try await Self.withLoggedServer(configuration) { client, logs in
            var ids: [String] = []
            for i in 0..<5 {
                let response = try await client.post("/v1/feedback", ["prompt": "Question \(i)?", "chosen": "Yes.",
                                                                      "rejected": "Yes, at length \(i).", "labels": ["concise": 1]])
                #expect(response.status == .created)
                ids.append(try #require(try json(response)["id"] as? String))
            }
            let exportBefore = String(buffer: try await client.execute(uri: "/v1/feedback/export", method: .get).body)
            let linesBefore = exportBefore.split(separator: "\n").map(String.init)
            try #require(linesBefore.count == 5)
            try Self.editStore(configuration.storePath, "UPDATE preference_pair SET labels = '{oops' WHERE id = '\(ids[2])'")

            let list = try await client.execute(uri: "/v1/feedback", method: .get)
            #expect(list.status == .ok, "\(String(buffer: list.body))")
            let body = try json(list)
            #expect((body["data"] as? [JSONObject])?.compactMap { $0["id"] as? String } == [ids[0], ids[1], ids[3], ids[4]])
            #expect(body["skipped"] as? Int == 1 && body["total"] as? Int == 5 && body["has_more"] as? Bool == false)
            #expect(logs.contains { $0.level == .warning && $0.message.contains(ids[2]) && $0.message.contains("labels is not valid JSON") },
                    "\(logs.all)")

            // Paged one row at a time, the cursor passes the skipped row.
            var listed: [String] = [], skipped = 0, cursor: String?
            repeat {
                let page = try json(try await client.execute(uri: "/v1/feedback?limit=1" + (cursor.map { "&after=\($0)" } ?? ""),
                                                             method: .get))
                listed += (page["data"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
                skipped += page["skipped"] as? Int ?? 0
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(listed == [ids[0], ids[1], ids[3], ids[4]] && skipped == 1)

            // The export: every other row in full, the skipped one reported in the log and the trailer.
            let before = logs.all.count
            let export = try await client.execute(uri: "/v1/feedback/export", method: .get)
            #expect(export.status == .ok)
            #expect(String(buffer: export.body).split(separator: "\n").map(String.init)
                    == [linesBefore[0], linesBefore[1], linesBefore[3], linesBefore[4]])
            #expect(String(buffer: export.body).hasSuffix("\n"))
            #expect(Self.skippedRowsTrailer(export) == "1")
            let exportLogs = logs.all.dropFirst(before)
            #expect(exportLogs.contains { $0.level == .warning && $0.message.contains(ids[2]) }, "\(exportLogs)")
            #expect(exportLogs.contains { $0.level == .warning && $0.message.contains("left out 1 unreadable row") }, "\(exportLogs)")

            // Once repaired, nothing is skipped and the export has no trailer.
            try Self.editStore(configuration.storePath, "UPDATE preference_pair SET labels = '{\"concise\":1}' WHERE id = '\(ids[2])'")
            let repaired = try await client.execute(uri: "/v1/feedback/export", method: .get)
            #expect(String(buffer: repaired.body) == exportBefore)
            #expect(Self.skippedRowsTrailer(repaired) == nil)
            #expect(try json(try await client.execute(uri: "/v1/feedback", method: .get))["skipped"] as? Int == 0)
        }
    }
}

/// Log lines kept for a test to read.
final class LogLines: @unchecked Sendable {
    struct Line: Sendable, CustomStringConvertible {
        var level: Logger.Level
        var message: String
        var description: String { "\(level): \(message)" }
    }
    private let lock = NSLock()
    private var lines: [Line] = []

    func append(_ line: Line) { lock.withLock { lines.append(line) } }
    var all: [Line] { lock.withLock { lines } }
    func contains(where predicate: (Line) -> Bool) -> Bool { all.contains(where: predicate) }
}

struct CapturingLogHandler: LogHandler {
    let lines: LogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
             function: String, line: UInt) {
        lines.append(.init(level: level, message: message.description))
    }
}
