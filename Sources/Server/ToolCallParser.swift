import Foundation
import Tokenizers

/// A tool call read from a model's output.
struct ParsedToolCall: Sendable, Equatable {
    /// `call_` and 24 random letters and digits, as OpenAI's ids look.
    var id: String
    var name: String
    /// The arguments object as JSON text (OpenAI sends a string, which the client parses).
    var arguments: String

    static func newID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return "call_" + String((0..<24).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}

/// Reads tool calls from a model's output as it arrives, in the Qwen2.5 / Hermes format: a JSON object
/// `{"name": …, "arguments": {…}}` between `<tool_call>` and `</tool_call>`. Text outside the blocks is content; text
/// that may be the start of a marker is held until it is known not to be (a partial `<tool_call>` never reaches the
/// client as content). A block that is not such an object, or names a function not among the tools, stays content,
/// markup included, so that nothing the model wrote is lost; so does a block still open when the output ends.
/// Content is trimmed of the blank text at its start and end (the lines around the blocks).
///
/// Small models often write the call without its tags (Qwen2.5-Coder-0.5B does at temperature 0): an output that is,
/// whole, one such JSON object is read as one call too. An output that starts with `{` is therefore held until it ends.
///
/// The whole-response path feeds the whole text at once, so a streamed and a whole response agree.
struct ToolCallStreamParser {
    enum Output: Equatable {
        case content(String)
        case call(ParsedToolCall)
    }

    static let open = "<tool_call>"
    static let close = "</tool_call>"
    /// A block longer than this is not parsed (it stays content): it bounds what one choice holds back.
    static let maxBlockBytes = 256 * 1024

    let functionNames: Set<String>
    private var held = ""
    private var inBlock = false
    /// Content trimming: whether non-blank content was sent yet, and the blanks held after the last of it.
    private var startedContent = false
    private var heldBlanks = ""
    private(set) var callCount = 0
    /// The output's blank start, until its first other character says whether it may be a bare call.
    private var start: String? = ""
    /// The output so far while it may be a bare call (it starts with `{`).
    private var bare: String?

    init(functionNames: Set<String>) { self.functionNames = functionNames }

    mutating func feed(_ text: String) -> [Output] {
        if let pending = start {
            let whole = pending + text
            guard let first = whole.first(where: { !$0.isWhitespace }) else {
                start = whole
                return []
            }
            start = nil
            if first == "{" {
                bare = whole
                return []
            }
            return scan(whole)
        }
        if let pending = bare {
            let whole = pending + text
            guard whole.utf8.count <= Self.maxBlockBytes else {
                bare = nil
                return scan(whole)
            }
            bare = whole
            return []
        }
        return scan(text)
    }

    private mutating func scan(_ text: String) -> [Output] {
        held += text
        var out: [Output] = []
        while true {
            if inBlock {
                guard let end = held.range(of: Self.close) else {
                    if held.utf8.count > Self.maxBlockBytes {
                        inBlock = false
                        emitContent(Self.open + held, into: &out)
                        held = ""
                    }
                    break
                }
                let body = String(held[..<end.lowerBound])
                held = String(held[end.upperBound...])
                inBlock = false
                if let call = parseBlock(body) {
                    callCount += 1
                    out.append(.call(call))
                } else {
                    emitContent(Self.open + body + Self.close, into: &out)
                }
            } else if let start = held.range(of: Self.open) {
                emitContent(String(held[..<start.lowerBound]), into: &out)
                held = String(held[start.upperBound...])
                inBlock = true
            } else {
                // Hold the longest tail that could begin a marker.
                let keep = Self.markerPrefixLength(held)
                let cut = held.index(held.endIndex, offsetBy: -keep)
                emitContent(String(held[..<cut]), into: &out)
                held = String(held[cut...])
                break
            }
        }
        return out
    }

    /// At the end of the output: what is still held, as content (a block never closed included).
    mutating func finish() -> [Output] {
        var out: [Output] = []
        if let pending = start {
            start = nil
            out += scan(pending)
        }
        if let pending = bare {
            bare = nil
            if let call = parseBlock(pending) {
                callCount += 1
                return [.call(call)]
            }
            out += scan(pending)
        }
        emitContent((inBlock ? Self.open : "") + held, into: &out)
        held = ""
        inBlock = false
        heldBlanks = ""
        return out
    }

    /// The whole output at once: its content (nil when only blanks) and its calls, in order.
    static func parse(_ text: String, functionNames: Set<String>) -> (content: String?, calls: [ParsedToolCall]) {
        var parser = ToolCallStreamParser(functionNames: functionNames)
        var content = ""
        var calls: [ParsedToolCall] = []
        for output in parser.feed(text) + parser.finish() {
            switch output {
            case .content(let text): content += text
            case .call(let call): calls.append(call)
            }
        }
        return (content.isEmpty ? nil : content, calls)
    }

    private mutating func emitContent(_ text: String, into out: inout [Output]) {
        guard !text.isEmpty else { return }
        var text = Substring(text)
        if !startedContent {
            text = text.drop(while: \.isWhitespace)
            guard !text.isEmpty else { return }
            startedContent = true
        }
        let body = text.reversed().drop(while: \.isWhitespace).count
        let blanks = text.dropFirst(body)
        let visible = text.prefix(body)
        if visible.isEmpty {
            heldBlanks += blanks
            return
        }
        let piece = heldBlanks + visible
        heldBlanks = String(blanks)
        if case .content(let previous)? = out.last {
            out[out.count - 1] = .content(previous + piece)
        } else {
            out.append(.content(piece))
        }
    }

    /// The length in characters of the longest suffix of `text` that is a proper prefix of `<tool_call>`.
    static func markerPrefixLength(_ text: String) -> Int {
        let marker = Array(open)
        let tail = Array(text.suffix(marker.count - 1))
        for length in stride(from: min(tail.count, marker.count - 1), to: 0, by: -1)
            where Array(tail[(tail.count - length)...]) == Array(marker[..<length]) {
            return length
        }
        return 0
    }

    /// `{"name": …, "arguments": {…}}` (arguments may also be a JSON string holding the object, or absent for a call
    /// without arguments) naming one of the tools; nil otherwise.
    func parseBlock(_ body: String) -> ParsedToolCall? {
        guard case .object(let object)? = try? TemplateValue(json: body.trimmingCharacters(in: .whitespacesAndNewlines)),
              case .string(let name)? = object["name"], functionNames.contains(name) else { return nil }
        let arguments: TemplateValue
        switch object["arguments"] ?? object["parameters"] {
        case nil: arguments = .object(TemplateObject())
        case .object?: arguments = object["arguments"] ?? object["parameters"] ?? .null
        case .string(let text)?:
            guard case .object? = try? TemplateValue(json: text) else { return nil }
            return ParsedToolCall(id: ParsedToolCall.newID(), name: name, arguments: text)
        default: return nil
        }
        return ParsedToolCall(id: ParsedToolCall.newID(), name: name, arguments: arguments.compactJSON)
    }
}
