import Adapters
import Foundation
@testable import Alignment
import Model
import Testing
import Tokenizers

/// The trainer end to end on a tiny random llama: learning, determinism, cancellation, the split, the report, the
/// adapter files. Every test trains a few dozen milliseconds-long steps.
@Suite(.serialized)
struct AlignmentTrainerTests {
    let directory: URL
    let model: TransformerModel
    let tokenizer: Tokenizer

    init() throws {
        directory = try TinyAlignmentModel.temporaryDirectory()
        model = try TransformerModel(path: TinyAlignmentModel.write(to: directory), threads: 1)
        tokenizer = try Tokenizer(gguf: model.file)
    }

    func trainer(_ h: AlignmentHyperparameters = TinyAlignmentModel.hyperparameters(), method: CombinationMethod = .raco,
                 records: [PreferenceRecord] = TinyAlignmentModel.records()) throws -> AlignmentTrainer {
        try AlignmentTrainer(model: model, tokenizer: tokenizer, objectives: ["short", "long"], method: method,
                             hyperparameters: h, records: records)
    }

    @Test func responsesEndWithTheEndOfTurnToken() throws {
        let t = try trainer()
        let imEnd = try #require(tokenizer.tokenID("<|im_end|>"))
        #expect(t.rows.allSatisfy { $0.chosen.response.last == imEnd && $0.rejected.response.last == imEnd })
        // The prompt's ChatML markers are parsed as special tokens.
        #expect(t.rows[0].chosen.prompt.contains(try #require(tokenizer.tokenID("<|im_start|>"))))
    }

    @Test func lossFallsAndHeldOutAccuracyRisesForTheWeightedObjective() throws {
        let t = try trainer(TinyAlignmentModel.hyperparameters(steps: 30))
        var seen = [AlignmentProgress]()
        let result = try t.train(weights: [[1, 0], [0, 1]]) { seen.append($0) }
        #expect(seen.count == 60)
        #expect(seen.map(\.step) == Array(1...30) + Array(1...30))
        for (run, objective) in zip(result.report.runs, ["short", "long"]) {
            let before = try #require(run.initialTrainLoss[objective]), after = try #require(run.finalTrainLoss[objective])
            print("toy \(objective): train loss \(before) → \(after), held-out accuracy "
                  + "\(run.heldOutAccuracyBefore[objective] ?? -1) → \(run.heldOutAccuracyAfter[objective] ?? -1)")
            // Training starts at the reference: Δ = 0 up to Float rounding (the reference was scored in other batches).
            #expect(abs(before - log(2.0)) < 1e-4)
            #expect(after < 0.5 * before)
            #expect(run.heldOutAccuracyBefore[objective] == 0.5)
            #expect((run.heldOutAccuracyAfter[objective] ?? 0) >= 0.8)
            #expect(run.heldOutLossAfter[objective]! < run.heldOutLossBefore[objective]!)
        }
        // The two objectives conflict: training for one makes the other worse.
        #expect(result.report.runs[0].finalTrainLoss["long"]! > log(2.0))
    }

    @Test func sameSeedSameAdapters() throws {
        let h = TinyAlignmentModel.hyperparameters(steps: 6)
        let a = try trainer(h).train(weights: [[0.5, 0.5]])
        let b = try trainer(h).train(weights: [[0.5, 0.5]])
        let layout = LoRAParameterLayout(adapter: a.adapters[0])
        #expect(layout.flatten(a.adapters[0]) == layout.flatten(b.adapters[0]))
        #expect(a.report.runs[0].finalTrainLoss == b.report.runs[0].finalTrainLoss)
        var other = h
        other.seed = 6
        let c = try trainer(other).train(weights: [[0.5, 0.5]])
        #expect(layout.flatten(a.adapters[0]) != layout.flatten(c.adapters[0]))
    }

