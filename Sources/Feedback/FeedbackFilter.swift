internal import GRDB

/// Which stored pairs a listing shows: those with a label for `objective` (a missing label counts as a tie, 0, as
/// the trainer reads it), and with `label` for it; `label` alone matches a pair with that label for any objective.
public struct FeedbackFilter: Sendable, Equatable {
    public var objective: String?
    public var label: Int?

    public init(objective: String? = nil, label: Int? = nil) {
        self.objective = objective
        self.label = label
    }

    /// A condition on `preference_pair` rows and its arguments. Labels are a JSON object column; the objective is
    /// bound as an argument (never spliced into the SQL), as a JSON path with the name quoted.
    var sql: (condition: String, arguments: StatementArguments) {
        switch (objective, label) {
        case (nil, nil):
            return ("1", [])
        case let (objective?, nil):
            return ("json_type(labels, ?) IS NOT NULL", [Self.path(objective)])
        case let (objective?, label?):
            return ("COALESCE(json_extract(labels, ?), 0) = ?", [Self.path(objective), label])
        case let (nil, label?):
            return ("EXISTS (SELECT 1 FROM json_each(labels) WHERE value = ?)", [label])
        }
    }

    private static func path(_ objective: String) -> String {
        "$.\"" + objective.replacingOccurrences(of: "\"", with: "") + "\""
    }
}
