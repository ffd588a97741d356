import Adapters
import Testing

/// Adapter metadata is checked before anything is computed from it: a repeated objective trapped the trade-off
/// resolver, a huge version overflowed the registry's counter.
struct MetadataValidationTests {
    @Test(arguments: ["concise", "detailed-2", "a_b", String(repeating: "x", count: 64)])
    func validObjectiveNames(_ name: String) {
        #expect(ObjectiveName.isValid(name))
    }

    @Test(arguments: ["", "con cise", "naïve", "a\u{0}b", "a/b", "a.b", String(repeating: "x", count: 65)])
    func invalidObjectiveNames(_ name: String) {
        #expect(!ObjectiveName.isValid(name))
    }

    @Test func aListWithARepeatedNameIsRefused() {
        #expect(ObjectiveName.problem(with: ["concise", "concise", "detailed"])?.contains("listed twice") == true)
        #expect(ObjectiveName.problem(with: []) != nil)
        #expect(ObjectiveName.problem(with: ["concise", "detailed"]) == nil)
    }

    @Test(arguments: [
        AdapterMetadata(objectives: ["concise", "concise", "detailed"], weights: [1, 0, 0]),
        AdapterMetadata(objectives: ["concise", "detailed"], weights: [1]),
        AdapterMetadata(objectives: ["concise", "detailed"], weights: [.nan, 1]),
        AdapterMetadata(objectives: ["concise", "detailed"], weights: [-1, 2]),
        AdapterMetadata(objectives: ["concise", "detailed"], weights: [0, 0]),
        AdapterMetadata(objectives: ["concise", "detailed"], weights: [1e308, 1e308]),
        AdapterMetadata(objectives: [], weights: [1]),
        AdapterMetadata(version: 0),
        AdapterMetadata(version: Int.max),
        AdapterMetadata(version: AdapterMetadata.maxVersion + 1),
        AdapterMetadata(method: String(repeating: "m", count: 200)),
        AdapterMetadata(baseFingerprint: "abc\u{0}"),
    ])
    func invalidMetadataIsRefused(_ metadata: AdapterMetadata) {
        #expect(throws: AdapterError.self) { try metadata.validate() }
    }

    @Test func validMetadataPasses() throws {
        try AdapterMetadata().validate()
        try AdapterMetadata(objectives: ["concise", "detailed"], weights: [0.25, 0.75], method: "raco",
                            version: AdapterMetadata.maxVersion).validate()
    }

    @Test func theRegistryRefusesWhatTheFileReaderRefuses() throws {
        let registry = AdapterRegistry(config: tinyConfig)
        #expect(throws: AdapterError.self) {
            try registry.register(name: "a", adapter: filledAdapter(), metadata: AdapterMetadata(version: Int.max))
        }
        #expect(registry.get("a") == nil)
    }

    @Test func aTradeoffWhoseSumOverflowsIsRefused() throws {
        let resolver = TradeoffResolver(objectives: ["concise", "detailed"])
        #expect(throws: AdapterError.self) { try resolver.normalise(["concise": 1e308, "detailed": 1e308]) }
        #expect(throws: AdapterError.self) { try resolver.normalise(["concise": .infinity]) }
        #expect(try resolver.normalise(["concise": 1e307, "detailed": 3e307]) == [0.25, 0.75])
    }
}
