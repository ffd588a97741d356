import Foundation
internal import GRDB

extension Date {
    /// The instant exactly as it reads back from the store (GRDB's date text has millisecond precision),
    /// so a record a method returns equals the one a later read returns.
    var asStored: Date {
        Date.fromDatabaseValue(databaseValue) ?? self
    }
}
