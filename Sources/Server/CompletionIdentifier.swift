import Foundation

/// Ids of responses and of their choices. Each choice gets its own completion id ("cmpl-<random>-<index>"),
/// which is what feedback later names when a user prefers one completion over another.
struct CompletionIdentifier: Sendable {
    /// The random part, shared by the response and its choices.
    let token: String

    init() {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        token = String((0..<24).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    var completionResponseID: String { "cmpl-\(token)" }
    var chatResponseID: String { "chatcmpl-\(token)" }

    func choiceID(_ index: Int) -> String { "cmpl-\(token)-\(index)" }
}

/// Seconds since 1970, as OpenAI's `created`.
func unixTime() -> Int { Int(Date().timeIntervalSince1970) }
