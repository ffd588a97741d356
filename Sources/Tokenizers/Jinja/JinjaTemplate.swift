import Foundation

/// A Jinja chat template, parsed once at load and rendered per request as Python's jinja2 renders it in the
/// environment transformers' `apply_chat_template` uses (docs/TOKENIZERS.md, "Chat templates").
///
///     let template = try JinjaTemplate(source: text)          // TemplateError(kind: .syntax) names what it refuses
///     let prompt = try template.render(context: ["messages": …, "add_generation_prompt": true])
public struct JinjaTemplate: Sendable, Equatable {
    public let source: String
    private let program: Program

    /// The parsed statements; immutable after parsing, so sharing it between threads is safe.
    private final class Program: @unchecked Sendable {
        let nodes: [JinjaNode]
        init(nodes: [JinjaNode]) { self.nodes = nodes }
    }

    public init(source: String) throws {
        self.source = source
        program = Program(nodes: try JinjaParser.parse(source))
    }

    /// Renders with the given variables (plus the globals `range`, `namespace`, `dict`, `raise_exception` and
    /// `strftime_now`, which reads `date` in `timeZone`). Throws `TemplateError`: `.render` when jinja2 would raise
    /// (the template's own `raise_exception` message included), `.limit` when a bound is hit.
    public func render(context: [String: TemplateValue], date: Date = Date(), timeZone: TimeZone = .current) throws -> String {
        let interpreter = JinjaInterpreter(limits: JinjaInterpreter.Limits(), date: date, timeZone: timeZone)
        return try interpreter.render(program.nodes, context: context)
    }

    public static func == (a: JinjaTemplate, b: JinjaTemplate) -> Bool { a.source == b.source }
}
