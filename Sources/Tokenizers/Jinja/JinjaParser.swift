/// Builds the syntax tree from tokens by jinja2's grammar (`parser.py`: the same precedence, the same tuple,
/// slice and test-argument rules). Filters and tests are checked here, as jinja2 checks them when it compiles,
/// so a template naming one this interpreter lacks is refused at load.
struct JinjaParser {
    private let tokens: [JinjaToken]
    private var index = 0
    private var depth = 0
    /// Nesting bound for statements and expressions: a template is file input.
    static let maximumDepth = 64

    init(tokens: [JinjaToken]) { self.tokens = tokens }

    static func parse(_ source: String) throws -> [JinjaNode] {
        var parser = JinjaParser(tokens: try JinjaLexer.tokenize(source))
        let (body, _) = try parser.subparse(endTags: [])
        try JinjaNameCheck.check(body)
        return body
    }

    // MARK: the token stream

    private var current: JinjaToken { tokens[index] }
    private var look: JinjaToken { tokens[min(index + 1, tokens.count - 1)] }
    private mutating func next() -> JinjaToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func fail(_ message: String, line: Int? = nil) -> TemplateError {
        TemplateError(kind: .syntax, message: message, line: line ?? current.line)
    }

    private func isOperator(_ op: String, _ token: JinjaToken? = nil) -> Bool {
        if case .operator_(let value) = (token ?? current).kind { return value == op }
        return false
    }

    private func isName(_ name: String, _ token: JinjaToken? = nil) -> Bool {
        if case .name(let value) = (token ?? current).kind { return value == name }
        return false
    }

    private mutating func skipOperator(_ op: String) -> Bool {
        if isOperator(op) { _ = next(); return true }
        return false
    }

    private mutating func skipName(_ name: String) -> Bool {
        if isName(name) { _ = next(); return true }
        return false
    }

    private mutating func expectOperator(_ op: String) throws {
        guard skipOperator(op) else { throw fail("expected '\(op)', got \(describe(current))") }
    }

    private mutating func expectName() throws -> String {
        guard case .name(let name) = current.kind else { throw fail("expected a name, got \(describe(current))") }
        _ = next()
        return name
    }

    private mutating func expectBlockEnd() throws {
        guard current.kind == .blockEnd else { throw fail("expected end of statement block, got \(describe(current))") }
        _ = next()
    }

    private func describe(_ token: JinjaToken) -> String {
        switch token.kind {
        case .text: return "template text"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .name(let n): return "'\(n)'"
        case .string: return "a string"
        case .integer, .float: return "a number"
        case .operator_(let o): return "'\(o)'"
        case .end: return "end of template"
        }
    }

    private mutating func nest() throws {
        depth += 1
        guard depth <= Self.maximumDepth else {
            throw TemplateError(kind: .limit, message: "the template nests deeper than \(Self.maximumDepth) levels", line: current.line)
        }
    }

    // MARK: statements

    /// Parses nodes until a block whose tag is one of `endTags` (left as the current token) or the end.
    private mutating func subparse(endTags: Set<String>) throws -> ([JinjaNode], String?) {
        var body: [JinjaNode] = []
        while true {
            let token = current
            switch token.kind {
            case .end:
                return (body, nil)
            case .text(let text):
                _ = next()
                body.append(.text(text))
            case .variableBegin:
                _ = next()
                let expression = try parseTuple()
                guard current.kind == .variableEnd else { throw fail("expected '}}', got \(describe(current))") }
                _ = next()
                body.append(.output(expression, line: token.line))
            case .blockBegin:
                _ = next()
                if case .name(let tag) = current.kind, endTags.contains(tag) { return (body, tag) }
                body.append(try parseStatement())
                try expectBlockEnd()
            default:
                throw fail("unexpected \(describe(token))")
            }
        }
    }

