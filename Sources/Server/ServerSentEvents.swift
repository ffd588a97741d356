import Foundation
import Hummingbird

/// Writes a server-sent event stream the way OpenAI does: `data: <json>` events, ending with `data: [DONE]`.
struct ServerSentEventWriter {
    private var writer: any ResponseBodyWriter

    init(_ writer: any ResponseBodyWriter) {
        self.writer = writer
    }

    mutating func send(_ value: some Encodable) async throws {
        try await send(raw: try JSONEncoder.api.encode(value))
    }

    /// A failure after the stream started: the error envelope as an event, which the openai client raises.
    mutating func send(error: APIError) async throws {
        try await send(raw: Data(error.envelopeJSON()))
    }

    mutating func finish() async throws {
        try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
        try await writer.finish(nil)
    }

    private mutating func send(raw json: Data) async throws {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(json.count + 8)
        buffer.writeString("data: ")
        buffer.writeBytes(json)
        buffer.writeString("\n\n")
        try await writer.write(buffer)
    }

    static let headers: HTTPFields = [
        .contentType: "text/event-stream",
        .cacheControl: "no-cache",
    ]
}
