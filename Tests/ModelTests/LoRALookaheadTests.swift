import Kernels
@testable import Model
import Testing

/// What a LoRA product asks to bring into cache while its base rows run: the B blocks (and scales) its epilogue
/// reads for those rows, and, in the product before an input group, shares of that group's A that together cover
/// it exactly once.
struct LoRALookaheadTests {
    @Test func nextGroupFollowsTheBlocksOrder() {
        func next(_ p: Projection, _ layer: Int) -> String? {
            LoRABatchPlan.nextGroup(after: p, layer: layer, layerCount: 3).map { "\($0.layer):\($0.projections)" }
        }
        #expect(next(.query, 0) == nil && next(.key, 0) == nil && next(.gate, 1) == nil)
        #expect(next(.value, 0) == "0:3...3")
        #expect(next(.output, 1) == "1:4...5")
        #expect(next(.up, 1) == "1:6...6")
        #expect(next(.down, 1) == "2:0...2")
        #expect(next(.down, 2) == nil)
    }

    @Test func spansCoverTheEpiloguesBAndTheNextGroupsA() throws {
        let config = try LoadedModel.smolLM2.get().model.config
        let adapters = (0..<2).map { seed -> LoRAAdapter in
            let adapter = LoRAAdapter.initialised(config: config, rank: 8, alpha: 8, projections: Projection.allCases,
                                                  seed: UInt64(seed + 1))
            adapter.prepareForServing()
            return adapter
        }
        var batch = ForwardBatch()
        batch.append(sequence: 0, tokens: [1], startingAt: 0, logitsForLast: true,
                     adapters: adapters.map { AdapterTerm(adapter: $0, scale: 0.5) })
        let plan = try #require(LoRABatchPlan(batch))
        let ordered = adapters.sorted { $0.serial < $1.serial }
        func spans(_ ahead: Lookahead) -> [Range<Int>] {
            (0..<ahead.spanCount).map { ahead.span($0) }.map { $0.start..<$0.end }
        }
        func bytes(_ p: UnsafeRawPointer, _ count: Int) -> Range<Int> { Int(bitPattern: p)..<(Int(bitPattern: p) + count) }
        /// Adjacent ranges joined.
        func merged(_ ranges: [Range<Int>]) -> [Range<Int>] {
            ranges.reduce(into: []) { out, r in
                if let last = out.last, last.upperBound == r.lowerBound { out[out.count - 1] = last.lowerBound..<r.upperBound }
                else { out.append(r) }
            }
        }
        // Query (nothing follows it but key): B and its scales for outputs 64..<128, per adapter.
        var ahead = Lookahead()
        plan.lookahead(layer: 1, projection: .query, columns: 64..<128, share: .init(index: 0, count: 2), into: &ahead)
        var expected: [Range<Int>] = []
        for adapter in ordered {
            let m = adapter.projection(layer: 1, Projection.query.index)
            expected.append(bytes(UnsafeRawPointer(m.servedB! + 2 * 8 * 32), 2 * 8 * 32))
            expected.append(bytes(UnsafeRawPointer(m.servedBScales! + 2 * 8), 2 * 8 * 4))
        }
        #expect(spans(ahead) == expected)

        // Down (the next layer's q, k and v follow): the two shares' A spans tile all of that group's A once.
        var covered: [Range<Int>] = []
        for index in 0..<2 {
            var ahead = Lookahead()
            plan.lookahead(layer: 1, projection: .down, columns: 0..<32, share: .init(index: index, count: 2), into: &ahead)
            covered += spans(ahead).dropFirst(4)   // after B and scales of two adapters
        }
        var whole: [Range<Int>] = []
        for adapter in ordered {
            for p in [Projection.query, .key, .value] {
                let m = adapter.projection(layer: 2, p.index)
                whole.append(bytes(m.servedA!, 8 * LowRank.q8_0RowBytes(m.inputs)))
            }
        }
        // In order, share 0 then share 1, the pieces join into exactly the group's A matrices.
        #expect(merged(covered) == merged(whole))
    }
}
