import Alignment
import Foundation

/// A preference set bundled with the binary, so that a server started with no adapters can train its first grid
/// at once instead of serving the base model until users have voted enough (docs/ALIGNMENT.md, "Starter grid").
struct StarterSet: Sendable {
    /// Names the set in the job's stored request (`"starter": id`) and in logs.
    let id: String
    /// The objectives its rows label; the set is used only when the configured objectives are exactly these.
    let objectives: Set<String>
    /// `BaseModelFingerprint` of the model whose own answers the rows hold; the set is used only on that model,
    /// whatever its file is called (a renamed copy still matches, another quantisation of it does not).
    let modelFingerprint: String
    /// Where the rows come from, for the log and the docs.
    let provenance: String
    /// The rows, in the layout of `GET /v1/feedback/export` (one JSON object per line).
    let jsonl: String

    /// The rows as training records; every row is checked by the same parser `raconteur align` uses.
    func records() throws -> [PreferenceRecord] {
        try PreferenceRecord.parseJSONL(jsonl)
    }

    /// The sets this binary carries.
    static let bundled: [StarterSet] = [smolLM2ConciseDetailed]

    /// SmolLM2-135M-Instruct (Q4_1 GGUF, sha256 b179c952…28110db53, the file `models/fetch.py` downloads for the
    /// default configuration), concise against detailed. A third of the offline experiment's pairs: training reads
    /// every row's reference log-probs before its first step, and the starter job uses 24 pairs per grid point, so
    /// more rows would only delay the first adapters. (The online run's pairs, sampled at temperature 1, taught the
    /// concise end to answer off-topic within this budget; these did not: docs/ALIGNMENT.md, "Starter grid".)
    static let smolLM2ConciseDetailed = StarterSet(
        id: "smollm2-135m-q4_1-concise-detailed-3",
        objectives: ["concise", "detailed"],
        modelFingerprint: "fnv1a64:b70c6a92af6c2719",
        provenance: """
            48 preference pairs on 16 prompts, the first 48 rows of benchmarks/alignment/results/\
            prefs_smollm2_concise_detailed.jsonl (sha256 of those rows ae9e1efa…3d71d46df), made by \
            benchmarks/alignment/build_preferences.py from SmolLM2-135M-Instruct.Q4_1's own answers (temperature 0.9, \
            top-p 0.95, at most 80 tokens; each plain answer paired with the model's answer to the same question plus \
            "Answer in one short sentence."), labelled by the word-count (concise) and distinct-content-word \
            (detailed) judges of clients/python/judges.py
            """,
        // Sources/Server/Starter/smollm2-135m-q4_1-concise-detailed.jsonl, compiled into the binary (Package.swift).
        jsonl: String(decoding: PackageResources.smollm2_135m_q4_1_concise_detailed_jsonl, as: UTF8.self))
}

/// Whether a starting server trains a starter grid, and on which set.
enum StarterGrid {
    enum Decision: Equatable {
        case start(setID: String)
        /// Why not, for the log.
        case skip(String)
    }

    /// What the server knows at start-up that decides it.
    struct Situation: Equatable {
        /// `[realign] starter` and `--no-starter`.
        var enabled: Bool
        /// The configured adapters directory; nil: none (new adapters could not be stored).
        var adaptersDirectory: String?
        var objectives: [String]
        /// `BaseModelFingerprint` of the served model.
        var modelFingerprint: String
    }

    /// A starter job runs only on an empty grid: no `*.gguf` in the adapters directory (a missing directory is
    /// empty), objectives that are exactly the set's, and the model the set was made from.
    static func decide(_ situation: Situation, sets: [StarterSet] = StarterSet.bundled) -> (Decision, StarterSet?) {
        guard situation.enabled else { return (.skip("turned off ([realign] starter = false or --no-starter)"), nil) }
        guard let directory = situation.adaptersDirectory else {
            return (.skip("no adapters directory is configured"), nil)
        }
        let present = adapterFiles(in: directory)
        guard present.isEmpty else {
            return (.skip("the adapters directory \(directory) already holds \(present.count) adapter file(s)"), nil)
        }
        let objectives = Set(situation.objectives)
        guard let set = sets.first(where: { $0.objectives == objectives && $0.modelFingerprint == situation.modelFingerprint }) else {
            let names = situation.objectives.joined(separator: ", ")
            return (.skip("no bundled preference set fits this model (\(situation.modelFingerprint)) and objectives (\(names))"), nil)
        }
        return (.start(setID: set.id), set)
    }

    /// The `*.gguf` files the adapter catalogue would load from `directory`.
    static func adapterFiles(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".gguf") }
    }
}

extension StarterGrid {
    /// Steps per weight vector unless `[realign] starter_steps` says otherwise (docs/ALIGNMENT.md, "Starter grid").
    static let defaultSteps = 6

    /// The starter job's settings: the `[realign]` threads and pause (serving keeps its cores), and a budget of its
    /// own, much smaller than a full job's, that still moves the answers: the two ends of the grid ((1, 0) and
    /// (0, 1); a trade-off between them mixes the two, and a middle point measured earlier was not promoted anyway),
    /// a few steps at a high learning rate, sequences cut at 128 tokens (the set's answers are at most 80).
    static func settings(from configured: RealignSettings) -> RealignSettings {
        var s = configured
        s.method = "raco"
        s.gridPoints = 2
        s.minPairs = 2
        s.training.steps = configured.starterSteps
        s.training.learningRate = 2e-3
        s.training.beta = 0.1
        s.training.conflictAversion = 0.4
        s.training.rank = 16
        s.training.batchSize = 4
        s.training.heldOutFraction = 0.2
        s.training.maxTokensPerSequence = 128
        s.training.seed = 0
        return s
    }
}

