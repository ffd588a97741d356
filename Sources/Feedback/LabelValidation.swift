/// The rules every pair's labels follow, whichever way the pair came in.
enum LabelValidation {
    static let allowedValues: Set<Int> = [-1, 0, 1]

    /// Keys in sorted order so the error reported for several bad labels is deterministic.
    static func validate(_ labels: [String: Int], objectives: [String]) throws {
        guard !labels.isEmpty else { throw FeedbackError.missingLabels }
        let configured = Set(objectives)
        for objective in labels.keys.sorted() {
            guard configured.contains(objective) else {
                throw FeedbackError.unknownObjective(name: objective, configured: objectives)
            }
            let value = labels[objective] ?? 0
            guard allowedValues.contains(value) else {
                throw FeedbackError.invalidLabel(objective: objective, value: value)
            }
        }
        if labels.values.allSatisfy({ $0 == 0 }) { throw FeedbackError.noPreference }
    }
}
