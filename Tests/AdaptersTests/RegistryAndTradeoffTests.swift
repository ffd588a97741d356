import Adapters
import Model
import Testing

struct AdapterRegistryTests {
    @Test func replacingANameMakesANewVersionAndKeepsTheOldOneAlive() throws {
        let registry = AdapterRegistry(config: tinyConfig)
        let v1 = try registry.register(name: "concise", adapter: filledAdapter(seed: 1), metadata: AdapterMetadata())
        let pinned = try #require(registry.get("concise"))
        let v2 = try registry.register(name: "concise", adapter: filledAdapter(seed: 2), metadata: AdapterMetadata())
        #expect(v1.version == 1 && v2.version == 2)
        #expect(registry.get("concise")?.version == 2)
        #expect(pinned.version == 1 && pinned.adapter === v1.adapter, "a pinned version is immutable")
        #expect(v2.reference == "concise@2")
    }

    @Test func unloadingForgetsTheNameButNotItsVersionCounter() throws {
        let registry = AdapterRegistry(config: tinyConfig)
        try registry.register(name: "a", adapter: filledAdapter(), metadata: AdapterMetadata())
        try registry.unload("a")
        #expect(registry.get("a") == nil)
        #expect(throws: AdapterError.notFound("a")) { try registry.unload("a") }
        #expect(try registry.register(name: "a", adapter: filledAdapter(), metadata: AdapterMetadata()).version == 2)
    }

    /// A file's own version (a realignment job numbers its files durably) is served as such after a restart;
    /// versions of a name never go backwards within a process.
    @Test func aFilesVersionIsServedWhenItIsAhead() throws {
        let registry = AdapterRegistry(config: tinyConfig)
        #expect(try registry.register(name: "c", adapter: filledAdapter(), metadata: AdapterMetadata(version: 5)).version == 5)
        #expect(try registry.register(name: "c", adapter: filledAdapter(), metadata: AdapterMetadata(version: 1)).version == 6)
        #expect(try registry.register(name: "c", adapter: filledAdapter(), metadata: AdapterMetadata(version: 6)).version == 7)
        #expect(try registry.register(name: "c", adapter: filledAdapter(), metadata: AdapterMetadata(version: 9)).version == 9)
    }

    @Test func namesAreValidated() {
        let registry = AdapterRegistry(config: tinyConfig)
        for bad in ["", "a/b", "../x", String(repeating: "x", count: 65), "sp ace"] {
            #expect(throws: AdapterError.invalidName(bad)) {
                try registry.register(name: bad, adapter: filledAdapter(), metadata: AdapterMetadata())
            }
        }
    }

    @Test func loadsAFileAndADirectory() throws {
        let path = temporaryPath("concise.gguf")
        try AdapterFile.write(filledAdapter(), metadata: AdapterMetadata(objectives: ["concise"], weights: [1]),
                              architecture: "llama", to: path)
        let registry = AdapterRegistry(config: tinyConfig)
        #expect(try registry.loadDirectory((path as NSString).deletingLastPathComponent) == ["concise"])
        #expect(registry.get("concise")?.metadata.weights == [1])
    }
}

import Foundation

struct TradeoffResolverTests {
    let resolver = TradeoffResolver(objectives: ["concise", "detailed"])

    func grid(_ points: [Double]) throws -> [AdapterVersion] {
        let registry = AdapterRegistry(config: tinyConfig)
        return try points.map { c in
            try registry.register(name: "grid-\(c)", adapter: filledAdapter(),
                                  metadata: AdapterMetadata(objectives: ["concise", "detailed"], weights: [c, 1 - c]))
        }
    }

    @Test func normalisesToTheSimplex() throws {
        #expect(try resolver.normalise(["concise": 7, "detailed": 3]) == [0.7, 0.3])
        #expect(try resolver.normalise(["detailed": 2]) == [0, 1])
    }

    @Test func rejectsUnknownNegativeAndAllZeroWeights() {
        #expect(throws: AdapterError.unknownObjective("funny")) { try resolver.normalise(["funny": 1]) }
        #expect(throws: AdapterError.self) { try resolver.normalise(["concise": -1, "detailed": 2]) }
        #expect(throws: AdapterError.self) { try resolver.normalise(["concise": 0, "detailed": 0]) }
        #expect(throws: AdapterError.self) { try resolver.normalise(["concise": .nan]) }
    }

    @Test func interpolatesBetweenNeighbouringGridPoints() throws {
        let available = try grid([0, 0.25, 0.5, 0.75, 1])
        let m = try resolver.resolve(["concise": 0.6, "detailed": 0.4], available: available)
        #expect(m.entries.map(\.version.name) == ["grid-0.5", "grid-0.75"])
        #expect(abs(m.entries[0].scale - 0.6) < 1e-12 && abs(m.entries[1].scale - 0.4) < 1e-12)
        let exact = try resolver.resolve(["concise": 1], available: available)
        #expect(exact.entries.map(\.version.name) == ["grid-1.0"] && exact.entries[0].scale == 1)
    }

    @Test func outsideTheGridUsesTheNearestEnd() throws {
        let m = try resolver.resolve(["concise": 0.9, "detailed": 0.1], available: try grid([0.25, 0.75]))
        #expect(m.entries.map(\.version.name) == ["grid-0.75"])
    }

    @Test func withNoGridAdaptersTheBaseModelServes() throws {
        let m = try resolver.resolve(["concise": 0.5, "detailed": 0.5], available: [])
        #expect(m.isBase)
        #expect(m.tradeoff == ["concise": 0.5, "detailed": 0.5])
    }
}
