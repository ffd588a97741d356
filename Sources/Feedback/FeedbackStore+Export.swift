import Foundation

/// One page of the export: its JSON lines, and the page's rows that could not be read and are not among them.
public struct ExportChunk: Sendable, Equatable {
    public var lines: Data
    public var skipped: [SkippedRow]
}

/// The whole export in memory: every readable pair's line, and the rows left out.
public struct FeedbackExport: Sendable, Equatable {
    public var data: Data
    public var skipped: [SkippedRow]
}

extension FeedbackStore {
    /// Rows per read while exporting: bounds memory and lets writers in between pages.
    public static let exportPageSize = 500
}

/// One export for every backend: it reads through `feedback(after:limit:matching:)`, so it pages as listings do.
extension FeedbackStorage {
    /// Every pair as JSON lines, `{"chosen","labels","prompt","rejected"}` one per line, each line ending in
    /// "\n", in insertion order: the file `raconteur align --data` reads. A row that cannot be read (see
    /// `feedback(after:limit:)`) is left out, never cut short or half written, and listed in `skipped` for the
    /// caller to report; every other row is exported in full.
    public func exportJSONL() async throws -> FeedbackExport {
        var export = FeedbackExport(data: Data(), skipped: [])
        for try await chunk in exportJSONLChunks() {
            export.data.append(chunk.lines)
            export.skipped += chunk.skipped
        }
        return export
    }

    /// Writes the export to `handle` page by page; returns the rows it left out.
    public func exportJSONL(to handle: FileHandle) async throws -> [SkippedRow] {
        var skipped: [SkippedRow] = []
        for try await chunk in exportJSONLChunks() {
            try handle.write(contentsOf: chunk.lines)
            skipped += chunk.skipped
        }
        return skipped
    }

    /// The export as a stream of chunks, one per page of `pageSize` rows (for a streamed HTTP body); a page whose
    /// rows were all skipped is a chunk with no lines. Pairs added while it runs are included if they land after
    /// the current page.
    public func exportJSONLChunks(pageSize: Int = FeedbackStore.exportPageSize) -> AsyncThrowingStream<ExportChunk, any Error> {
        let pageSize = min(max(pageSize, FeedbackStore.pageSizes.lowerBound), FeedbackStore.pageSizes.upperBound)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var cursor: String?
                    repeat {
                        let page = try await self.feedback(after: cursor, limit: pageSize, matching: FeedbackFilter())
                        var lines = Data()
                        for pair in page.pairs {
                            lines.append(try pair.exportLine())
                            lines.append(UInt8(ascii: "\n"))
                        }
                        if !lines.isEmpty || !page.skipped.isEmpty {
                            continuation.yield(ExportChunk(lines: lines, skipped: page.skipped))
                        }
                        cursor = page.nextCursor
                    } while cursor != nil && !Task.isCancelled
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