    /// After a statement's header: the block end, then the body up to one of `endTags`, whose name is consumed.
    private mutating func parseStatements(_ endTags: Set<String>, opening: String, line: Int) throws -> ([JinjaNode], String) {
        try expectBlockEnd()
        try nest()
        defer { depth -= 1 }
        let (body, tag) = try subparse(endTags: endTags)
        guard let tag else {
            throw fail("unexpected end of template: '\(opening)' opened on line \(line) is not closed (expected \(endTags.sorted().joined(separator: " or ")))")
        }
        _ = next()
        return (body, tag)
    }

    private static let unsupportedTags: Set<String> = [
        "call", "block", "extends", "include", "import", "from", "with", "autoescape", "raw", "do", "trans", "pluralize",
    ]

    private mutating func parseStatement() throws -> JinjaNode {
        let token = current
        guard case .name(let tag) = token.kind else { throw fail("tag name expected, got \(describe(token))") }
        _ = next()
        switch tag {
        case "for": return try parseFor(line: token.line)
        case "if": return try parseIf(line: token.line)
        case "set": return try parseSet(line: token.line)
        case "macro": return try parseMacro(line: token.line)
        case "filter":
            let filters = try parseFilterChain(startInline: true)
            let (body, _) = try parseStatements(["endfilter"], opening: "filter", line: token.line)
            return .filterBlock(filters: filters, body: body, line: token.line)
        case "generation":
            let (body, _) = try parseStatements(["endgeneration"], opening: "generation", line: token.line)
            return .generation(body)
        case "break": return .breakLoop(line: token.line)
        case "continue": return .continueLoop(line: token.line)
        default:
            if Self.unsupportedTags.contains(tag) {
                throw fail("unsupported statement '\(tag)'", line: token.line)
            }
            throw fail("unknown statement '\(tag)'", line: token.line)
        }
    }

    private mutating func parseFor(line: Int) throws -> JinjaNode {
        let target = try parseAssignTarget(endNames: ["in"])
        guard skipName("in") else { throw fail("expected 'in' in a for statement, got \(describe(current))") }
        let iterable = try parseTuple(withConditional: false, endNames: ["recursive"])
        var filter: JinjaExpression?
        if skipName("if") { filter = try parseExpression() }
        if isName("recursive") { throw fail("unsupported construct 'recursive' loop") }
        let (body, tag) = try parseStatements(["endfor", "else"], opening: "for", line: line)
        var otherwise: [JinjaNode] = []
        if tag == "else" { otherwise = try parseStatements(["endfor"], opening: "for", line: line).0 }
        return .forLoop(JinjaForLoop(target: target, iterable: iterable, filter: filter, body: body, otherwise: otherwise, line: line))
    }

    private mutating func parseIf(line: Int) throws -> JinjaNode {
        var branches: [(condition: JinjaExpression, body: [JinjaNode])] = []
        var condition = try parseTuple(withConditional: false)
        while true {
            let (body, tag) = try parseStatements(["elif", "else", "endif"], opening: "if", line: line)
            branches.append((condition, body))
            if tag == "elif" {
                condition = try parseTuple(withConditional: false)
                continue
            }
            if tag == "else" {
                return .conditional(branches: branches, otherwise: try parseStatements(["endif"], opening: "if", line: line).0)
            }
            return .conditional(branches: branches, otherwise: [])
        }
    }

    private mutating func parseSet(line: Int) throws -> JinjaNode {
        let target: JinjaTarget
        if case .name(let name) = current.kind, isOperator(".", look) {
            _ = next(); _ = next()
            target = .attribute(name, try expectName())
        } else {
            target = try parseAssignTarget(endNames: [])
        }
        if skipOperator("=") { return .assign(target, try parseTuple(), line: line) }
        let filters = isOperator("|") ? try parseFilterChain(startInline: false) : []
        let (body, _) = try parseStatements(["endset"], opening: "set", line: line)
        return .assignBlock(target, filters: filters, body: body, line: line)
    }

