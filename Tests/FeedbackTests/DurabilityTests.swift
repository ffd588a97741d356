import Foundation
import GRDB
import Testing
@testable import Feedback
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Kill -9 while the store is open: a child process (this test binary again, running only
/// `childWritesThenKillsItself`) writes through a `FeedbackStore` and sends itself SIGKILL with its
/// commits still in the WAL; the parent reopens the file and finds every committed row.
@Suite struct DurabilityTests {
    static let childStoreVariable = "RACONTEUR_FEEDBACK_CHILD_STORE"
    static let pairsWritten = 50

    @Test func committedRowsSurviveKill9() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("feedback.sqlite")

        let child = Process()
        child.executableURL = URL(fileURLWithPath: try Self.testExecutable())
        child.arguments = ["--testing-library", "swift-testing", "--filter", "childWritesThenKillsItself"]
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childStoreVariable] = path
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        child.standardError = output
        try child.run()
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()

        #expect(child.terminationReason == .uncaughtSignal, "child log:\n\(log)")
        #expect(child.terminationStatus == SIGKILL)
        #expect(log.contains("committed \(Self.pairsWritten) pairs"))
        // The commits were never checkpointed: the main file alone (copied without its WAL) lacks them,
        // so what follows proves that reopening replays the WAL a killed writer left behind.
        let mainFileOnly = directory.path("main-file-only.sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: mainFileOnly)
        let pairsInMainFile = try await DatabaseQueue(path: mainFileOnly).read { db in
            try db.tableExists("preference_pair") ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM preference_pair") ?? 0 : 0
        }
        #expect(pairsInMainFile < Self.pairsWritten)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))

        let reopened = try FeedbackStore(path: path)
        #expect(try await reopened.feedbackCount() == Self.pairsWritten)
        #expect(try await reopened.allPreferences().map(\.prompt) == (0..<Self.pairsWritten).map { "prompt \($0)" })
        #expect(try await reopened.completion(id: "cmpl-a")?.text == "Owls hunt at night.")
        #expect(try await reopened.failInterruptedJobs().count == 1)
        #expect(try await reopened.jobs(limit: 1).first?.error == FeedbackStore.interruptedJobMessage)
    }

    /// Does nothing unless the parent test started this process.
    @Test func childWritesThenKillsItself() async throws {
        guard let path = ProcessInfo.processInfo.environment[Self.childStoreVariable] else { return }
        let store = try FeedbackStore(path: path)
        try await store.recordCompletions([Fixtures.completion(id: "cmpl-a", text: "Owls hunt at night."),
                                           Fixtures.completion(id: "cmpl-b", text: "Owls are birds.")])
        for index in 0..<Self.pairsWritten { _ = try await Fixtures.addTextPair(store, index) }
        let job = try await store.createJob(request: .object(["method": .string("raco")]))
        try await store.markRunning(job.id)
        print("committed \(Self.pairsWritten) pairs")
        fflush(stdout)
        kill(getpid(), SIGKILL)
    }

    static func testExecutable() throws -> String {
        #if os(Linux)
        return try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        #else
        return ProcessInfo.processInfo.arguments[0]
        #endif
    }
}
