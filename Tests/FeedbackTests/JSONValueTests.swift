import Foundation
import Testing
@testable import Feedback

@Suite struct JSONValueTests {
    @Test func parsesAndPrintsEveryKind() throws {
        let text = #"{"a":null,"b":true,"c":-3,"d":18446744073709551615,"e":0.5,"f":"x/y","g":[1,"two"],"h":{"i":false}}"#
        let value = try JSONValue(jsonText: text)
        #expect(value["c"] == .integer(-3))
        #expect(value["d"] == .unsignedInteger(.max))
        #expect(value["e"] == .double(0.5))
        #expect(value["b"] == .bool(true))
        #expect(value["a"] == .null)
        #expect(try value.jsonText() == text)
    }
}
