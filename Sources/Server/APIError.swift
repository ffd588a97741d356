import Foundation
import Hummingbird

/// An error answered with OpenAI's envelope: `{"error": {"message", "type", "param", "code"}}`.
public struct APIError: Error, HTTPResponseError, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// OpenAI's error class: invalid_request_error, authentication_error, …
    public var type: String
    /// The request field at fault, dotted (`messages.0.content`), when there is one.
    public var param: String?
    public var code: String?
    public var headers: HTTPFields = [:]

    public init(status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public var description: String { "\(status.code) \(type)\(param.map { " (\($0))" } ?? ""): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: envelopeJSON())))
        response.headers[.contentType] = "application/json"
        return response
    }

    /// The envelope as JSON bytes (also sent as an SSE event when a stream fails after it started).
    func envelopeJSON() -> [UInt8] {
        let envelope = Envelope(error: .init(message: message, type: type, param: param, code: code))
        return (try? JSONEncoder.api.encode(envelope)).map(Array.init) ?? Array(#"{"error":{"message":"error","type":"server_error","param":null,"code":null}}"#.utf8)
    }

    struct Envelope: Encodable {
        struct Body: Encodable {
            var message: String
            var type: String
            @EncodedAsNull var param: String?
            @EncodedAsNull var code: String?
        }
        var error: Body
    }
}

// MARK: the errors the server answers with

extension APIError {
    /// 400: a field has a value the API does not accept.
    static func invalidValue(_ param: String, _ message: String, code: String = "invalid_value") -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    static func missingParameter(_ param: String) -> APIError {
        APIError(status: .badRequest, message: "Missing required parameter: '\(param)'.", type: "invalid_request_error",
                 param: param, code: "missing_required_parameter")
    }

    static func invalidJSON(_ detail: String) -> APIError {
        APIError(status: .badRequest, message: "We could not parse the JSON body of your request: \(detail)",
                 type: "invalid_request_error", code: "invalid_json")
    }

    static func contextLengthExceeded(param: String, promptTokens: Int, maxTokens: Int, limit: Int) -> APIError {
        let message = maxTokens > 0
            ? "This model's maximum context length is \(limit) tokens. However, you requested \(promptTokens + maxTokens) tokens "
              + "(\(promptTokens) in the prompt, \(maxTokens) in the completion). Please reduce the prompt or max_tokens."
            : "This model's maximum context length is \(limit) tokens. However, your prompt has \(promptTokens) tokens."
        return APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param,
                        code: "context_length_exceeded")
    }

    static func modelNotFound(_ model: String) -> APIError {
        APIError(status: .notFound, message: "The model '\(model)' does not exist; GET /v1/models lists the models served here.",
                 type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    static let missingAPIKey = APIError(
        status: .unauthorized, message: "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
        type: "authentication_error", code: "missing_api_key")

    static let invalidAPIKey = APIError(
        status: .unauthorized, message: "Incorrect API key provided.", type: "authentication_error", code: "invalid_api_key")

    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, message: "The request body is larger than the limit of \(limit) bytes.",
                 type: "invalid_request_error", code: "request_too_large")
    }

    static func unsupportedMediaType(_ declared: String) -> APIError {
        let shown = declared.isEmpty ? "no Content-Type" : "Content-Type '\(declared.prefix(100))'"
        return APIError(status: .unsupportedMediaType,
                         message: "This route takes a JSON body sent as 'Content-Type: application/json'; the request has \(shown).",
                         type: "invalid_request_error", code: "unsupported_media_type")
    }

    static func queueFull(limit: Int) -> APIError {
        APIError(status: .tooManyRequests, message: "The server is busy: \(limit) requests are already waiting. Retry later.",
                 type: "rate_limit_error", code: "queue_full")
    }

    static let modelLoading = APIError(
        status: .serviceUnavailable, message: "The model is still loading; retry in a moment.",
        type: "service_unavailable_error", code: "model_loading")

    static let shuttingDown = APIError(
        status: .serviceUnavailable, message: "The server is shutting down.", type: "service_unavailable_error", code: "shutting_down")

    static func timeout(seconds: Double) -> APIError {
        APIError(status: .gatewayTimeout, message: "The request took longer than the server's limit of \(seconds) seconds and was cancelled.",
                 type: "timeout_error", code: "request_timeout")
    }

    static func notFound(_ path: String) -> APIError {
        APIError(status: .notFound, message: "Unknown route: \(path).", type: "invalid_request_error", code: "unknown_url")
    }

    static func internalError(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error", code: "internal_error")
    }
}

extension JSONEncoder {
    /// Encodes responses: compact, keys sorted (stable output across runs), no escaped slashes.
    static let api: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
