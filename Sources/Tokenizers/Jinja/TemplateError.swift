/// Why a chat template was refused at load or failed to render. `message` names the construct (the unknown
/// filter, test or statement; the template's own `raise_exception` text), with the line where known.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The template does not parse, or uses a construct this interpreter does not have (refused at load).
        case syntax
        /// The template raised (`raise_exception`) or failed while rendering (as jinja2 would fail).
        case render
        /// A bound of the interpreter was hit (output size, recursion, loop iterations): hostile or runaway input.
        case limit
    }

    public let kind: Kind
    public let message: String
    /// The template line (1-based) where the problem was found, if known.
    public let line: Int?

    public init(kind: Kind, message: String, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
    }

    public var description: String {
        if let line { return "chat template line \(line): \(message)" }
        return "chat template: \(message)"
    }
}
