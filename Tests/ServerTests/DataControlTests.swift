import Foundation
import Feedback
import Hummingbird
import HummingbirdTesting
@testable import Server
import Testing

extension ModelRouteTests {
    /// Deleting stored completions and pairs through the API, and retention, remove exactly what they name.
    @Suite struct DataControls {
        private static func completionIDs(_ client: any TestClientProtocol, prompt: String, n: Int,
                                          store: Bool = true) async throws -> [String] {
            let response = try await client.post("/v1/completions", ["prompt": prompt, "max_tokens": 6, "temperature": 1, "seed": 7,
                                                                     "n": n, "store": store])
            #expect(response.status == .ok)
            return try #require(try json(response)["choices"] as? [JSONObject]).compactMap { $0["completion_id"] as? String }
        }

        @Test func deleteRoutesRemoveWhatTheyNameAndExportShowsWhatRemains() async throws {
            let configuration = ServerConfiguration.testing()
            try await withServer(configuration) { client in
                let ids = try await Self.completionIDs(client, prompt: "Name three birds:", n: 3)
                try #require(ids.count == 3)
                let store = try FeedbackStore(path: configuration.storePath)
                // Two pairs over the three completions, when their texts differ (sampling may repeat one).
                var pairs: [String] = []
                for (chosen, rejected) in [(ids[0], ids[1]), (ids[2], ids[1])] {
                    let vote = try await client.post("/v1/feedback", ["chosen_id": chosen, "rejected_id": rejected,
                                                                      "labels": ["concise": 1]])
                    if vote.status == .created || vote.status == .ok { pairs.append(try #require(try json(vote)["id"] as? String)) }
                }
                try #require(!pairs.isEmpty, "the sampled texts were all identical")

                let gone = try await client.execute(uri: "/v1/feedback/\(pairs[0])", method: .delete)
                #expect(gone.status == .ok)
                #expect(try json(gone)["deleted"] as? Bool == true)
                #expect(try await store.preference(id: pairs[0]) == nil)
                #expect(try await client.execute(uri: "/v1/feedback/\(pairs[0])", method: .delete).status == .notFound)
                #expect(try await store.completion(id: ids[0]) != nil, "deleting a pair keeps its completions")

                let deleted = try await client.execute(uri: "/v1/completions/\(ids[1])", method: .delete)
                #expect(deleted.status == .ok)
                #expect((try json(deleted)["deleted_feedback"] as? [String]) == Array(pairs.dropFirst()))
                #expect(try await store.completion(id: ids[1]) == nil)
                let missing = try await client.execute(uri: "/v1/completions/\(ids[1])", method: .delete)
                #expect(missing.status == .notFound)
                #expect(try errorEnvelope(missing)["code"] as? String == "completion_not_found")
                #expect(try await store.feedbackCount() == 0)
                let export = try await client.execute(uri: "/v1/feedback/export", method: .get)
                #expect(String(buffer: export.body).isEmpty)
                #expect(try await store.completion(id: ids[2]) != nil)
            }
        }

        @Test func storeFalseLeavesNoRow() async throws {
            let configuration = ServerConfiguration.testing()
            try await withServer(configuration) { client in
                let ids = try await Self.completionIDs(client, prompt: "Say hi.", n: 2, store: false)
                #expect(ids.count == 2)
                let store = try FeedbackStore(path: configuration.storePath)
                for id in ids { #expect(try await store.completion(id: id) == nil) }
                #expect(try await store.completionCount() == 0)
            }
        }

        @Test func retentionSweepsWithTheConfiguredDays() async throws {
            let configuration = ServerConfiguration.testing { $0.keepDays = 30 }
            try await withServer(configuration) { client in
                let ids = try await Self.completionIDs(client, prompt: "Name a tree:", n: 2)
                let store = try FeedbackStore(path: configuration.storePath)
                // A clock the test controls: 29 days on, nothing is old enough; 31 days on, both go.
                #expect(try await RetentionService.sweep(store, keepDays: 30, now: Date().addingTimeInterval(29 * 86_400)) == 0)
                #expect(try await RetentionService.sweep(store, keepDays: 30, now: Date().addingTimeInterval(31 * 86_400)) == ids.count)
                for id in ids { #expect(try await store.completion(id: id) == nil) }
            }
        }
    }
}

@Suite struct RetentionConfigurationTests {
    @Test func keepDaysIsReadAndRangeChecked() throws {
        #expect(try ServerConfiguration(toml: "[store]\nkeep_days = 30").keepDays == 30)
        #expect(try ServerConfiguration(toml: "").keepDays == nil)
        for bad in [0, -1, 36_501] {
            #expect(throws: ConfigurationError.self) { try ServerConfiguration(toml: "[store]\nkeep_days = \(bad)").validate() }
        }
    }
}
