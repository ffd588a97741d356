/// Checks every filter and test a template names, at load, as jinja2's compiler does: a name this interpreter
/// has passes; one jinja2 has but this interpreter lacks is refused (it could not render what jinja2 renders); a
/// name neither knows is refused unless it sits inside an `if` statement or a conditional expression, where jinja2
/// only fails if it is reached (both then fail at that point with "No filter named …").
enum JinjaNameCheck {
    static func check(_ nodes: [JinjaNode]) throws {
        for node in nodes { try check(node, soft: false) }
    }

    private static func check(_ node: JinjaNode, soft: Bool) throws {
        switch node {
        case .text, .breakLoop, .continueLoop:
            break
        case .output(let expression, _):
            try check(expression, soft: soft)
        case .forLoop(let loop):
            try check(loop.iterable, soft: soft)
            if let filter = loop.filter { try check(filter, soft: false) }
            for child in loop.body + loop.otherwise { try check(child, soft: false) }
        case .conditional(let branches, let otherwise):
            for branch in branches {
                try check(branch.condition, soft: true)
                for child in branch.body { try check(child, soft: true) }
            }
            for child in otherwise { try check(child, soft: true) }
        case .assign(_, let expression, _):
            try check(expression, soft: soft)
        case .assignBlock(_, let filters, let body, _), .filterBlock(let filters, let body, _):
            for filter in filters { try check(filter, soft: false) }
            for child in body { try check(child, soft: false) }
        case .macro(_, let parameters, let body):
            for case let (_, defaultValue?) in parameters { try check(defaultValue, soft: false) }
            for child in body { try check(child, soft: false) }
        case .generation(let body):
            for child in body { try check(child, soft: false) }
        }
    }

    private static func check(_ filter: JinjaFilterCall, soft: Bool) throws {
        try checkName(filter.name, kind: "filter", implemented: JinjaFilters.names, jinja: JinjaFilters.jinjaBuiltins,
                      soft: soft, line: filter.line)
        for argument in filter.arguments { try check(argument, soft: soft) }
        for (_, argument) in filter.keywords { try check(argument, soft: soft) }
    }

    private static func checkName(_ name: String, kind: String, implemented: Set<String>, jinja: Set<String>, soft: Bool, line: Int) throws {
        if implemented.contains(name) { return }
        if jinja.contains(name) {
            throw TemplateError(kind: .syntax, message: "unsupported \(kind) '\(name)'", line: line)
        }
        if !soft { throw TemplateError(kind: .syntax, message: "unknown \(kind) '\(name)'", line: line) }
    }

    private static func check(_ expression: JinjaExpression, soft: Bool) throws {
        switch expression {
        case .constant, .name:
            break
        case .list(let items), .tuple(let items), .concat(let items):
            for item in items { try check(item, soft: soft) }
        case .dict(let pairs, _):
            for (key, value) in pairs { try check(key, soft: soft); try check(value, soft: soft) }
        case .attribute(let object, _, _), .not(let object), .negate(let object, _), .plus(let object, _):
            try check(object, soft: soft)
        case .item(let object, let key, _):
            try check(object, soft: soft)
            try check(key, soft: soft)
        case .slice(let object, let start, let stop, let step, _):
            for part in [object, start, stop, step].compactMap({ $0 }) { try check(part, soft: soft) }
        case .call(let callee, let arguments, let keywords, _):
            try check(callee, soft: soft)
            for argument in arguments + keywords.map(\.1) { try check(argument, soft: soft) }
        case .filter(let value, let filter):
            try check(value, soft: soft)
            try check(filter, soft: soft)
        case .test(let value, let name, let arguments, let line):
            try check(value, soft: soft)
            try checkName(name, kind: "test", implemented: JinjaTests.names, jinja: JinjaTests.jinjaBuiltins, soft: soft, line: line)
            for argument in arguments { try check(argument, soft: soft) }
        case .and(let left, let right), .or(let left, let right), .binary(_, let left, let right, _):
            try check(left, soft: soft)
            try check(right, soft: soft)
        case .compare(let first, let operations, _):
            try check(first, soft: soft)
            for (_, operand) in operations { try check(operand, soft: soft) }
        case .conditional(let condition, let then, let otherwise):
            try check(condition, soft: true)
            try check(then, soft: true)
            if let otherwise { try check(otherwise, soft: true) }
        }
    }
}
