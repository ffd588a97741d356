/// The one rule for an alignment objective's name, shared by the server's configuration, adapter metadata and the
/// trainer: 1 to 64 ASCII letters, digits, '-' and '_'. Names appear in request fields, adapter file names and
/// metrics labels, so nothing else is allowed.
public enum ObjectiveName {
    public static let maxLength = 64

    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maxLength && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
        }
    }

    /// Why `names` is not a valid list (empty, an invalid name, a repeated one), or nil when it is.
    public static func problem(with names: [String]) -> String? {
        guard !names.isEmpty else { return "no objectives" }
        if let bad = names.first(where: { !isValid($0) }) {
            return "'\(bad.prefix(80))' is not an objective name (1 to \(maxLength) ASCII letters, digits, '-' or '_')"
        }
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted { return "'\(name)' is listed twice" }
        return nil
    }
}