    private mutating func parseMacro(line: Int) throws -> JinjaNode {
        let name = try expectName()
        try expectOperator("(")
        var parameters: [(name: String, defaultValue: JinjaExpression?)] = []
        while !isOperator(")") {
            if !parameters.isEmpty { try expectOperator(",") }
            if isOperator(")") { break }
            let parameter = try expectName()
            if skipOperator("=") {
                parameters.append((parameter, try parseExpression()))
            } else {
                if parameters.contains(where: { $0.defaultValue != nil }) { throw fail("non-default argument follows default argument") }
                parameters.append((parameter, nil))
            }
        }
        try expectOperator(")")
        let (body, _) = try parseStatements(["endmacro"], opening: "macro", line: line)
        return .macro(name: name, parameters: parameters, body: body)
    }

    /// A `for`/`set` target: a name or a tuple of names (`a, b` or `(a, b)`).
    private mutating func parseAssignTarget(endNames: Set<String>) throws -> JinjaTarget {
        var targets: [JinjaTarget] = []
        var isTuple = false
        while true {
            if !targets.isEmpty { try expectOperator(",") }
            if current.kind == .blockEnd || isOperator(")") || isOperator("=") || endNames.contains(where: { isName($0) }) { break }
            if skipOperator("(") {
                targets.append(try parseAssignTarget(endNames: []))
                try expectOperator(")")
            } else {
                let name = try expectName()
                if ["true", "false", "none", "True", "False", "None"].contains(name) { throw fail("can't assign to '\(name)'") }
                targets.append(.name(name))
            }
            if isOperator(",") { isTuple = true } else { break }
        }
        if !isTuple, let only = targets.first { return only }
        guard !targets.isEmpty else { throw fail("expected an assignment target, got \(describe(current))") }
        return .tuple(targets)
    }

    // MARK: expressions

