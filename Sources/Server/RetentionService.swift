import Feedback
import Foundation
import Logging
import ServiceLifecycle

/// `[store] keep_days`: deletes the completions that have no feedback once they are older than the limit, at start
/// and then every `interval` while the server runs (docs/PRIVACY.md).
struct RetentionService: Service {
    let store: FeedbackStore
    let keepDays: Int
    let logger: Logger
    var interval: Duration = .seconds(3600)

    /// One pass: what `now` makes older than the limit goes.
    static func sweep(_ store: FeedbackStore, keepDays: Int, now: Date) async throws -> Int {
        try await store.deleteCompletionsWithoutFeedback(createdBefore: now.addingTimeInterval(-Double(keepDays) * 86_400))
    }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let deleted = try await Self.sweep(store, keepDays: keepDays, now: Date())
                if deleted > 0 { logger.info("retention: deleted \(deleted) completion(s) with no feedback older than \(keepDays) day(s)") }
            } catch {
                logger.error("retention: could not delete old completions: \(error)")
            }
            // The wait ends at once when the server shuts down (a graceful shutdown does not cancel a plain sleep).
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
