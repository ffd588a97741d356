import Foundation

/// Random public ids: a prefix and 24 hex digits (96 bits), like `fb-3f9c…`.
enum RandomID {
    static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<12).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return prefix + bytes.map { String(format: "%02x", $0) }.joined()
    }
}
