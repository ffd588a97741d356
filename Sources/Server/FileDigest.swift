import Crypto
import Foundation

/// SHA-256 of a file, for the store's record of which adapter file a version was.
public enum FileDigest {
    /// Lower-case hex SHA-256 of the file at `path`, read `chunkSize` bytes at a time so memory stays flat
    /// whatever the file's size (swift-crypto's `HashFunction.update(data:)` takes the message in parts).
    public static func sha256Hex(path: String, chunkSize: Int = 1 << 20) throws -> String {
        precondition(chunkSize > 0)
        let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? file.close() }
        var hasher = SHA256()
        while let chunk = try file.read(upToCount: chunkSize), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
