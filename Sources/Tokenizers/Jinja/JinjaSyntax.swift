/// The parsed template: statements (`JinjaNode`) and expressions (`JinjaExpression`), as jinja2's parser builds
/// them for the subset chat templates use (docs/TOKENIZERS.md, "Chat templates").
indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpression, line: Int)
    case forLoop(JinjaForLoop)
    case conditional(branches: [(condition: JinjaExpression, body: [JinjaNode])], otherwise: [JinjaNode])
    case assign(JinjaTarget, JinjaExpression, line: Int)
    case assignBlock(JinjaTarget, filters: [JinjaFilterCall], body: [JinjaNode], line: Int)
    case macro(name: String, parameters: [(name: String, defaultValue: JinjaExpression?)], body: [JinjaNode])
    case filterBlock(filters: [JinjaFilterCall], body: [JinjaNode], line: Int)
    /// transformers' `{% generation %}` (AssistantTracker): renders its body unchanged.
    case generation([JinjaNode])
    case breakLoop(line: Int)
    case continueLoop(line: Int)
}

struct JinjaForLoop {
    let target: JinjaTarget
    let iterable: JinjaExpression
    let filter: JinjaExpression?
    let body: [JinjaNode]
    let otherwise: [JinjaNode]
    let line: Int
}

/// What `set` and `for` assign to.
indirect enum JinjaTarget {
    case name(String)
    /// `ns.attr`: a namespace attribute.
    case attribute(String, String)
    case tuple([JinjaTarget])
}

struct JinjaFilterCall {
    let name: String
    let arguments: [JinjaExpression]
    let keywords: [(String, JinjaExpression)]
    let line: Int
}

indirect enum JinjaExpression {
    case constant(JinjaValue)
    case name(String, line: Int)
    case list([JinjaExpression])
    case tuple([JinjaExpression])
    case dict([(JinjaExpression, JinjaExpression)], line: Int)
    case attribute(JinjaExpression, String, line: Int)
    case item(JinjaExpression, JinjaExpression, line: Int)
    case slice(JinjaExpression, start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?, line: Int)
    case call(JinjaExpression, arguments: [JinjaExpression], keywords: [(String, JinjaExpression)], line: Int)
    case filter(JinjaExpression, JinjaFilterCall)
    case test(JinjaExpression, name: String, arguments: [JinjaExpression], line: Int)
    case not(JinjaExpression)
    case negate(JinjaExpression, line: Int)
    case plus(JinjaExpression, line: Int)
    case and(JinjaExpression, JinjaExpression)
    case or(JinjaExpression, JinjaExpression)
    case binary(String, JinjaExpression, JinjaExpression, line: Int)
    case concat([JinjaExpression])
    case compare(JinjaExpression, [(String, JinjaExpression)], line: Int)
    case conditional(condition: JinjaExpression, then: JinjaExpression, otherwise: JinjaExpression?)
}
