import Foundation
import Testing
@testable import Server

/// The store records each adapter file's SHA-256, hashed in chunks from the file: FIPS 180-4's test vectors (in
/// chunks smaller than a 64-byte block and across the padding boundaries), and a multi-chunk file against `sha256sum`.
struct SHA256Tests {
    private static func withFile<T>(_ bytes: Data, _ body: (String) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-sha256-\(UUID().uuidString)")
        try bytes.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ], [1, 7, 64, 1 << 20])
    func knownDigests(vector: (message: String, digest: String), chunkSize: Int) throws {
        #expect(try Self.withFile(Data(vector.message.utf8)) { try FileDigest.sha256Hex(path: $0, chunkSize: chunkSize) }
                == vector.digest)
    }

    @Test func oneMillionAsInChunks() throws {
        let digest = try Self.withFile(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)) {
            try FileDigest.sha256Hex(path: $0, chunkSize: 4096)
        }
        #expect(digest == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// A file of several default-sized chunks plus a ragged tail, against coreutils' `sha256sum`.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum"), "needs /usr/bin/sha256sum"))
    func multiChunkFileMatchesSha256sum() throws {
        var generator = SystemRandomNumberGenerator()
        let words = (0..<((3 << 20) + 12_345) / 8).map { _ in generator.next() }
        let bytes = words.withUnsafeBytes { Data($0) } + Data("ragged".utf8)
        try Self.withFile(bytes) { path in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            process.arguments = [path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let reference = String(output.prefix { $0 != " " })
            #expect(reference.count == 64)
            #expect(try FileDigest.sha256Hex(path: path) == reference)
        }
    }
}
