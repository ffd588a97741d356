import Foundation
import FeedbackPostgres
import GRDB
import PostgresNIO
import Testing
@testable import Feedback

/// Free text is stored and read back byte for byte (U+0000 included) and compared as bytes: issue 16, item 5.
@Suite struct TextFidelityTests {
    let objectives = Fixtures.objectives

    static func bytes(_ text: String?) -> [UInt8]? { text.map { Array($0.utf8) } }

    static func expectSameBytes(_ pair: PreferencePair?, _ expected: PreferencePair, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(pair == expected, sourceLocation: sourceLocation)
        #expect(bytes(pair?.prompt) == bytes(expected.prompt), sourceLocation: sourceLocation)
        #expect(bytes(pair?.chosen) == bytes(expected.chosen), sourceLocation: sourceLocation)
        #expect(bytes(pair?.rejected) == bytes(expected.rejected), sourceLocation: sourceLocation)
        #expect(bytes(pair?.user) == bytes(expected.user), sourceLocation: sourceLocation)
        #expect(bytes(pair?.note) == bytes(expected.note), sourceLocation: sourceLocation)
    }

    /// Texts GRDB's TEXT binding would cut: at a leading NUL (becoming '', which v1's CHECK refused: the 500), in
    /// the middle, at the end, and texts that are equal up to a NUL (which v1 stored as one, failing CHECK or
    /// being reported as duplicates).
    static let nulTexts: [(prompt: String, chosen: String, rejected: String)] = [
        ("\0", "\0a", "\0b"),
        ("prompt\0with a tail", "same\0one", "same\0two"),
        ("ends in NUL\0", "x\0\0\0", "x\0\0"),
        ("<|im_start|>user\n\0<|im_end|>\n", "\0", "\0\0"),
        ("héllo\0wörld 🦉", "🦉\0", "🦉\0🦉"),
    ]

    @Test(arguments: Backend.allCases) func textsWithNULAreStoredAndReadBackByteForByte(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        var added: [PreferencePair] = []
        for (index, texts) in Self.nulTexts.enumerated() {
            let pair = try await store.addFeedback(prompt: texts.prompt, chosen: texts.chosen, rejected: texts.rejected,
                                                   labels: ["concise": 1], objectives: objectives,
                                                   user: "user\0\(index)", note: "\0note \(index)")
            #expect(Self.bytes(pair.prompt) == Self.bytes(texts.prompt))
            #expect(Self.bytes(pair.chosen) == Self.bytes(texts.chosen))
            #expect(Self.bytes(pair.rejected) == Self.bytes(texts.rejected))
            Self.expectSameBytes(try await store.preference(id: pair.id), pair)
            added.append(pair)
        }
        let all = try await store.allPreferences()
        #expect(all.count == added.count)
        for (read, expected) in zip(all, added) { Self.expectSameBytes(read, expected) }
        let page = try await store.feedback(after: nil, limit: 100)
        #expect(page.skipped.isEmpty)
        for (read, expected) in zip(page.pairs, added) { Self.expectSameBytes(read, expected) }

        // The export writes NUL as the JSON escape, and parses back to the same bytes.
        let export = try await store.exportJSONL()
        #expect(export.skipped.isEmpty)
        #expect(!export.data.contains(0), "JSON escapes U+0000")
        struct Line: Decodable { var prompt, chosen, rejected: String }
        let lines = export.data.split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == added.count)
        for (line, expected) in zip(lines, added) {
            let decoded = try JSONDecoder().decode(Line.self, from: Data(line))
            #expect(Self.bytes(decoded.prompt) == Self.bytes(expected.prompt))
            #expect(Self.bytes(decoded.chosen) == Self.bytes(expected.chosen))
            #expect(Self.bytes(decoded.rejected) == Self.bytes(expected.rejected))
        }

