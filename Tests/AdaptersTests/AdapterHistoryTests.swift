import Adapters
import Foundation
import Model
import Testing

/// The history folder of promoted versions (`AdapterHistory`) and the registry's explicit versions, reads and swaps.
struct AdapterHistoryTests {
    func directory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-history-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func adapterFile(in dir: String, _ name: String, seed: UInt64) throws -> String {
        let path = dir + "/" + name
        try AdapterFile.write(filledAdapter(seed: seed), metadata: AdapterMetadata(), architecture: "llama", to: path)
        return path
    }

    @Test func keptVersionsAreCopiesUnderAHiddenFolderPerName() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let history = try AdapterHistory(directory: dir, keepVersions: 3)
        let source = try adapterFile(in: dir, "a.gguf", seed: 1)
        let kept = try history.keep(source, name: "a", version: 1)
        #expect(kept == dir + "/.history/a/v1.gguf")
        #expect(try history.existingFile(name: "a", version: 1) == kept)
        #expect(FileManager.default.contents(atPath: kept) == FileManager.default.contents(atPath: source))
        // A copy: rewriting the served file leaves the kept version as it was.
        let before = FileManager.default.contents(atPath: kept)
        _ = try adapterFile(in: dir, "a.gguf", seed: 2)
        #expect(FileManager.default.contents(atPath: kept) == before)
        // The adapters directory's own listing is unchanged: the history is no `*.gguf` there.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".gguf") } == ["a.gguf"])
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/.history/a") == ["v1.gguf"])

        try history.remove(name: "a", version: 1)
        #expect(throws: AdapterHistoryError.missing(kept)) { try history.existingFile(name: "a", version: 1) }
        try history.remove(name: "a", version: 1)   // already gone: not an error
    }

    @Test func symbolicLinksAreNeverFollowed() throws {
        let dir = try directory(), elsewhere = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: elsewhere) }
        let history = try AdapterHistory(directory: dir)
        let source = try adapterFile(in: dir, "a.gguf", seed: 1)
        // The history folder itself a link to another directory: neither written through nor read through.
        try FileManager.default.createSymbolicLink(atPath: dir + "/.history", withDestinationPath: elsewhere)
        #expect(throws: AdapterHistoryError.notContained(dir + "/.history")) { try history.keep(source, name: "a", version: 1) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty)
        try FileManager.default.removeItem(atPath: dir + "/.history")

        // A version file that is a link to a file outside: not served.
        try history.keep(source, name: "a", version: 1)
        let outside = try adapterFile(in: elsewhere, "x.gguf", seed: 3)
        try FileManager.default.createSymbolicLink(atPath: dir + "/.history/a/v2.gguf", withDestinationPath: outside)
        #expect(throws: AdapterHistoryError.notContained(dir + "/.history/a/v2.gguf")) { try history.existingFile(name: "a", version: 2) }
        // A name's folder that is a link: refused too.
        try FileManager.default.createSymbolicLink(atPath: dir + "/.history/b", withDestinationPath: elsewhere)
        #expect(throws: AdapterHistoryError.notContained(dir + "/.history/b")) { try history.keep(source, name: "b", version: 1) }
        #expect(throws: AdapterHistoryError.notContained(dir + "/.history/b")) { try history.remove(name: "b", version: 1) }
        #expect(FileManager.default.fileExists(atPath: outside))
    }

    @Test func namesAndNumbersThatWouldLeaveTheFolderAreRefused() throws {
        let history = try AdapterHistory(directory: "/tmp/unused")
        for name in [".", "..", "a/b", ""] {
            #expect(throws: AdapterHistoryError.invalidName(name)) { try history.folder(for: name) }
        }
        for version in [0, -1, AdapterMetadata.maxVersion + 1] {
            #expect(throws: AdapterHistoryError.versionOutOfRange(version)) { try history.path(name: "a", version: version) }
        }
        for keep in [0, -3, AdapterHistory.keepRange.upperBound + 1] {
            #expect(throws: (any Error).self) { try AdapterHistory(directory: "/tmp/unused", keepVersions: keep) }
        }
    }

    @Test func pruningDropsTheOldestButNeverTheServedVersion() {
        #expect(AdapterHistory.versionsToPrune([1, 2, 3], active: 3, keep: 3) == [])
        #expect(AdapterHistory.versionsToPrune([1, 2, 3, 4, 5], active: 5, keep: 2) == [1, 2, 3])
        // Rolled back to 1: it stays, beside the newest two.
        #expect(AdapterHistory.versionsToPrune([1, 2, 3, 4, 5], active: 1, keep: 2) == [2, 3])
        #expect(AdapterHistory.versionsToPrune([5, 1, 4, 2, 3], active: nil, keep: 1) == [1, 2, 3, 4])
        #expect(AdapterHistory.versionsToPrune([], active: nil, keep: 1) == [])
    }
}

struct RegistryVersionTests {
    @Test func explicitVersionsRollBackAndReadsDoNotServe() throws {
        let registry = AdapterRegistry(config: tinyConfig)
        let v7 = try registry.register(name: "a", adapter: filledAdapter(seed: 1), metadata: AdapterMetadata(), version: 7)
        #expect(v7.version == 7 && registry.get("a")?.version == 7)
        let v8 = try registry.register(name: "a", adapter: filledAdapter(seed: 2), metadata: AdapterMetadata(version: 3), version: 8)
        #expect(v8.version == 8)

        let path = temporaryPath("old.gguf")
        try AdapterFile.write(filledAdapter(seed: 1), metadata: AdapterMetadata(), architecture: "llama", to: path)
        let old = try registry.read(name: "a", path: path, version: 7)
        #expect(old.version == 7 && registry.get("a")?.version == 8, "reading a version does not serve it")

        let replaced = registry.serve(old)
        #expect(replaced?.version == 8 && registry.get("a")?.version == 7)
        #expect(v8.adapter.rank == 4, "the replaced version stays usable by the requests that hold it")
        // Numbering without an explicit version continues after the highest ever served.
        #expect(try registry.register(name: "a", adapter: filledAdapter(), metadata: AdapterMetadata()).version == 9)
        #expect(throws: AdapterError.self) {
            try registry.register(name: "a", adapter: filledAdapter(), metadata: AdapterMetadata(), version: 0)
        }
        #expect(throws: AdapterError.self) { try registry.read(name: "a", path: path, version: AdapterMetadata.maxVersion + 1) }
    }
}
