import Foundation

/// One preference row as stored in JSONL (`GET /v1/feedback/export`, `raconteur align --data`):
/// the prompt exactly as the model saw it (special tokens such as `<|im_start|>` are parsed as special), two
/// responses, and one label per objective: +1 prefers `chosen` (A), −1 prefers `rejected` (B), 0 is a tie.
public struct PreferenceRecord: Codable, Sendable, Equatable {
    public var prompt: String
    public var chosen: String
    public var rejected: String
    public var labels: [String: Int]

    public init(prompt: String, chosen: String, rejected: String, labels: [String: Int]) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.labels = labels
    }

    /// Parses JSONL text: one object per non-blank line. Errors name the 1-based line.
    public static func parseJSONL(_ text: String) throws -> [PreferenceRecord] {
        let decoder = JSONDecoder()
        var records = [PreferenceRecord]()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let record: PreferenceRecord
            do {
                record = try decoder.decode(PreferenceRecord.self, from: Data(trimmed.utf8))
            } catch let DecodingError.keyNotFound(key, _) {
                throw AlignmentTrainingError.invalidRecord(line: index + 1, reason: "missing field '\(key.stringValue)'")
            } catch let DecodingError.typeMismatch(_, context) {
                let field = context.codingPath.map(\.stringValue).joined(separator: ".")
                throw AlignmentTrainingError.invalidRecord(line: index + 1, reason: "field '\(field)' has the wrong type")
            } catch {
                throw AlignmentTrainingError.invalidRecord(line: index + 1, reason: "not a JSON object with prompt, chosen, rejected, labels")
            }
            for (objective, label) in record.labels where ![-1, 0, 1].contains(label) {
                throw AlignmentTrainingError.invalidRecord(
                    line: index + 1, reason: "label \(label) for '\(objective)' (must be 1, -1 or 0)")
            }
            if record.prompt.isEmpty {
                throw AlignmentTrainingError.invalidRecord(line: index + 1, reason: "empty prompt")
            }
            records.append(record)
        }
        return records
    }

    /// Reads a JSONL file (see `parseJSONL`).
    public static func readJSONL(path: String) throws -> [PreferenceRecord] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw AlignmentTrainingError.invalidRecord(line: 0, reason: "cannot read \(path): \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw AlignmentTrainingError.invalidRecord(line: 0, reason: "\(path) is not UTF-8 text")
        }
        return try parseJSONL(text)
    }
}
