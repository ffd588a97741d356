import Adapters
import Foundation
import Hummingbird
import HummingbirdTesting
@testable import Server
import Testing

/// The starter grid: when a starting server trains on the bundled preference set, and that the job it starts is an
/// ordinary job (stored, listed, cancellable) that leaves users' feedback alone.
@Suite(.serialized, .enabled(if: TestModel.isAvailable, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/setup.sh fetches it)"))
struct StarterGridTests {
    static let set = StarterSet.smolLM2ConciseDetailed

    static func emptyDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-starter-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func fingerprint() throws -> String {
        BaseModelFingerprint.of(try TestModel.served().model.file)
    }

    static func situation(_ change: (inout StarterGrid.Situation) -> Void = { _ in }) throws -> StarterGrid.Situation {
        var situation = StarterGrid.Situation(enabled: true, adaptersDirectory: try emptyDirectory(),
                                              objectives: ["concise", "detailed"], modelFingerprint: try fingerprint())
        change(&situation)
        return situation
    }

    /// The fingerprint written into the set is the one the served file has (it was computed outside Swift).
    @Test func theBundledSetNamesTheDefaultModelsFingerprint() throws {
        #expect(Self.set.modelFingerprint == (try Self.fingerprint()))
    }

    @Test func theBundledRowsParseAndLabelOnlyTheSetsObjectives() throws {
        let records = try Self.set.records()
        #expect(records.count == 48)
        for record in records {
            #expect(Set(record.labels.keys).isSubset(of: Self.set.objectives))
            #expect(record.labels.values.allSatisfy { (-1...1).contains($0) })
            #expect(record.prompt.hasPrefix("<|im_start|>user\n"), "SmolLM2's ChatML")
        }
        #expect(records.contains { $0.labels["concise"] == 1 } && records.contains { $0.labels["detailed"] == 1 })
    }

    @Test func anEmptyDirectoryWithTheSetsObjectivesAndModelStartsAJob() throws {
        #expect(StarterGrid.decide(try Self.situation()).0 == .start(setID: Self.set.id))
        // Order does not matter: labels are keyed by name.
        #expect(StarterGrid.decide(try Self.situation { $0.objectives = ["detailed", "concise"] }).0 == .start(setID: Self.set.id))
        // A directory that does not exist yet is empty (the catalogue creates it).
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-missing-\(UUID().uuidString)").path
        #expect(StarterGrid.decide(try Self.situation { $0.adaptersDirectory = missing }).0 == .start(setID: Self.set.id))
    }

    @Test func anythingThatDoesNotFitStartsNoJob() throws {
        func skipped(_ situation: StarterGrid.Situation) -> Bool {
            if case .skip = StarterGrid.decide(situation).0 { return true }
            return false
        }
        let occupied = try Self.emptyDirectory()
        try Data("not read".utf8).write(to: URL(fileURLWithPath: occupied + "/concise1.00-detailed0.00.gguf"))
        #expect(skipped(try Self.situation { $0.adaptersDirectory = occupied }), "an adapter is already there")
        #expect(skipped(try Self.situation { $0.enabled = false }), "[realign] starter = false / --no-starter")
        #expect(skipped(try Self.situation { $0.adaptersDirectory = nil }), "nowhere to store adapters")
        #expect(skipped(try Self.situation { $0.objectives = ["concise", "helpful"] }))
        #expect(skipped(try Self.situation { $0.objectives = ["concise"] }))
        #expect(skipped(try Self.situation { $0.objectives = ["concise", "detailed", "polite"] }))
        #expect(skipped(try Self.situation { $0.modelFingerprint = "fnv1a64:0" }), "another model")
        // Other files (a half-written adapter's temporary file, notes) do not count as adapters.
        let notes = try Self.emptyDirectory()
        try Data("x".utf8).write(to: URL(fileURLWithPath: notes + "/README.txt"))
        #expect(StarterGrid.decide(try Self.situation { $0.adaptersDirectory = notes }).0 == .start(setID: Self.set.id))
    }

    @Test func theStarterBudgetIsItsOwnButKeepsTheServersThreadsAndPause() {
        var configured = RealignSettings()
        configured.training.threads = 3
        configured.maxPauseSeconds = 1.5
        configured.training.steps = 40
        configured.starterSteps = 5
        let s = StarterGrid.settings(from: configured)
        #expect(s.grid(objectives: 2) == [[1, 0], [0, 1]])
        #expect(s.training.steps == 5 && s.training.threads == 3 && s.maxPauseSeconds == 1.5)
        #expect(s.method == "raco" && s.training.maxTokensPerSequence == 128)
        #expect(throws: Never.self) { try s.validate() }
    }

    @Test func theConfigurationTurnsItOffAndSetsItsSteps() throws {
        #expect(ServerConfiguration().realign.starter, "on unless turned off")
        #expect(ServerConfiguration().realign.starterSteps == StarterGrid.defaultSteps)
        let configuration = try ServerConfiguration(toml: "[realign]\nstarter = false\nstarter_steps = 3\n")
        #expect(!configuration.realign.starter && configuration.realign.starterSteps == 3)
        for line in ["starter_steps = 0", "starter_steps = 10001", "starter = 1"] {
            #expect(throws: ConfigurationError.self, "\(line)") {
                try ServerConfiguration(toml: "[realign]\n\(line)\n").validate()
            }
        }
    }

    /// A fresh server with an empty adapters directory lists the starter job among its jobs, marked with the set's
    /// id; trade-offs are answered by the base model meanwhile; the stored feedback stays empty; with one step per
    /// grid point the job runs to the end and its adapters then serve the trade-off. (Cancelling it is the Python
    /// test's part.)
    @Test func aFreshServerRunsTheStarterAsAnOrdinaryJob() async throws {
        let dir = try Self.emptyDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let configuration = ServerConfiguration.testing {
            $0.adaptersDirectory = dir
            $0.realign.starter = true
            $0.realign.starterSteps = 1
        }
        try await withServer(configuration) { client in
            let job = try await Self.firstJob(client)
            let id = try #require(job?["id"] as? String, "no starter job was listed")
            let request = try #require(job?["request"] as? JSONObject)
            #expect(request["starter"] as? String == Self.set.id)
            #expect(request["weights"] as? [[Double]] == [[1, 0], [0, 1]])
            #expect(request["steps"] as? Int == 1)

            let during = try json(try await client.post("/v1/completions", [
                "prompt": "Hello", "max_tokens": 2, "tradeoff": ["concise": 1]]))
            let mixture = try #require(during["mixture"] as? JSONObject)
            #expect(mixture["base_model_only"] as? Bool == true)
            #expect((mixture["note"] as? String)?.contains("base model") == true)

            let ended = try await Self.finishedJob(client, id)
            #expect(ended["state"] as? String == "succeeded", "\(ended)")
            #expect(ended["pairs_used"] as? Int == 48)
            let report = try #require(ended["report"] as? JSONObject)
            let promoted = (report["promoted"] as? [JSONObject] ?? []).compactMap { $0["id"] as? String }
            let kept = report["kept"] as? [String] ?? []
            #expect(Set(promoted + kept) == ["concise1.00-detailed0.00", "concise0.00-detailed1.00"])
            #expect(promoted.contains("concise1.00-detailed0.00"), "\(report)")
            for name in promoted { #expect(FileManager.default.fileExists(atPath: dir + "/\(name).gguf")) }

            let after = try json(try await client.post("/v1/completions", [
                "prompt": "Hello", "max_tokens": 2, "tradeoff": ["concise": 1]]))
            let served = try #require(after["mixture"] as? JSONObject)
            #expect(served["base_model_only"] as? Bool == false)
            #expect((served["adapters"] as? [JSONObject])?.first?["id"] as? String == "concise1.00-detailed0.00")

            let feedback = try json(try await client.execute(uri: "/v1/feedback", method: .get))
            #expect((feedback["data"] as? [Any])?.isEmpty == true, "the starter's rows are not users' feedback")
        }
    }

    @Test func turnedOffOrWithAdaptersPresentNoJobStarts() async throws {
        let dir = try Self.emptyDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withServer(.testing { $0.adaptersDirectory = dir; $0.realign.starter = false }) { client in
            let job = try await Self.firstJob(client, waitingSeconds: 1)
            #expect(job == nil, "\(job ?? [:])")
        }
        // Objectives the set does not label: no job, even with the starter on.
        try await withServer(.testing {
            $0.adaptersDirectory = dir
            $0.realign.starter = true
            $0.objectives = [.init(name: "concise"), .init(name: "polite")]
        }) { client in
            let job = try await Self.firstJob(client, waitingSeconds: 1)
            #expect(job == nil, "\(job ?? [:])")
        }
    }

    /// Polls the job until it has left queued and running (up to five minutes: about 75 s in a debug build on two
    /// busy cores); its last state.
    static func finishedJob(_ client: any TestClientProtocol, _ id: String) async throws -> JSONObject {
        var job: JSONObject = [:]
        for _ in 0..<1500 {
            job = try json(try await client.execute(uri: "/v1/realign/\(id)", method: .get))
            if let state = job["state"] as? String, !["queued", "running"].contains(state) { break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        return job
    }

    /// The newest listed job, polled for up to `waitingSeconds` (the starter decision follows the model's loading).
    static func firstJob(_ client: any TestClientProtocol, waitingSeconds: Double = 10) async throws -> JSONObject? {
        let deadline = Date().addingTimeInterval(waitingSeconds)
        repeat {
            let listing = try json(try await client.execute(uri: "/v1/realign", method: .get))
            if let job = (listing["data"] as? [JSONObject])?.first { return job }
            try await Task.sleep(nanoseconds: 50_000_000)
        } while Date() < deadline
        return nil
    }
}
