/// An optional field that is written as `null` when absent instead of being left out, as OpenAI's responses do
/// (`param` and `code` of an error, `logprobs` and `finish_reason` of a choice, `system_fingerprint`). Synthesised
/// `Encodable` conformances then say which fields behave so at the declaration, with no hand-written `encode(to:)`.
@propertyWrapper
struct EncodedAsNull<Value: Encodable>: Encodable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension EncodedAsNull: Sendable where Value: Sendable {}
