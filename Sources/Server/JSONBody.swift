import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// Collects at most `maxBytes` of body and decodes it as JSON, answering every failure with a 4xx envelope that
    /// names the offending field. The body must be declared `application/json` (a browser page can send `text/plain`
    /// anywhere without asking first, so a JSON route that took it could be written to from any web page) and must
    /// be standard JSON (`StrictJSON`).
    func decodeJSON<T: Decodable>(as type: T.Type, maxBytes: Int) async throws -> T {
        try requireJSONContentType()
        if let declared = headers[.contentLength].flatMap(Int.init), declared > maxBytes {
            throw APIError.bodyTooLarge(limit: maxBytes)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            throw APIError.bodyTooLarge(limit: maxBytes)
        }
        guard buffer.readableBytes > 0 else { throw APIError.invalidJSON("the body is empty.") }
        do {
            try StrictJSON.validate(buffer.readableBytesView)
        } catch {
            throw APIError.invalidJSON("\(error.description).")
        }
        let data = Data(buffer.readableBytesView)
        do {
            let decoder = JSONDecoder()
            // Request types that must keep an object's key order (tool definitions a template writes with `tojson`) read it.
            decoder.userInfo[.requestBody] = data
            return try decoder.decode(T.self, from: data)
        } catch let error as APIError {
            throw error
        } catch let error as DecodingError {
            if case let .dataCorrupted(context) = error, context.codingPath.isEmpty,
               let field = Self.nonIntegerNumber(in: data, fields: (T.self as? any IntegerFields.Type)?.integerFields ?? []) {
                throw APIError.invalidValue(field, "Invalid type for '\(field)': expected an integer.", code: "invalid_type")
            }
            throw APIError(decoding: error)
        } catch {
            throw APIError.invalidJSON("\(error)")
        }
    }

    /// 415 unless the Content-Type is `application/json` (parameters such as `charset=utf-8` allowed).
    func requireJSONContentType() throws {
        let declared = headers[.contentType] ?? ""
        let mediaType = declared.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard mediaType == "application/json" else {
            throw APIError.unsupportedMediaType(declared)
        }
    }

    /// Foundation's JSONDecoder reports a number that does not fit an integer field (2.5, 1e30) as invalid JSON with
    /// no coding path; when the body is valid JSON, this finds the integer field that holds such a number.
    private static func nonIntegerNumber(in data: Data, fields: [String]) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        return fields.first { field in
            guard let number = object[field] as? NSNumber, !(object[field] is Bool) else { return false }
            let value = number.doubleValue
            return value != value.rounded() || abs(value) >= 9.2e18
        }
    }
}

extension CodingUserInfoKey {
    /// The raw JSON body being decoded (`Data`).
    static let requestBody = CodingUserInfoKey(rawValue: "raconteur.requestBody")!
}

/// A request type's integer fields, which Foundation's decoder fails to name when they hold a non-integer number.
protocol IntegerFields {
    static var integerFields: [String] { get }
}

extension APIError {
    /// The envelope for a body that is not JSON, or whose fields have the wrong types.
    init(decoding error: DecodingError) {
        switch error {
        case let .typeMismatch(type, context):
            let param = DecodingError.dottedPath(context.codingPath)
            guard let param else {
                self = .invalidJSON("the body must be a JSON object.")
                return
            }
            self = .invalidValue(param, "Invalid type for '\(param)': expected \(DecodingError.jsonTypeName(type)).", code: "invalid_type")
        case let .valueNotFound(type, context):
            let param = DecodingError.dottedPath(context.codingPath) ?? "body"
            self = .invalidValue(param, "Invalid type for '\(param)': expected \(DecodingError.jsonTypeName(type)), got null.",
                                 code: "invalid_type")
        case let .keyNotFound(key, context):
            self = .missingParameter(DecodingError.dottedPath(context.codingPath + [key]) ?? key.stringValue)
        case let .dataCorrupted(context):
            if let param = DecodingError.dottedPath(context.codingPath) {
                self = .invalidValue(param, "Invalid value for '\(param)': \(context.debugDescription)")
            } else {
                self = .invalidJSON(Self.syntaxDetail(context))
            }
        @unknown default:
            self = .invalidJSON("\(error)")
        }
    }

    private static func syntaxDetail(_ context: DecodingError.Context) -> String {
        if let underlying = context.underlyingError as NSError?, let detail = underlying.userInfo[NSDebugDescriptionErrorKey] as? String {
            return detail
        }
        return context.debugDescription
    }
}

extension DecodingError {
    /// `messages.0.content` for a coding path; nil for the top level.
    static func dottedPath(_ path: [any CodingKey]) -> String? {
        guard !path.isEmpty else { return nil }
        return path.map { key in key.intValue.map(String.init) ?? key.stringValue }.joined(separator: ".")
    }

    /// How a Swift type the decoder expected reads in JSON terms.
    static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            if let described = type as? any JSONTypeDescribing.Type { return described.jsonTypeDescription }
            return "an object"
        }
    }

    /// One line for a configuration or body error: what is wrong and where.
    var readableDescription: String {
        switch self {
        case let .typeMismatch(type, context), let .valueNotFound(type, context):
            return "'\(Self.dottedPath(context.codingPath) ?? "top level")' should be \(Self.jsonTypeName(type))"
        case let .keyNotFound(key, context):
            return "'\(Self.dottedPath(context.codingPath + [key]) ?? key.stringValue)' is missing"
        case let .dataCorrupted(context):
            return "\(Self.dottedPath(context.codingPath).map { "'\($0)': " } ?? "")\(context.debugDescription)"
        @unknown default:
            return "\(self)"
        }
    }
}

/// A request field type that accepts several JSON shapes and says which in error messages.
protocol JSONTypeDescribing {
    static var jsonTypeDescription: String { get }
}
