import CommandLineSupport
import Alignment
import ArgumentParser
import Foundation
import Model
import Tokenizers

/// Offline alignment: trains one LoRA adapter per weight vector with RACO (or a baseline) on a preference file and
/// writes the adapters plus report.json into a directory the server can load adapters from.
struct AlignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "align",
        abstract: "Train LoRA adapters on preference data with RACO (one per weight vector) and write them with report.json."
    )

    @Option(help: "Base model: a GGUF file or a catalogue name.") var model: String = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    @Option(help: "Preference rows, JSONL: {\"prompt\", \"chosen\", \"rejected\", \"labels\": {objective: 1|-1|0}}.")
    var data: String
    @Option(help: "Objective names, comma-separated, in the order of the weights (e.g. concise,detailed).")
    var objectives: String
    @Option(help: "Weight vectors separated by ';', entries by ',' (e.g. \"1,0;0.5,0.5;0,1\"); each is normalised to sum 1.")
    var weights: String
    @Option(help: "Gradient combination: raco, cagrad or dpo-lw.") var method: String = "raco"
    @Option(help: "Output directory (created if needed).") var out: String
    @Option(help: "Optimiser steps per weight vector (default \(AlignCommand.defaults.steps)).") var steps: Int?
    @Option(help: "LoRA rank, 1...64 (default \(AlignCommand.defaults.rank)).") var rank: Int?
    @Option(help: "LoRA alpha (default: twice the rank).") var alpha: Double?
    @Option(help: "Peak learning rate (default \(AlignCommand.defaults.learningRate)).") var lr: Double?
    @Option(help: "DPO β (default \(AlignCommand.defaults.beta)).") var beta: Double?
    @Option(help: "RACO/CAGrad conflict aversion c in [0, 1) (default \(AlignCommand.defaults.conflictAversion)).") var c: Double?
    @Option(help: "Preference rows per micro-batch (default \(AlignCommand.defaults.batchSize)).") var batch: Int?
    @Option(name: .customLong("grad-accum"), help: "Micro-batches per optimiser step (default \(AlignCommand.defaults.gradientAccumulation)).") var gradientAccumulation: Int?
    @Option(name: .customLong("warmup"), help: "Learning-rate warm-up steps (default \(AlignCommand.defaults.warmupSteps)).") var warmupSteps: Int?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay (default \(AlignCommand.defaults.weightDecay)).") var weightDecay: Double?
    @Option(help: "Training threads (default: all \(AlignCommand.defaults.threads) cores).") var threads: Int?
    @Option(help: "Seed of the split, batch order and LoRA initialisation (default \(AlignCommand.defaults.seed)).") var seed: UInt64?
    @Option(name: .customLong("held-out"), help: "Fraction of rows held out for evaluation, in [0, 0.9] (default \(AlignCommand.defaults.heldOutFraction)).") var heldOut: Double?
    @Option(help: "Projections, comma-separated (attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down).")
    var projections: String?
    @Option(name: .customLong("max-tokens"), help: "Longest prompt + response in tokens; longer responses are cut (default \(AlignCommand.defaults.maxTokensPerSequence)).")
    var maxTokens: Int?
    @Flag(name: .customLong("length-normalize"), help: "Divide sequence log-probs by the response length.")
    var lengthNormalize = false
    @Option(name: .customLong("checkpoint-every"), help: "Write DIR/checkpoints/<name>.checkpoint.gguf every N steps.")
    var checkpointEvery: Int?
    @Flag(help: "Print no per-step progress lines.") var quiet = false

    static let defaults = AlignmentHyperparameters()

    /// The parsed objectives, method, weight grid and hyper-parameters (everything but the files).
    struct Plan {
        var objectives: [String]
        var method: CombinationMethod
        var weights: [[Double]]
        var hyperparameters: AlignmentHyperparameters
    }

    func validate() throws { _ = try plan() }

    func plan() throws -> Plan {
        let names: [String], grid: [[Double]]
        do {
            names = try WeightGrid.parseObjectives(objectives)
            grid = try WeightGrid.parse(weights, objectiveCount: names.count)
        } catch {
            throw ValidationError("\(error)")
        }
        guard let combination = CombinationMethod(rawValue: method) else {
            throw ValidationError("--method must be raco, cagrad or dpo-lw (got '\(method)')")
        }
        var h = AlignmentHyperparameters()
        if let steps { h.steps = steps }
        if let rank {
            h.rank = rank
            h.alpha = Double(2 * rank)
        }
        if let alpha { h.alpha = alpha }
        if let lr { h.learningRate = lr }
        if let beta { h.beta = beta }
        if let c { h.conflictAversion = c }
        if let batch { h.batchSize = batch }
        if let gradientAccumulation { h.gradientAccumulation = gradientAccumulation }
        if let warmupSteps { h.warmupSteps = warmupSteps }
        h.warmupSteps = min(h.warmupSteps, h.steps)
        if let weightDecay { h.weightDecay = weightDecay }
        if let threads { h.threads = threads }
        if let seed { h.seed = seed }
        if let heldOut { h.heldOutFraction = heldOut }
        if let projections { h.projections = projections.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if let maxTokens { h.maxTokensPerSequence = maxTokens }
        h.lengthNormalized = lengthNormalize
        if let checkpointEvery { h.checkpointEvery = checkpointEvery }
        do { try h.validate() } catch { throw ValidationError("\(error)") }
        return Plan(objectives: names, method: combination, weights: grid, hyperparameters: h)
    }

    func run() throws {
        let plan = try plan()
        let records: [PreferenceRecord]
        do { records = try PreferenceRecord.readJSONL(path: data) } catch {
            throw CommandFailure("\(data): \(error)")
        }
        let transformer: TransformerModel, tokenizer: Tokenizer, chatTemplate: ChatTemplate
        let model = try ModelCatalogue.resolve(self.model)
        do {
            transformer = try TransformerModel(path: model, threads: 1)
            tokenizer = try Tokenizer(gguf: transformer.file)
            // The model's own template decides the token that closes each response (docs/TOKENIZERS.md, "Chat templates");
            // one the interpreter refuses leaves that to the family's end-of-turn token, as the fallback format does.
            let source = try transformer.file.optionalString("tokenizer.chat_template")
            chatTemplate = (try? ChatTemplate.load(chatTemplate: source, tokenizer: tokenizer))
                ?? ChatTemplate.detect(chatTemplate: nil, tokenizer: tokenizer)
        } catch {
            throw CommandFailure("cannot load \(model): \(error)")
        }
        let trainer: AlignmentTrainer
        do {
            trainer = try AlignmentTrainer(model: transformer, tokenizer: tokenizer, objectives: plan.objectives,
                                           method: plan.method, hyperparameters: plan.hyperparameters, records: records,
                                           chatTemplate: chatTemplate)
        } catch {
            throw CommandFailure("\(error)")
        }
        let h = plan.hyperparameters
        print("align: \(records.count) rows (\(trainer.trainRowCount) train, \(trainer.heldOutRowCount) held out), "
              + "objectives \(plan.objectives.joined(separator: ",")), method \(plan.method.rawValue), "
              + "\(plan.weights.count) weight vectors × \(h.steps) steps, batch \(h.batchSize)×\(h.gradientAccumulation), "
              + "rank \(h.rank), lr \(h.learningRate), β \(h.beta), c \(h.conflictAversion), threads \(h.threads)")
        let result: AlignmentResult
        do {
            result = try trainer.train(
                weights: plan.weights,
                checkpointDirectory: h.checkpointEvery > 0 ? (out as NSString).appendingPathComponent("checkpoints") : nil
            ) { p in
                guard !quiet else { return }
                let losses = plan.objectives.map { "\($0) \(String(format: "%.4f", p.losses[$0] ?? .nan))" }.joined(separator: ", ")
                let accuracy = plan.objectives.map { name in p.accuracies[name].map { String(format: "%.2f", $0) } ?? "-" }
                    .joined(separator: "/")
                print("w=\(Self.format(p.weights)) step \(p.step)/\(p.totalSteps): loss \(losses); acc \(accuracy); "
                      + "margin \(String(format: "%+.3f", p.meanMargin)); coef \(Self.format(p.coefficients)); "
                      + "lr \(String(format: "%.2e", p.learningRate)); \(String(format: "%.0f", p.tokensPerSecond)) tok/s")
                fflush(stdout)
            }
        } catch {
            throw CommandFailure("training failed: \(error)")
        }
        do {
            let paths = try trainer.writeAdapters(result, to: out)
            let reportPath = (out as NSString).appendingPathComponent("report.json")
            try result.report.jsonData().write(to: URL(fileURLWithPath: reportPath), options: .atomic)
            for (path, run) in zip(paths, result.report.runs) {
                let accuracy = plan.objectives.map { name in
                    "\(name) \(Self.percent(run.heldOutAccuracyBefore[name]))→\(Self.percent(run.heldOutAccuracyAfter[name]))"
                }.joined(separator: ", ")
                print("wrote \(path): held-out accuracy \(accuracy); \(String(format: "%.0f", run.tokensPerSecond)) tok/s, "
                      + "\(String(format: "%.0f", run.seconds)) s")
            }
            print("wrote \(reportPath)")
        } catch {
            throw CommandFailure("cannot write into \(out): \(error)")
        }
    }

    static func format(_ values: [Double]) -> String {
        "(" + values.map { String(format: "%.2f", $0) }.joined(separator: ",") + ")"
    }

    static func percent(_ value: Double?) -> String { value.map { String(format: "%.0f%%", $0 * 100) } ?? "-" }
}
