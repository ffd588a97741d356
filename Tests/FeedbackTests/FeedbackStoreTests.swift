import Foundation
import Testing
@testable import Feedback

@Suite struct FeedbackStoreTests {
    @Test func opensAStoreInWALMode() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try FeedbackStore(path: path)
        let mode = try store.database.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }
}
