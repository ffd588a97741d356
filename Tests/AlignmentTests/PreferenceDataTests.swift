import Foundation
@testable import Alignment
import Testing

/// JSONL preference rows, weight grids and hyper-parameter validation.
struct PreferenceDataTests {
    @Test func jsonlRowsParseAndErrorsNameTheLine() throws {
        let text = """
        {"prompt": "p1", "chosen": "a", "rejected": "b", "labels": {"concise": 1, "detailed": -1}}

        {"prompt": "p2", "chosen": "c", "rejected": "d", "labels": {"concise": 0}}
        """
        let rows = try PreferenceRecord.parseJSONL(text)
        #expect(rows.count == 2)
        #expect(rows[1] == PreferenceRecord(prompt: "p2", chosen: "c", rejected: "d", labels: ["concise": 0]))
        #expect(throws: AlignmentTrainingError.invalidRecord(line: 2, reason: "missing field 'labels'")) {
            try PreferenceRecord.parseJSONL("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"labels\": {}}\n"
                                            + "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}")
        }
        #expect(throws: AlignmentTrainingError.invalidRecord(line: 1, reason: "label 2 for 'x' (must be 1, -1 or 0)")) {
            try PreferenceRecord.parseJSONL("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"labels\": {\"x\": 2}}")
        }
        #expect(throws: AlignmentTrainingError.self) { try PreferenceRecord.parseJSONL("not json") }
        #expect(throws: AlignmentTrainingError.self) { try PreferenceRecord.readJSONL(path: "/nonexistent/prefs.jsonl") }
    }

    @Test func weightGridsAreParsedAndNormalised() throws {
        #expect(try WeightGrid.parse("1,0;0.5,0.5;0,1", objectiveCount: 2) == [[1, 0], [0.5, 0.5], [0, 1]])
        #expect(try WeightGrid.parse(" 3, 1 ;", objectiveCount: 2) == [[0.75, 0.25]])
        #expect(try WeightGrid.parseObjectives("concise, detailed") == ["concise", "detailed"])
        for bad in ["1,-1", "0,0", "1,0,0", "a,b", "", ";", "1,nan"] {
            #expect(throws: AlignmentTrainingError.self, "\(bad)") { try WeightGrid.parse(bad, objectiveCount: 2) }
        }
        for bad in ["a,,b", "a,a", ""] {
            #expect(throws: AlignmentTrainingError.self, "\(bad)") { try WeightGrid.parseObjectives(bad) }
        }
        #expect(AlignmentTrainer.adapterFileName(objectives: ["concise", "detailed"], weights: [0.75, 0.25])
                == "concise0.75-detailed0.25.gguf")
    }

    @Test func defaultHyperparametersAreValidAndBadOnesThrow() throws {
        try AlignmentHyperparameters().validate()
        let bad: [(inout AlignmentHyperparameters) -> Void] = [
            { $0.steps = 0 }, { $0.batchSize = 0 }, { $0.rank = 65 }, { $0.learningRate = -1 }, { $0.beta = 0 },
            { $0.conflictAversion = -0.1 }, { $0.heldOutFraction = 0.95 }, { $0.threads = 0 }, { $0.projections = [] },
            { $0.warmupSteps = 1000 }, { $0.maxTokensPerSequence = 1 }, { $0.gradientAccumulation = 0 },
        ]
        for change in bad {
            var h = AlignmentHyperparameters()
            change(&h)
            #expect(throws: AlignmentTrainingError.self) { try h.validate() }
        }
    }
}
