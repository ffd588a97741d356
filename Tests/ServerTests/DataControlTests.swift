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

extension ModelRouteTests {
    @Suite struct FeedbackFilters {
        @Test func listingFiltersByObjectiveAndLabelOnTheServer() async throws {
            try await withServer(.testing()) { client in
                let pairs: [(String, [String: Int])] = [("a", ["concise": 1, "detailed": -1]), ("b", ["concise": -1]),
                                                        ("c", ["detailed": 1]), ("d", ["concise": 0, "detailed": 1])]
                for (text, labels) in pairs {
                    let response = try await client.post("/v1/feedback", ["prompt": "p", "chosen": "\(text)1", "rejected": "\(text)2",
                                                                           "labels": labels])
                    #expect(response.status == .created)
                }
                func chosen(_ query: String) async throws -> (texts: [String], total: Int?) {
                    let response = try await client.execute(uri: "/v1/feedback?limit=1000\(query)", method: .get)
                    #expect(response.status == .ok, "\(query)")
                    let body = try json(response)
                    return (try #require(body["data"] as? [JSONObject]).compactMap { $0["chosen"] as? String }, body["total"] as? Int)
                }
                #expect(try await chosen("").texts == ["a1", "b1", "c1", "d1"])
                #expect(try await chosen("&objective=concise").texts == ["a1", "b1", "d1"])
                #expect(try await chosen("&objective=concise&label=1").texts == ["a1"])
                // A pair that does not label an objective counts as a tie for it.
                #expect(try await chosen("&objective=concise&label=0").texts == ["c1", "d1"])
                #expect(try await chosen("&label=-1").texts == ["a1", "b1"])
                #expect(try await chosen("&objective=detailed&label=1") == (["c1", "d1"], 2))
                // Paging walks the filtered rows only.
                let first = try json(try await client.execute(uri: "/v1/feedback?limit=1&objective=detailed&label=1", method: .get))
                let cursor = try #require(first["next_cursor"] as? String)
                let second = try json(try await client.execute(uri: "/v1/feedback?limit=1&objective=detailed&label=1&after=\(cursor)",
                                                               method: .get))
                #expect((second["data"] as? [JSONObject])?.first?["chosen"] as? String == "d1")
                #expect(second["has_more"] as? Bool == false)
                for bad in ["objective=tone", "label=2", "label=x", "objective=concise&label=-2"] {
                    let refused = try await client.execute(uri: "/v1/feedback?\(bad)", method: .get)
                    #expect(refused.status == .badRequest, "\(bad)")
                    #expect(try errorEnvelope(refused)["code"] as? String == "invalid_value")
                }
            }
        }
    }
}
