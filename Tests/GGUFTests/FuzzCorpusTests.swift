import Foundation
import GGUF
import Testing

/// The fuzzing corpus of Fuzz/ (docs/FUZZING.md) in the normal test run: the committed seeds must stay files the
/// reader accepts: a seed the reader refuses would only ever exercise its error paths.
@Suite struct FuzzCorpusTests {
    static let fuzz = TestPaths.packageRoot.appendingPathComponent("Fuzz")

    static func files(_ directory: String) throws -> [URL] {
        let url = fuzz.appendingPathComponent(directory)
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test func everySeedIsAValidFile() throws {
        let seeds = try Self.files("Corpus/gguf")
        #expect(seeds.count >= 8, "the seed corpus is missing (python3 Fuzz/make_seeds.py writes it)")
        for seed in seeds {
            // The storage modes must agree on every file (the fuzz target checks the same).
            for storage in [FileStorage.mapped, .resident] {
                #expect(throws: Never.self, "\(seed.lastPathComponent)") { _ = try GGUFFile(path: seed.path, storage: storage) }
            }
        }
        let tiny = try GGUFFile(path: Self.fuzz.appendingPathComponent("Corpus/gguf/tiny-llama.bin").path)
        #expect(try tiny.architecture == "llama")
        #expect(tiny.tensor("token_embd.weight")?.dimensions == [8, 64])
    }
}
