import Foundation
import GGUF
import Model
import Testing

/// LoRA deltas applied unmerged, per row, against the same deltas merged into dense weights.
@Suite(.serialized)
struct LoRATests {
    static let tokens = [3, 14, 15, 9, 26, 5, 35, 8]

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-lora-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func logits(_ model: TransformerModel, adapters: [AdapterTerm]) throws -> [Float] {
        let cache = model.makeCache(capacity: tokens.count)
        var batch = ForwardBatch()
        batch.append(sequence: 0, tokens: tokens, startingAt: 0, logitsForLast: false, adapters: adapters)
        batch.logitRows = Array(tokens.indices)
        return try model.forward(batch, caches: [cache])
    }

    /// An adapter on every projection with random A and B.
    static func randomAdapter(_ config: ModelConfig, rank: Int, alpha: Float, seed: UInt64) -> LoRAAdapter {
        let adapter = LoRAAdapter.initialised(config: config, rank: rank, alpha: alpha,
                                              projections: Projection.allCases, seed: seed)
        var rng = SplitMix(seed: seed ^ 0xABCD)
        for (_, m) in adapter.orderedMatrices {
            for i in 0..<(m.outputs * m.rank) { m.b[i] = rng.gaussian() * 0.05 }
        }
        return adapter
    }

    /// Copies `file` with W + Σ scale·(α/r)·B·A written into each targeted F32 weight.
    static func writeMerged(_ file: GGUFFile, terms: [AdapterTerm], to path: String) throws {
        var writer = GGUFWriter()
        for key in file.metadataKeys { writer.setValue(key, file.metadata[key]!) }
        for t in file.tensors {
            var floats = Array(UnsafeBufferPointer(start: file.data(for: t).assumingMemoryBound(to: Float.self),
                                                   count: t.elementCount))
            for term in terms {
                for (target, m) in term.adapter.matrices where target.tensorName == t.name {
                    let s = term.scale * term.adapter.scaling
                    for o in 0..<m.outputs {
                        for i in 0..<m.inputs {
                            var delta: Float = 0
                            for k in 0..<m.rank { delta += m.b[o * m.rank + k] * m.a[k * m.inputs + i] }
                            floats[o * m.inputs + i] += s * delta
                        }
                    }
                }
            }
            try writer.addTensor(name: t.name, dimensions: t.dimensions, floats: floats)
        }
        try writer.write(to: path)
    }

    @Test(arguments: TinyModelTests.shapes.map(\.architecture.rawValue))
    func zeroBGivesExactlyTheBaseModel(architecture: String) throws {
        let shape = try #require(TinyModelTests.shapes.first { $0.architecture.rawValue == architecture })
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try TransformerModel(path: TinyModelTests.write(shape, seed: 3, to: dir), threads: 2)
        let fresh = LoRAAdapter.initialised(config: model.config, rank: 8, alpha: 16,
                                            projections: Projection.allCases, seed: 1)
        #expect(try Self.logits(model, adapters: [AdapterTerm(adapter: fresh, scale: 1)]) == Self.logits(model, adapters: []))
    }

    @Test(arguments: TinyModelTests.shapes.map(\.architecture.rawValue))
    func mixtureMatchesMergedDenseWeights(architecture: String) throws {
        let shape = try #require(TinyModelTests.shapes.first { $0.architecture.rawValue == architecture })
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try TransformerModel(path: TinyModelTests.write(shape, seed: 4, to: dir), threads: 2)
        let terms = [AdapterTerm(adapter: Self.randomAdapter(model.config, rank: 4, alpha: 8, seed: 11), scale: 0.7),
                     AdapterTerm(adapter: Self.randomAdapter(model.config, rank: 8, alpha: 8, seed: 12), scale: 0.3)]
        let mergedPath = dir.appendingPathComponent("merged.gguf").path
        try Self.writeMerged(model.file, terms: terms, to: mergedPath)
        let merged = try TransformerModel(path: mergedPath, threads: 2)

        let unmerged = try Self.logits(model, adapters: terms)
        let dense = try Self.logits(merged, adapters: [])
        let base = try Self.logits(model, adapters: [])
        let scale = dense.map(abs).max() ?? 1
        let worst = zip(unmerged, dense).map { abs($0 - $1) }.max() ?? 0
        let effect = zip(base, dense).map { abs($0 - $1) }.max() ?? 0
        print("tiny \(architecture): unmerged vs merged max |Δ| = \(worst) (adapter effect \(effect), scale \(scale))")
        #expect(effect > 100 * worst, "the adapters must change the logits far more than the float noise")
        // Float tolerance of the whole forward pass: the F16 KV cache rounds keys and values, and a value that the
        // two summation orders put on either side of an F16 rounding boundary moves by an F16 ulp (2^-10 relative),
        // which later layers carry to the logits. Seen: up to 6e-4 · scale (tiny gemma3), so two F16 ulps.
        #expect(worst <= 2e-3 * scale)
    }

