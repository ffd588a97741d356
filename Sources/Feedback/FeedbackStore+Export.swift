import Foundation

extension FeedbackStore {
    /// Rows per read while exporting: bounds memory and lets writers in between pages.
    public static let exportPageSize = 500

    /// Every pair as JSON lines, `{"chosen","labels","prompt","rejected"}` one per line, each line ending in
    /// "\n", in insertion order: the file `raconteur align --data` reads.
    public func exportJSONL() async throws -> Data {
        var output = Data()
        for try await chunk in exportJSONLChunks() { output.append(chunk) }
        return output
    }

    /// Writes the export to `handle` page by page.
    public func exportJSONL(to handle: FileHandle) async throws {
        for try await chunk in exportJSONLChunks() { try handle.write(contentsOf: chunk) }
    }

    /// The export as a stream of chunks, one per page of `pageSize` pairs (for a streamed HTTP body).
    /// Pairs added while it runs are included if they land after the current page.
    public func exportJSONLChunks(pageSize: Int = FeedbackStore.exportPageSize) -> AsyncThrowingStream<Data, any Error> {
        let pageSize = min(max(pageSize, Self.pageSizes.lowerBound), Self.pageSizes.upperBound)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var cursor: String?
                    repeat {
                        let page = try await self.feedback(after: cursor, limit: pageSize)
                        var chunk = Data()
                        for pair in page.pairs {
                            chunk.append(try pair.exportLine())
                            chunk.append(UInt8(ascii: "\n"))
                        }
                        if !chunk.isEmpty { continuation.yield(chunk) }
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