    private mutating func parseTuple(withConditional: Bool = true, endNames: Set<String> = [], explicitParentheses: Bool = false) throws -> JinjaExpression {
        var items: [JinjaExpression] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOperator(",") }
            if current.kind == .variableEnd || current.kind == .blockEnd || isOperator(")") || endNames.contains(where: { isName($0) }) { break }
            items.append(withConditional ? try parseExpression() : try parseOr())
            if isOperator(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw fail("expected an expression, got \(describe(current))") }
        }
        return .tuple(items)
    }

    mutating func parseExpression() throws -> JinjaExpression {
        try nest()
        defer { depth -= 1 }
        var expression = try parseOr()
        while skipName("if") {
            let condition = try parseOr()
            let otherwise = skipName("else") ? try parseExpression() : nil
            expression = .conditional(condition: condition, then: expression, otherwise: otherwise)
        }
        return expression
    }

    private mutating func parseOr() throws -> JinjaExpression {
        var left = try parseAnd()
        var wraps = 0
        defer { depth -= wraps }
        while skipName("or") {
            try nest(); wraps += 1
            left = .or(left, try parseAnd())
        }
        return left
    }

    private mutating func parseAnd() throws -> JinjaExpression {
        var left = try parseNot()
        var wraps = 0
        defer { depth -= wraps }
        while skipName("and") {
            try nest(); wraps += 1
            left = .and(left, try parseNot())
        }
        return left
    }

    private mutating func parseNot() throws -> JinjaExpression {
        if skipName("not") {
            try nest()
            defer { depth -= 1 }
            return .not(try parseNot())
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> JinjaExpression {
        let line = current.line
        let first = try parseMath1()
        var operations: [(String, JinjaExpression)] = []
        while true {
            if case .operator_(let op) = current.kind, ["==", "!=", "<", "<=", ">", ">="].contains(op) {
                _ = next()
                operations.append((op, try parseMath1()))
            } else if skipName("in") {
                operations.append(("in", try parseMath1()))
            } else if isName("not") && isName("in", look) {
                _ = next(); _ = next()
                operations.append(("not in", try parseMath1()))
            } else {
                break
            }
        }
        return operations.isEmpty ? first : .compare(first, operations, line: line)
    }

    private mutating func parseMath1() throws -> JinjaExpression {
        var left = try parseConcat()
        var wraps = 0
        defer { depth -= wraps }
        while case .operator_(let op) = current.kind, op == "+" || op == "-" {
            try nest(); wraps += 1
            let line = next().line
            left = .binary(op, left, try parseConcat(), line: line)
        }
        return left
    }

    private mutating func parseConcat() throws -> JinjaExpression {
        var items = [try parseMath2()]
        while skipOperator("~") {
            guard items.count < 10_000 else { throw TemplateError(kind: .limit, message: "too many '~' operands", line: current.line) }
            items.append(try parseMath2())
        }
        return items.count == 1 ? items[0] : .concat(items)
    }

    private mutating func parseMath2() throws -> JinjaExpression {
        var left = try parsePow()
        var wraps = 0
        defer { depth -= wraps }
        while case .operator_(let op) = current.kind, ["*", "/", "//", "%"].contains(op) {
            try nest(); wraps += 1
            let line = next().line
            left = .binary(op, left, try parsePow(), line: line)
        }
        return left
    }

    private mutating func parsePow() throws -> JinjaExpression {
        var left = try parseUnary()
        var wraps = 0
        defer { depth -= wraps }
        while isOperator("**") {
            try nest(); wraps += 1
            let line = next().line
            left = .binary("**", left, try parseUnary(), line: line)
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> JinjaExpression {
        try nest()
        defer { depth -= 1 }
        var node: JinjaExpression
        let line = current.line
        if skipOperator("-") {
            node = .negate(try parseUnary(withFilter: false), line: line)
        } else if skipOperator("+") {
            node = .plus(try parseUnary(withFilter: false), line: line)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpression(node) }
        return node
    }

    private mutating func parsePrimary() throws -> JinjaExpression {
        let token = current
        switch token.kind {
        case .name(let name):
            _ = next()
            switch name {
            case "true", "True": return .constant(.bool(true))
            case "false", "False": return .constant(.bool(false))
            case "none", "None": return .constant(.none)
            default: return .name(name, line: token.line)
            }
        case .string(var text):
            _ = next()
            while case .string(let more) = current.kind {   // adjacent literals concatenate
                text += more
                _ = next()
            }
            return .constant(.string(text))
        case .integer(let value):
            _ = next()
            return .constant(.int(value))
        case .float(let value):
            _ = next()
            return .constant(.double(value))
        case .operator_("("):
            _ = next()
            let node = try parseTuple(explicitParentheses: true)
            try expectOperator(")")
            return node
        case .operator_("["):
            _ = next()
            var items: [JinjaExpression] = []
            while !isOperator("]") {
                if !items.isEmpty { try expectOperator(",") }
                if isOperator("]") { break }
                items.append(try parseExpression())
            }
            try expectOperator("]")
            return .list(items)
        case .operator_("{"):
            _ = next()
            var items: [(JinjaExpression, JinjaExpression)] = []
            while !isOperator("}") {
                if !items.isEmpty { try expectOperator(",") }
                if isOperator("}") { break }
                let key = try parseExpression()
                try expectOperator(":")
                items.append((key, try parseExpression()))
            }
            try expectOperator("}")
            return .dict(items, line: token.line)
        default:
            throw fail("unexpected \(describe(token))")
        }
    }

    private mutating func parsePostfix(_ start: JinjaExpression) throws -> JinjaExpression {
        var node = start
        var wraps = 0
        defer { depth -= wraps }
        while true {
            try nest(); wraps += 1
            if isOperator(".") || isOperator("[") {
                node = try parseSubscript(node)
            } else if isOperator("(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    private mutating func parseFilterExpression(_ start: JinjaExpression) throws -> JinjaExpression {
        var node = start
        var wraps = 0
        defer { depth -= wraps }
        while true {
            try nest(); wraps += 1
            if isOperator("|") {
                for filter in try parseFilterChain(startInline: false, single: true) { node = .filter(node, filter) }
            } else if isName("is") {
                node = try parseTest(node)
            } else if isOperator("(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ node: JinjaExpression) throws -> JinjaExpression {
        let token = next()
        if isOperator(".", token) {
            let attribute = current
            _ = next()
            switch attribute.kind {
            case .name(let name): return .attribute(node, name, line: token.line)
            case .integer(let value): return .item(node, .constant(.int(value)), line: token.line)
            default: throw fail("expected name or number after '.'")
            }
        }
        var arguments: [JinjaExpression] = []
        while !isOperator("]") {
            if !arguments.isEmpty { try expectOperator(",") }
            arguments.append(try parseSubscribed(node, line: token.line))
        }
        try expectOperator("]")
        guard arguments.count == 1 else { return .item(node, .tuple(arguments), line: token.line) }
        if case .slice = arguments[0] { return arguments[0] }
        return .item(node, arguments[0], line: token.line)
    }

    /// One subscript: an expression or a slice `start:stop:step` (parts optional).
    private mutating func parseSubscribed(_ node: JinjaExpression, line: Int) throws -> JinjaExpression {
        var start: JinjaExpression?
        if !isOperator(":") {
            let expression = try parseExpression()
            guard isOperator(":") else { return expression }
            start = expression
        }
        _ = next()
        var stop: JinjaExpression?, step: JinjaExpression?
        if !isOperator(":") && !isOperator("]") && !isOperator(",") { stop = try parseExpression() }
        if skipOperator(":") {
            if !isOperator("]") && !isOperator(",") { step = try parseExpression() }
        }
        return .slice(node, start: start, stop: stop, step: step, line: line)
    }

    private mutating func parseCallArguments() throws -> ([JinjaExpression], [(String, JinjaExpression)]) {
        try expectOperator("(")
        var arguments: [JinjaExpression] = []
        var keywords: [(String, JinjaExpression)] = []
        var needsComma = false
        while !isOperator(")") {
            if needsComma {
                try expectOperator(",")
                if isOperator(")") { break }
            }
            if isOperator("*") || isOperator("**") { throw fail("unsupported construct '*args'/'**kwargs' in a call") }
            if case .name(let key) = current.kind, isOperator("=", look) {
                _ = next(); _ = next()
                keywords.append((key, try parseExpression()))
            } else {
                if !keywords.isEmpty { throw fail("positional argument after keyword argument") }
                arguments.append(try parseExpression())
            }
            needsComma = true
        }
        try expectOperator(")")
        return (arguments, keywords)
    }

    private mutating func parseCall(_ node: JinjaExpression) throws -> JinjaExpression {
        let line = current.line
        let (arguments, keywords) = try parseCallArguments()
        return .call(node, arguments: arguments, keywords: keywords, line: line)
    }

    /// `| name(args) | name …`; with `single`, one filter (the caller loops).
    private mutating func parseFilterChain(startInline: Bool, single: Bool = false) throws -> [JinjaFilterCall] {
        var filters: [JinjaFilterCall] = []
        var inline = startInline
        while isOperator("|") || inline {
            if !inline { _ = next() }
            inline = false
            let line = current.line
            var name = try expectName()
            while skipOperator(".") { name += "." + (try expectName()) }
            var arguments: [JinjaExpression] = [], keywords: [(String, JinjaExpression)] = []
            if isOperator("(") { (arguments, keywords) = try parseCallArguments() }
            filters.append(JinjaFilterCall(name: name, arguments: arguments, keywords: keywords, line: line))
            if single { break }
        }
        return filters
    }

    private mutating func parseTest(_ node: JinjaExpression) throws -> JinjaExpression {
        let line = next().line
        let negated = skipName("not")
        var name = try expectName()
        while skipOperator(".") { name += "." + (try expectName()) }
        var arguments: [JinjaExpression] = []
        if isOperator("(") {
            let (positional, keywords) = try parseCallArguments()
            guard keywords.isEmpty else { throw fail("unsupported construct: keyword arguments to test '\(name)'", line: line) }
            arguments = positional
        } else {
            var startsArgument = false
            switch current.kind {
            case .name(let word): startsArgument = !["else", "or", "and"].contains(word)
            case .string, .integer, .float: startsArgument = true
            case .operator_(let op): startsArgument = op == "(" || op == "[" || op == "{"
            default: break
            }
            if startsArgument {
                if isName("is") { throw fail("You cannot chain multiple tests with is") }
                arguments = [try parsePostfix(try parsePrimary())]
            }
        }
        let test = JinjaExpression.test(node, name: name, arguments: arguments, line: line)
        return negated ? .not(test) : test
    }
}
