import Foundation

/// A request the store refuses. The server maps each case to a 4xx response: `kind` gives the status class,
/// `message` the text, `param` the offending request field (the OpenAI error envelope's `param`) and `code`
/// a stable machine-readable name (its `code`).
public enum FeedbackError: Error, Sendable, Equatable {
    /// `field` is "chosen_id" or "rejected_id".
    case unknownCompletion(id: String, field: String)
    case sameCompletion(id: String)
    case differentPrompts(chosenID: String, rejectedID: String)
    case missingLabels
    /// Every label is 0: the pair says nothing about any objective, so it cannot train anything.
    case noPreference
    case unknownObjective(name: String, configured: [String])
    case invalidLabel(objective: String, value: Int)
    /// `field` is "prompt", "chosen", "rejected", "chosen_id" or "rejected_id".
    case emptyText(field: String)
    /// `field` is "rejected" or "rejected_id".
    case identicalTexts(field: String)
    /// The same prompt with the same two texts, in either order, is already stored as `existingID`.
    case duplicatePair(existingID: String)
    case duplicateCompletion(id: String)
    case invalidLimit(Int, allowed: ClosedRange<Int>)
    case unknownCursor(String)
    case jobAlreadyActive(id: String)
    case unknownJob(id: String)
    /// `action` cannot be applied to job `id` in `state` (for example marking a finished job running).
    case jobStateConflict(id: String, state: RealignJobState, action: String)
    case notAFinalState(RealignJobState)
    case unknownAdapterVersion(name: String, version: Int)
    case duplicateAdapterVersion(name: String, version: Int)
    /// A promotion names two versions of one adapter.
    case conflictingPromotion(name: String)
    case noAdapterVersions(jobID: String)

    /// How the server should classify the failure.
    public enum Kind: Sendable, Equatable {
        /// 400: the request is malformed or violates a rule.
        case invalidRequest
        /// 404: a referenced object does not exist.
        case notFound
        /// 409: the request clashes with stored state.
        case conflict
    }

    public var kind: Kind {
        switch self {
        case .unknownCompletion, .unknownJob, .unknownAdapterVersion, .noAdapterVersions: .notFound
        case .duplicatePair, .duplicateCompletion, .jobAlreadyActive, .jobStateConflict, .duplicateAdapterVersion: .conflict
        default: .invalidRequest
        }
    }

    /// The request field at fault, as the HTTP body names it; nil when no single field is.
    public var param: String? {
        switch self {
        case .unknownCompletion(_, let field), .emptyText(let field), .identicalTexts(let field): field
        case .sameCompletion, .differentPrompts: "rejected_id"
        case .missingLabels, .noPreference: "labels"
        case .unknownObjective(let name, _): "labels.\(name)"
        case .invalidLabel(let objective, _): "labels.\(objective)"
        case .invalidLimit: "limit"
        case .unknownCursor: "after"
        case .unknownJob: "id"
        case .notAFinalState: "state"
        case .duplicatePair, .duplicateCompletion, .jobAlreadyActive, .jobStateConflict, .unknownAdapterVersion,
             .duplicateAdapterVersion, .conflictingPromotion, .noAdapterVersions: nil
        }
    }

    public var code: String {
        switch self {
        case .unknownCompletion: "unknown_completion"
        case .sameCompletion: "same_completion"
        case .differentPrompts: "different_prompts"
        case .missingLabels: "missing_labels"
        case .noPreference: "no_preference"
        case .unknownObjective: "unknown_objective"
        case .invalidLabel: "invalid_label"
        case .emptyText: "empty_text"
        case .identicalTexts: "identical_texts"
        case .duplicatePair: "duplicate_pair"
        case .duplicateCompletion: "duplicate_completion"
        case .invalidLimit: "invalid_limit"
        case .unknownCursor: "unknown_cursor"
        case .jobAlreadyActive: "job_already_active"
        case .unknownJob: "unknown_job"
        case .jobStateConflict: "job_state_conflict"
        case .notAFinalState: "not_a_final_state"
        case .unknownAdapterVersion: "unknown_adapter_version"
        case .duplicateAdapterVersion: "duplicate_adapter_version"
        case .conflictingPromotion: "conflicting_promotion"
        case .noAdapterVersions: "no_adapter_versions"
        }
    }

    public var message: String {
        switch self {
        case .unknownCompletion(let id, _):
            "No completion with id '\(id)' was recorded by this server."
        case .sameCompletion(let id):
            "chosen_id and rejected_id are both '\(id)'; a preference needs two different completions."
        case .differentPrompts(let chosenID, let rejectedID):
            "Completions '\(chosenID)' and '\(rejectedID)' answer different prompts; a preference compares answers to one prompt."
        case .missingLabels:
            "labels is empty; give at least one objective's label (1, -1 or 0)."
        case .noPreference:
            "Every label is 0, so the pair states no preference; give at least one label of 1 or -1."
        case .unknownObjective(let name, let configured):
            configured.isEmpty
                ? "Unknown objective '\(name)'; the server has no objectives configured."
                : "Unknown objective '\(name)'; the configured objectives are \(configured.map { "'\($0)'" }.joined(separator: ", "))."
        case .invalidLabel(let objective, let value):
            "Label \(value) for objective '\(objective)' is invalid; labels are 1 (chosen is better), -1 (rejected is better) or 0 (tie)."
        case .emptyText(let field):
            field.hasSuffix("_id")
                ? "The completion named by \(field) has an empty text; it cannot be part of a preference."
                : "\(field) is empty."
        case .identicalTexts:
            "chosen and rejected are the same text; a preference needs two different answers."
        case .duplicatePair(let existingID):
            "This prompt with these two answers is already stored as '\(existingID)'."
        case .duplicateCompletion(let id):
            "A completion with id '\(id)' is already recorded."
        case .invalidLimit(let limit, let allowed):
            "limit \(limit) is out of range; it must be between \(allowed.lowerBound) and \(allowed.upperBound)."
        case .unknownCursor(let cursor):
            "Unknown cursor '\(cursor)'; pass the id of a stored feedback pair."
        case .jobAlreadyActive(let id):
            "Realignment job '\(id)' is still queued or running; one job runs at a time."
        case .unknownJob(let id):
            "No realignment job with id '\(id)'."
        case .jobStateConflict(let id, let state, let action):
            "Realignment job '\(id)' is \(state.rawValue); cannot \(action)."
        case .notAFinalState(let state):
            "'\(state.rawValue)' is not a final job state; use succeeded, failed or cancelled."
        case .unknownAdapterVersion(let name, let version):
            "No adapter version \(name)@\(version) is recorded."
        case .duplicateAdapterVersion(let name, let version):
            "Adapter version \(name)@\(version) is already recorded."
        case .conflictingPromotion(let name):
            "The promotion names more than one version of adapter '\(name)'."
        case .noAdapterVersions(let jobID):
            "Realignment job '\(jobID)' recorded no adapter versions to promote."
        }
    }
}

extension FeedbackError: CustomStringConvertible {
    public var description: String { message }
}

extension FeedbackError: LocalizedError {
    public var errorDescription: String? { description }
}
