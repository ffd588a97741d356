import Feedback
import Hummingbird
import NIOCore
import NIOHTTP1

/// Answers every error, including Hummingbird's own (unknown route, body too large), with OpenAI's envelope,
/// so a client sees one error shape whatever went wrong.
struct ErrorEnvelopeMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            return try Self.envelope(for: error, path: request.uri.path).response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try APIError.bodyTooLarge(limit: maxBodyBytes).response(from: request, context: context)
        } catch let error as HTTPParserError {
            // The head parsed but the body did not (a chunk size that is not hex, say): the client's fault.
            return try APIError(status: .badRequest, message: "The request body is not valid HTTP/1.1: \(error).",
                                type: "invalid_request_error", code: "malformed_body").response(from: request, context: context)
        } catch FeedbackStoreError.corruptRow(let table, let key, let reason) {
            // One stored row cannot be read (edited outside the server): say which, rather than a bare 500.
            context.logger.error("request failed on stored \(table) row '\(key)': \(reason)")
            return try APIError(status: .internalServerError,
                                message: "The stored \(table) row '\(key)' cannot be read; the server log says why.",
                                type: "server_error", code: "corrupt_row").response(from: request, context: context)
        } catch is CancellationError {
            // The client closed its connection while its answer was being generated: nobody will read this.
            context.logger.debug("client disconnected: \(request.method) \(request.uri.path) cancelled")
            return try APIError(status: .init(code: 499, reasonPhrase: "Client Closed Request"),
                                message: "The client closed the connection; the request was cancelled.",
                                type: "invalid_request_error", code: "client_closed_request").response(from: request, context: context)
        } catch {
            context.logger.error("request failed: \(String(reflecting: error))")
            return try APIError.internalError("The server failed to handle the request.").response(from: request, context: context)
        }
    }

    static func envelope(for error: HTTPError, path: String) -> APIError {
        switch error.status {
        case .notFound:
            return .notFound(path)
        case .contentTooLarge:
            return APIError(status: .contentTooLarge, message: error.body ?? "The request body is too large.",
                            type: "invalid_request_error", code: "request_too_large")
        default:
            let type = error.status.code >= 500 ? "server_error" : "invalid_request_error"
            var envelope = APIError(status: error.status, message: error.body ?? error.status.reasonPhrase, type: type)
            envelope.headers = error.headers
            return envelope
        }
    }
}
