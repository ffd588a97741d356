import Foundation
internal import GRDB

extension FeedbackStore: FeedbackStorage {
    public var location: String { path }
}

/// What another backend of the store (FeedbackPostgres) shares with this one, so both write and read the same
/// values: dates at the precision SQLite keeps them, and the page-size and job rules.
package enum StoreConventions {
    /// `date` as the store keeps it (millisecond precision; see `Date.asStored`).
    package static func stored(_ date: Date) -> Date { date.asStored }

    /// The UTC text "yyyy-MM-dd HH:mm:ss.SSS" that SQLite stores for `date`.
    package static func text(_ date: Date) -> String {
        if case .string(let text) = date.databaseValue.storage { return text }
        return String(describing: date.databaseValue)
    }

    /// The date that `text(_:)` wrote, or nil.
    package static func date(_ text: String) -> Date? { Date.fromDatabaseValue(text.databaseValue) }

    package static func randomID(prefix: String) -> String { RandomID.make(prefix: prefix) }

    package static func validate(_ labels: [String: Int], objectives: [String]) throws {
        try LabelValidation.validate(labels, objectives: objectives)
    }

    package static func isBlank(_ text: String) -> Bool { text.isBlank }

    package static func jsonText(_ value: some Encodable) throws -> String { try JSONColumn.text(value) }
}
