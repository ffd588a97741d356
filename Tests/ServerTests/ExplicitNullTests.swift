import Foundation
@testable import Server
import Testing

/// OpenAI's responses carry some absent fields as `null` rather than leaving them out; clients index them directly.
@Suite struct ExplicitNullTests {
    private func object(_ value: some Encodable) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: JSONEncoder.api.encode(value)) as? [String: Any])
    }

    @Test func errorEnvelopeWritesParamAndCodeAsNull() throws {
        let error = APIError(status: .badRequest, message: "boom", type: "invalid_request_error")
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(error.envelopeJSON())) as? [String: Any])
        let body = try #require(envelope["error"] as? [String: Any])
        #expect(body["message"] as? String == "boom")
        #expect(body["param"] is NSNull)
        #expect(body["code"] is NSNull)
        let named = APIError(status: .badRequest, message: "m", type: "t", param: "p", code: "c").envelopeJSON()
        let namedBody = try #require((try JSONSerialization.jsonObject(with: Data(named)) as? [String: Any])?["error"] as? [String: Any])
        #expect(namedBody["param"] as? String == "p" && namedBody["code"] as? String == "c")
    }

    @Test func presentValuesAreWrittenAsThemselves() throws {
        let choice = try object(CompletionChoice(index: 2, text: "hi", logprobs: nil, finishReason: "stop", completionID: "c"))
        #expect(choice["finish_reason"] as? String == "stop")
        #expect(choice["logprobs"] is NSNull)
        #expect(choice["index"] as? Int == 2)
    }

    @Test func streamChunkChoiceAndObjectKeepTheirNulls() throws {
        let chunk = CompletionObject(id: "cmpl-1", object: "text_completion", created: 1, model: "m",
                                     choices: [CompletionChoice(index: 0, text: "", logprobs: nil, finishReason: nil, completionID: "c")],
                                     usage: nil, mixture: nil)
        let json = try object(chunk)
        #expect(json["system_fingerprint"] is NSNull)
        // Optional fields without the wrapper are still left out.
        #expect(json["usage"] == nil && json["mixture"] == nil)
        let choice = try #require((json["choices"] as? [[String: Any]])?.first)
        #expect(choice["finish_reason"] is NSNull)
    }

    @Test func chatLogprobsCarryANullRefusal() throws {
        let json = try object(ChatLogprobs())
        #expect(json["refusal"] is NSNull)
        #expect((json["content"] as? [Any])?.isEmpty == true)
    }
}
