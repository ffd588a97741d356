import Foundation
import Testing
@testable import Feedback

@Suite struct PagingAndExportTests {
    @Test(arguments: Backend.allCases) func pagesRoundTripInInsertionOrder(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        var added: [PreferencePair] = []
        for index in 0..<7 { added.append(try await Fixtures.addTextPair(store, index)) }

        var seen: [PreferencePair] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await store.feedback(after: cursor, limit: 3)
            seen += page.pairs
            cursor = page.nextCursor
            pages += 1
            #expect(page.hasMore == (cursor != nil))
        } while cursor != nil
        #expect(pages == 3)
        #expect(seen == added)
        #expect(seen.map(\.sequence) == Array(1...7))

        let exact = try await store.feedback(after: nil, limit: 7)
        #expect(exact.pairs.count == 7 && exact.nextCursor == nil)
        #expect(try await store.feedback(after: added[6].id, limit: 5).pairs.isEmpty)
    }

    @Test(arguments: Backend.allCases) func limitAndCursorBounds(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        _ = try await Fixtures.addTextPair(store, 0)
        await #expect(throws: FeedbackError.invalidLimit(0, allowed: FeedbackStore.pageSizes)) {
            try await store.feedback(after: nil, limit: 0)
        }
        await #expect(throws: FeedbackError.invalidLimit(1001, allowed: FeedbackStore.pageSizes)) {
            try await store.feedback(after: nil, limit: 1001)
        }
        #expect(try await store.feedback(after: nil, limit: 1000).pairs.count == 1)
        await #expect(throws: FeedbackError.unknownCursor("fb-nope")) { try await store.feedback(after: "fb-nope", limit: 10) }
        #expect(FeedbackError.unknownCursor("x").param == "after")
        #expect(FeedbackError.invalidLimit(0, allowed: 1...2).param == "limit")
    }

    @Test(arguments: Backend.allCases) func countsAndSequenceNumbersForAPolicy(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        #expect(try await store.latestFeedbackSequence() == 0)
        for index in 0..<5 { _ = try await Fixtures.addTextPair(store, index) }
        let mark = try await store.latestFeedbackSequence()
        #expect(mark == 5)
        for index in 5..<8 { _ = try await Fixtures.addTextPair(store, index) }
        #expect(try await store.feedbackCount() == 8)
        #expect(try await store.feedbackCount(afterSequence: mark) == 3)
        #expect(try await store.preferences(afterSequence: mark).map(\.prompt) == ["prompt 5", "prompt 6", "prompt 7"])
        #expect(try await store.allPreferences().count == 8)
    }

    @Test(arguments: Backend.allCases) func exportIsJSONLinesThatParseBack(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.addFeedback(prompt: "<|im_start|>user\nSay \"hi\" / bye<|im_end|>\n", chosen: "hi\n", rejected: "héllo, wörld 🦉",
                                        labels: ["concise": 1, "detailed": 0], objectives: Fixtures.objectives)
        for index in 0..<7 { _ = try await Fixtures.addTextPair(store, index) }

        let export = try await store.exportJSONL()
        #expect(export.skipped.isEmpty)
        let data = export.data
        let text = try #require(String(data: data, encoding: .utf8))
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 8)

        struct Row: Decodable, Equatable { var prompt, chosen, rejected: String; var labels: [String: Int] }
        let first = try JSONDecoder().decode(Row.self, from: Data(lines[0].utf8))
        #expect(first == Row(prompt: "<|im_start|>user\nSay \"hi\" / bye<|im_end|>\n", chosen: "hi\n", rejected: "héllo, wörld 🦉",
                             labels: ["concise": 1, "detailed": 0]))
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]).keys.sorted()
        #expect(keys == ["chosen", "labels", "prompt", "rejected"])
        let last = try JSONDecoder().decode(Row.self, from: Data(lines[7].utf8))
        #expect(last.prompt == "prompt 6")

        // Streamed in pages of 3: three chunks that add up to the same bytes.
        var chunks: [Data] = []
        for try await chunk in store.exportJSONLChunks(pageSize: 3) {
            #expect(chunk.skipped.isEmpty)
            chunks.append(chunk.lines)
        }
        #expect(chunks.count == 3)
        #expect(chunks.reduce(Data(), +) == data)

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("export.jsonl")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        #expect(try await store.exportJSONL(to: handle).isEmpty)
        try handle.close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == data)
    }

    @Test(arguments: Backend.allCases) func anEmptyStoreExportsNothing(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        #expect(try await store.exportJSONL() == FeedbackExport(data: Data(), skipped: []))
    }
}
