/// Parses the command-line and API spellings of objectives and weight grids.
public enum WeightGrid {
    /// "concise,detailed" → ["concise", "detailed"]; rejects empty or repeated names.
    public static func parseObjectives(_ text: String) throws -> [String] {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard names.allSatisfy({ !$0.isEmpty }) else {
            throw AlignmentTrainingError.invalidObjectives("'\(text)' (a comma-separated list of names, e.g. concise,detailed)")
        }
        guard Set(names).count == names.count else { throw AlignmentTrainingError.invalidObjectives("'\(text)' repeats a name") }
        return names
    }

    /// "1,0;0.5,0.5;0,1" → [[1, 0], [0.5, 0.5], [0, 1]], each vector normalised onto the simplex
    /// (`AlignmentTrainer.normalised`): a wrong count, a negative entry or a zero sum throws.
    public static func parse(_ text: String, objectiveCount: Int) throws -> [[Double]] {
        let vectors = text.split(separator: ";", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !vectors.isEmpty else {
            throw AlignmentTrainingError.invalidWeights("'\(text)' has no weight vector (e.g. \"1,0;0.5,0.5;0,1\")")
        }
        return try vectors.map { vector in
            let entries = try vector.split(separator: ",", omittingEmptySubsequences: false).map { entry -> Double in
                guard let value = Double(entry.trimmingCharacters(in: .whitespaces)) else {
                    throw AlignmentTrainingError.invalidWeights("'\(entry)' in \"\(vector)\" is not a number")
                }
                return value
            }
            return try AlignmentTrainer.normalised(weights: entries, objectiveCount: objectiveCount)
        }
    }
}