    @Test func cancellationStopsBetweenMicroBatchesAndPauseIsCalled() throws {
        var h = TinyAlignmentModel.hyperparameters(steps: 10)
        h.gradientAccumulation = 2
        let t = try trainer(h)
        final class Counter: @unchecked Sendable {
            let lock = NSLock()
            var pauses = 0
            func increment() -> Int { lock.lock(); defer { lock.unlock() }; pauses += 1; return pauses }
            var value: Int { lock.lock(); defer { lock.unlock() }; return pauses }
        }
        let counter = Counter()
        var steps = 0
        #expect(throws: AlignmentTrainingError.cancelled) {
            try t.train(weights: [[1, 0]], control: AlignmentControl(isCancelled: { counter.value >= 7 },
                                                                    pause: { _ = counter.increment() })) { _ in steps += 1 }
        }
        // Pauses 1…6 ran micro-batches (3 steps of 2); the 7th pause was followed by the cancellation check.
        #expect(counter.value == 7)
        #expect(steps == 3)
        // Not cancelled: one pause per micro-batch.
        let all = Counter()
        _ = try t.train(weights: [[1, 0]], control: AlignmentControl(pause: { _ = all.increment() }))
        #expect(all.value == 20)
    }

    /// Rows that share a prompt stay on one side of the split (held-out accuracy is on unseen questions).
    @Test func heldOutSplitKeepsAPromptsRowsTogether() throws {
        let base = TinyAlignmentModel.records(count: 8)
        // Three pairs per prompt, as the simulated user gives.
        let records = base.flatMap { r in
            [r, PreferenceRecord(prompt: r.prompt, chosen: r.chosen + "a", rejected: r.rejected, labels: r.labels),
             PreferenceRecord(prompt: r.prompt, chosen: r.chosen, rejected: r.rejected + "b", labels: r.labels)]
        }
        let t = try trainer(records: records)
        #expect(t.heldOutRowCount >= 3 && t.heldOutRowCount <= 6, "about 20 % of 24 rows, whole prompts")
        let heldOutPrompts = Set(t.heldOutIndices.map { t.rows[$0].chosen.prompt })
        let trainPrompts = Set(t.trainIndices.map { t.rows[$0].chosen.prompt })
        #expect(heldOutPrompts.isDisjoint(with: trainPrompts))
        #expect(t.heldOutRowCount == 3 * heldOutPrompts.count)
    }

    @Test func heldOutSplitIsDeterministicAndDisjoint() throws {
        let t = try trainer()
        #expect(t.heldOutRowCount == 6 && t.trainRowCount == 18)
        #expect(Set(t.heldOutIndices).isDisjoint(with: t.trainIndices))
        #expect(Set(t.heldOutIndices + t.trainIndices) == Set(0..<24))
        let again = try trainer()
        #expect(again.heldOutIndices == t.heldOutIndices)
        var h = TinyAlignmentModel.hyperparameters()
        h.seed = 99
        #expect(try trainer(h).heldOutIndices != t.heldOutIndices)
        h.heldOutFraction = 0
        let none = try trainer(h)
        #expect(none.heldOutRowCount == 0 && none.trainRowCount == 24)
        let result = try none.train(weights: [[1, 1]])
        #expect(result.report.runs[0].heldOutAccuracyAfter.isEmpty)
        #expect(result.report.runs[0].weights == [0.5, 0.5])
    }

    @Test func adaptersAndReportAreWrittenAndReadBack() throws {
        var h = TinyAlignmentModel.hyperparameters(steps: 4)
        h.checkpointEvery = 2
        let t = try trainer(h, method: .cagrad)
        let checkpoints = directory.appendingPathComponent("checkpoints").path
        let result = try t.train(weights: [[3, 1], [0, 1]], checkpointDirectory: checkpoints)
        let out = directory.appendingPathComponent("out").path
        let paths = try t.writeAdapters(result, to: out, version: 3)
        #expect(paths.map { ($0 as NSString).lastPathComponent } == ["short0.75-long0.25.gguf", "short0.00-long1.00.gguf"])
        #expect(FileManager.default.fileExists(atPath: checkpoints + "/short0.75-long0.25.checkpoint.gguf"))
        let fingerprint = BaseModelFingerprint.of(model.file)
        for (path, (adapter, run)) in zip(paths, zip(result.adapters, result.report.runs)) {
            let (read, metadata) = try AdapterFile.read(path: path, config: model.config, baseFingerprint: fingerprint)
            #expect(metadata.objectives == ["short", "long"])
            #expect(metadata.weights == run.weights)
            #expect(metadata.method == "cagrad")
            #expect(metadata.version == 3)
            #expect(metadata.baseFingerprint == fingerprint)
            #expect(read.rank == 4 && read.alpha == 8 && read.matrices.count == 2 * 7)
            let layout = LoRAParameterLayout(adapter: adapter)
            #expect(layout.flatten(read) == layout.flatten(adapter))
        }
        let report = result.report
        #expect(report.method == "cagrad" && report.objectives == ["short", "long"])
        #expect(report.trainRows == 18 && report.heldOutRows == 6 && report.rows == 24 && report.skippedRows == 0)
        #expect(report.labelledRows == ["short": 24, "long": 24])
        #expect(report.parameterCount == result.adapters[0].parameterCount)
        #expect(report.runs.allSatisfy { $0.steps == 4 && $0.tokensPerSecond > 0 && $0.seconds > 0 })
        // report.json round-trips.
        let decoded = try JSONDecoder().decode(AlignmentReport.self, from: report.jsonData())
        #expect(decoded.runs.map(\.fileName) == report.runs.map(\.fileName))
        #expect(decoded.hyperparameters == h)
    }

    @Test func trainingFromAnAdapterUsesItAsTheReference() throws {
        let h = TinyAlignmentModel.hyperparameters(steps: 3)
        let first = try trainer(h).train(weights: [[1, 0]])
        var seen = [AlignmentProgress]()
        let second = try trainer(h).train(weights: [[1, 0]], initialAdapters: [first.adapters[0]]) { seen.append($0) }
        // Δ = 0 at the start again (up to Float rounding: the reference was scored in other batches): the starting
        // adapter is the reference, not the base model.
        #expect(abs(seen[0].meanMargin) < 1e-4)
        #expect(abs(second.report.runs[0].initialTrainLoss["short"]! - log(2.0)) < 1e-5)
        #expect(abs(first.report.runs[0].trainMeanMargin) > 1e-2)
    }

    @Test func badInputIsRejectedWithClearErrors() throws {
        let records = TinyAlignmentModel.records()
        #expect(throws: AlignmentTrainingError.invalidObjectives("no row labels 'polite' with 1 or -1")) {
            try AlignmentTrainer(model: model, tokenizer: tokenizer, objectives: ["short", "polite"], method: .raco,
                                 hyperparameters: TinyAlignmentModel.hyperparameters(), records: records)
        }
        #expect(throws: AlignmentTrainingError.self) {
            try AlignmentTrainer(model: model, tokenizer: tokenizer, objectives: ["short", "short"], method: .raco,
                                 hyperparameters: TinyAlignmentModel.hyperparameters(), records: records)
        }
        var h = TinyAlignmentModel.hyperparameters()
        h.conflictAversion = 1
        #expect(throws: AlignmentTrainingError.invalidHyperparameter(name: "c", reason: "must be in [0, 1) (got 1.0)")) {
            try trainer(h)
        }
        h = TinyAlignmentModel.hyperparameters()
        h.projections = ["attn_q", "mlp"]
        #expect(throws: AlignmentTrainingError.self) { try trainer(h) }
        let t = try trainer()
        #expect(throws: AlignmentTrainingError.invalidWeights("1 weights for 2 objectives")) {
            try t.train(weights: [[1]])
        }
    }
}