        // What the database holds: the UTF-8 bytes, as BLOBs (SQLite) or bytea (PostgreSQL).
        let stored: [(kind: String, texts: [Data])]
        switch store {
        case let store as FeedbackStore:
            stored = try await store.database.read { db in
                try Row.fetchAll(db, sql: "SELECT prompt, chosen, rejected, typeof(prompt) AS kind FROM preference_pair ORDER BY seq")
                    .map { row in (row["kind"] as String? ?? "", [row["prompt"], row["chosen"], row["rejected"]].map { $0 ?? Data() }) }
            }
            #expect(stored.allSatisfy { $0.kind == "blob" })
        case let store as PostgresFeedbackStore:
            stored = try await PostgresTestServer.connect(to: store.url) { connection, logger in
                var rows: [(kind: String, texts: [Data])] = []
                let query: PostgresQuery = "SELECT prompt, chosen, rejected, pg_typeof(prompt)::text AS kind FROM preference_pair ORDER BY seq"
                for try await (prompt, chosen, rejected, kind) in try await connection.query(query, logger: logger)
                    .decode((Data, Data, Data, String).self) {
                    rows.append((kind, [prompt, chosen, rejected]))
                }
                return rows
            }
            #expect(stored.allSatisfy { $0.kind == "bytea" })
        default:
            stored = []
        }
        #expect(stored.count == Self.nulTexts.count)
        for (row, texts) in zip(stored, Self.nulTexts) {
            #expect(row.texts == [Data(texts.prompt.utf8), Data(texts.chosen.utf8), Data(texts.rejected.utf8)])
        }
    }

    @Test(arguments: Backend.allCases) func textsThatDifferOnlyAfterANULAreDifferentAndMirrorImagesAreDuplicates(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let first = try await store.addFeedback(prompt: "p\0", chosen: "a\0b", rejected: "a\0c", labels: ["concise": 1],
                                                objectives: objectives)
        await #expect(throws: FeedbackError.duplicatePair(existingID: first.id)) {
            try await store.addFeedback(prompt: "p\0", chosen: "a\0c", rejected: "a\0b", labels: ["concise": 1],
                                        objectives: self.objectives)
        }
        // Each differs from the first pair only after a NUL.
        _ = try await store.addFeedback(prompt: "p\0x", chosen: "a\0b", rejected: "a\0c", labels: ["concise": 1], objectives: objectives)
        _ = try await store.addFeedback(prompt: "p\0", chosen: "a\0b", rejected: "a\0d", labels: ["concise": 1], objectives: objectives)
        _ = try await store.addFeedback(prompt: "p", chosen: "a\0b", rejected: "a\0c", labels: ["concise": 1], objectives: objectives)
        await #expect(throws: FeedbackError.identicalTexts(field: "rejected")) {
            try await store.addFeedback(prompt: "p", chosen: "\0", rejected: "\0", labels: ["concise": 1], objectives: self.objectives)
        }
        #expect(try await store.feedbackCount() == 4)
    }

    /// The store's equality is the bytes', also in Swift: a precomposed "é" and "e" with a combining accent are
    /// two texts (String's `==` would call them equal, while the unique index tells them apart).
    @Test(arguments: Backend.allCases) func textsAreComparedAsBytesNotByCanonicalEquivalence(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let pair = try await store.addFeedback(prompt: "Spell café.", chosen: "caf\u{E9}", rejected: "cafe\u{301}",
                                               labels: ["concise": 1], objectives: objectives)
        Self.expectSameBytes(try await store.preference(id: pair.id), pair)
        await #expect(throws: FeedbackError.duplicatePair(existingID: pair.id)) {
            try await store.addFeedback(prompt: "Spell café.", chosen: "cafe\u{301}", rejected: "caf\u{E9}",
                                        labels: ["concise": 1], objectives: self.objectives)
        }
    }

    @Test(arguments: Backend.allCases) func userAndNoteKeepNilAndEmptyApart(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let cases: [(String?, String?)] = [(nil, nil), ("", ""), ("", nil), (nil, ""), ("\0", "a\0")]
        for (index, (user, note)) in cases.enumerated() {
            let pair = try await store.addFeedback(prompt: "p\(index)", chosen: "a", rejected: "b", labels: ["concise": 1],
                                                   objectives: objectives, user: user, note: note)
            let read = try #require(try await store.preference(id: pair.id))
            #expect(read.user == user && read.note == note, "\(index)")
            Self.expectSameBytes(read, pair)
        }
    }

    @Test(arguments: Backend.allCases) func completionsKeepTheirPromptsAndTextsByteForByte(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let records = [
            Fixtures.completion(id: "cmpl-nul-a", prompt: "\0<|im_start|>user\nowls\0?<|im_end|>\n", text: "\0Owls\0 hunt."),
            Fixtures.completion(id: "cmpl-nul-b", prompt: "\0<|im_start|>user\nowls\0?<|im_end|>\n", text: "\0Owls\0 sleep."),
            Fixtures.completion(id: "cmpl-nul-c", prompt: "\0<|im_start|>user\nowls\0!<|im_end|>\n", text: "\0Owls\0 hunt."),
            Fixtures.completion(id: "cmpl-empty", prompt: "", text: ""),
        ]
        try await store.recordCompletions(records)
        for record in records {
            let read = try #require(try await store.completion(id: record.id))
            #expect(read == record.withStoredDate)
            #expect(Array(read.prompt.utf8) == Array(record.prompt.utf8))
            #expect(Array(read.text.utf8) == Array(record.text.utf8))
        }

        // Feedback by ids takes the texts byte for byte, and the prompts must be the same bytes.
        let pair = try await store.addFeedback(chosenID: "cmpl-nul-a", rejectedID: "cmpl-nul-b", labels: ["concise": 1],
                                               objectives: objectives)
        #expect(Array(pair.prompt.utf8) == Array(records[0].prompt.utf8))
        #expect(Array(pair.chosen.utf8) == Array(records[0].text.utf8))
        #expect(Array(pair.rejected.utf8) == Array(records[1].text.utf8))
        Self.expectSameBytes(try await store.preference(id: pair.id), pair)
        await #expect(throws: FeedbackError.differentPrompts(chosenID: "cmpl-nul-a", rejectedID: "cmpl-nul-c")) {
            try await store.addFeedback(chosenID: "cmpl-nul-a", rejectedID: "cmpl-nul-c", labels: ["concise": 1],
                                        objectives: self.objectives)
        }
        await #expect(throws: FeedbackError.duplicatePair(existingID: pair.id)) {
            try await store.addFeedback(prompt: records[0].prompt, chosen: records[1].text, rejected: records[0].text,
                                        labels: ["concise": 1], objectives: self.objectives)
        }
    }

    /// The schema itself keeps the representation: an empty text, identical texts or a NULL text is refused; in
    /// SQLite, whose columns take any type, so is a TEXT value (it would never compare equal to the stored BLOBs).
    @Test(arguments: Backend.allCases) func theSchemaRefusesTextThatIsNotANonEmptyBlob(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let (p, a, b) = (RawSQL.bytes(backend, "70"), RawSQL.bytes(backend, "61"), RawSQL.bytes(backend, "62"))
        var refused = [
            "\(RawSQL.bytes(backend, "")), \(a), \(b)",  // empty
            "\(p), \(a), \(a)",  // identical texts
            "NULL, \(a), \(b)",
        ]
        if backend == .sqlite { refused.append("'p', \(a), \(b)") }
        for values in refused {
            await #expect("\(values)") {
                try await RawSQL.execute(store, """
                    INSERT INTO preference_pair (id, created, prompt, chosen, rejected, labels)
                    VALUES ('fb-raw', '2026-01-01 00:00:00.000', \(values), '{"concise":1}')
                    """)
            } throws: { RawSQL.isConstraintViolation($0) }
        }
        let completionPrompts = backend == .sqlite ? ["'text prompt'", "NULL"] : ["NULL"]
        for prompt in completionPrompts {
            await #expect("\(prompt)") {
                try await RawSQL.execute(store, """
                    INSERT INTO completion (id, created, model, endpoint, prompt, text, prompt_tokens, completion_tokens,
                                            adapters, sampling)
                    VALUES ('cmpl-raw', '2026-01-01 00:00:00.000', 'm', 'chat', \(prompt), \(RawSQL.bytes(backend, "")), 0, 0, '[]', '{}')
                    """)
            } throws: { RawSQL.isConstraintViolation($0) }
        }
        #expect(try await store.feedbackCount() == 0)
        #expect(try await store.completionCount() == 0)
    }
}

extension CompletionRecord {
    /// The record as the store returns it (dates at millisecond precision).
    var withStoredDate: CompletionRecord {
        var record = self
        record.created = created.asStored
        return record
    }
}
