import Foundation
import GRDB
import Testing
@testable import Feedback
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Kill -9 while the store is open: a child process writes through a `FeedbackStore` and sends itself
/// SIGKILL with its commits still in the WAL; the parent reopens the file and finds every committed row.
///
/// The child is this test binary again, started with a filter that selects this same test and with
/// `RACONTEUR_FEEDBACK_CHILD_STORE` naming the store; that variable switches the test into the child's
/// role. So a test run counts exactly one test here, and it always does the whole check. (A separate
/// helper test for the child would either pass without doing anything in every ordinary run or, marked
/// `.enabled(if:)` on the variable, be reported as skipped in every ordinary run, which CI refuses.)
@Suite struct DurabilityTests {
    static let childStoreVariable = "RACONTEUR_FEEDBACK_CHILD_STORE"
    static let pairsWritten = 50

    @Test func committedRowsSurviveKill9() async throws {
        if let path = ProcessInfo.processInfo.environment[Self.childStoreVariable] {
            try await Self.writeThenKillItself(storePath: path)
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("feedback.sqlite")

        let child = Process()
        child.executableURL = URL(fileURLWithPath: try Self.testExecutable())
        child.arguments = ["--testing-library", "swift-testing", "--filter", "DurabilityTests/committedRowsSurviveKill9"]
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

    /// The child's role: commits completions, pairs and a running job, says so, and dies by SIGKILL.
    static func writeThenKillItself(storePath path: String) async throws -> Never {
        let store = try FeedbackStore(path: path)
        try await store.recordCompletions([Fixtures.completion(id: "cmpl-a", text: "Owls hunt at night."),
                                           Fixtures.completion(id: "cmpl-b", text: "Owls are birds.")])
        for index in 0..<Self.pairsWritten { _ = try await Fixtures.addTextPair(store, index) }
        let job = try await store.createJob(request: .object(["method": .string("raco")]))
        try await store.markRunning(job.id)
        print("committed \(Self.pairsWritten) pairs")
        fflush(stdout)
        kill(getpid(), SIGKILL)
        fatalError("SIGKILL did not stop the process")
    }

    static func testExecutable() throws -> String {
        #if os(Linux)
        return try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        #else
        return ProcessInfo.processInfo.arguments[0]
        #endif
    }
}