    /// The registry serves 8-bit copies of A and B: the logits stay within their rounding of the F32 adapter's.
    @Test(arguments: TinyModelTests.shapes.map(\.architecture.rawValue))
    func serving8BitCopiesMatchesF32(architecture: String) throws {
        let shape = try #require(TinyModelTests.shapes.first { $0.architecture.rawValue == architecture })
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try TransformerModel(path: TinyModelTests.write(shape, seed: 6, to: dir), threads: 2)
        let adapter = Self.randomAdapter(model.config, rank: 8, alpha: 8, seed: 13)
        let base = try Self.logits(model, adapters: [])
        let full = try Self.logits(model, adapters: [AdapterTerm(adapter: adapter, scale: 1)])
        adapter.prepareForServing()
        // The tiny models' inputs of 32 get 8-bit copies; inputs of 48 (ffn_down) stay F32.
        #expect(adapter.matrices.values.contains { $0.servedA != nil && $0.servedB != nil })
        #expect(adapter.matrices.values.allSatisfy { ($0.servedA != nil) == ($0.inputs % 32 == 0) })
        let served = try Self.logits(model, adapters: [AdapterTerm(adapter: adapter, scale: 1)])
        let scale = full.map(abs).max() ?? 1
        let worst = zip(full, served).map { abs($0 - $1) }.max() ?? 0
        let effect = zip(base, full).map { abs($0 - $1) }.max() ?? 0
        print("tiny \(architecture): 8-bit adapter vs F32 max |Δ| = \(worst) (adapter effect \(effect))")
        #expect(served != full, "the forward pass must read the 8-bit copies")
        #expect(worst <= 1e-2 * scale)
        #expect(effect > 10 * worst)
    }

    /// The serving copies of an adapter lie in one region, in the order a forward pass reads them: by layer, then
    /// projection, each matrix's A, B and B's scales one after another.
    @Test func servingCopiesAreOneRegionInReadingOrder() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try TransformerModel(path: TinyModelTests.write(TinyModelTests.shapes[0], seed: 7, to: dir), threads: 2)
        let adapter = Self.randomAdapter(model.config, rank: 8, alpha: 8, seed: 17)
        #expect(adapter.servingRegion == nil)
        adapter.prepareForServing()
        let region = try #require(adapter.servingRegion)
        var previous = -1
        var count = 0
        for (_, m) in adapter.orderedMatrices where m.servedA != nil {
            let a = UnsafeRawPointer(m.servedA!) - UnsafeRawPointer(region.base)
            let b = UnsafeRawPointer(m.servedB!) - UnsafeRawPointer(region.base)
            let scales = UnsafeRawPointer(m.servedBScales!) - UnsafeRawPointer(region.base)
            #expect(previous < a && a < b && b < scales && scales < region.used)
            previous = scales
            count += 1
        }
        #expect(count > 0)
        adapter.prepareForServing()   // a second call changes nothing
        #expect(adapter.servingRegion === region)
    }

    @Test func rowsWithDifferentMixturesShareOnePass() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try TransformerModel(path: TinyModelTests.write(TinyModelTests.shapes[0], seed: 5, to: dir), threads: 2)
        let a = Self.randomAdapter(model.config, rank: 4, alpha: 4, seed: 21)
        let b = Self.randomAdapter(model.config, rank: 4, alpha: 4, seed: 22)
        let mixtures: [[AdapterTerm]] = [[], [AdapterTerm(adapter: a, scale: 1)],
                                         [AdapterTerm(adapter: a, scale: 0.5), AdapterTerm(adapter: b, scale: 0.5)],
                                         [AdapterTerm(adapter: b, scale: 1)],
                                         // The same two adapters listed the other way round, and one adapter twice.
                                         [AdapterTerm(adapter: b, scale: 0.25), AdapterTerm(adapter: a, scale: 0.75)],
                                         [AdapterTerm(adapter: a, scale: 0.5), AdapterTerm(adapter: a, scale: 0.25)]]
        let alone = try mixtures.map { try Self.logits(model, adapters: $0) }
        // All four sequences in one batch: each keeps its own mixture.
        let caches = mixtures.map { _ in model.makeCache(capacity: Self.tokens.count) }
        var batch = ForwardBatch()
        for (i, m) in mixtures.enumerated() {
            batch.append(sequence: i, tokens: Self.tokens, startingAt: 0, logitsForLast: false, adapters: m)
        }
        batch.logitRows = Array(0..<batch.count)
        let together = try model.forward(batch, caches: caches)
        let vocab = model.config.vocabularySize, n = Self.tokens.count
        for i in mixtures.indices {
            let slice = Array(together[(i * n * vocab)..<((i + 1) * n * vocab)])
            #expect(slice == alone[i], "sequence \(i)")
        }
        #expect(alone[1] != alone[0] && alone[2] != alone[1] && alone[3] != alone[2])
    }
}
