import Foundation

/// Renders a parsed template as jinja2 does in transformers' environment (docs/TOKENIZERS.md, "Chat templates"):
/// scopes (a `for` iteration and a macro call get their own; `if` does not), Python's operators and `str`,
/// jinja2's Undefined, and bounds on output size, work and macro recursion, since a template is file input and the
/// values it renders are request input.
final class JinjaInterpreter {
    struct Limits {
        /// UTF-8 bytes rendered in total (captured blocks and macro results included), and the largest single string.
        var maximumOutputBytes = 8 << 20
        /// UTF-8 bytes of all strings built by expressions (`+`, `~`, `join`, `tojson`…): templates that accumulate a
        /// string in a loop copy it each time, so this is larger than the output bound.
        var maximumWorkBytes = 1 << 30
        /// Statements executed plus loop iterations plus macro calls.
        var maximumSteps = 2_000_000
        /// Macro calls in progress at once.
        var maximumCallDepth = 40
    }

    let limits: Limits
    let date: Date
    let timeZone: TimeZone
    private var steps = 0
    private var callDepth = 0
    private var producedBytes = 0
    private var workBytes = 0

    /// What executing statements may end with besides falling through.
    enum Signal { case normal, breakLoop, continueLoop }

    init(limits: Limits, date: Date, timeZone: TimeZone) {
        self.limits = limits
        self.date = date
        self.timeZone = timeZone
    }

    static let globalFunctions: Set<String> = ["range", "namespace", "dict", "raise_exception", "strftime_now"]

    func render(_ nodes: [JinjaNode], context: [String: TemplateValue]) throws -> String {
        let root = JinjaScope(parent: nil)
        for name in Self.globalFunctions { root.variables[name] = .function(name) }
        for (name, value) in context { root.variables[name] = JinjaValue(value) }
        let top = JinjaScope(parent: root)
        var output = ""
        _ = try execute(nodes, scope: top, into: &output)
        return output
    }

    // MARK: bounds

    func step(line: Int?) throws {
        steps += 1
        if steps > limits.maximumSteps {
            throw TemplateError(kind: .limit, message: "rendering took more than \(limits.maximumSteps) steps", line: line)
        }
    }

    func append(_ text: String, to output: inout String, line: Int?) throws {
        producedBytes += text.utf8.count
        if producedBytes > limits.maximumOutputBytes {
            throw TemplateError(kind: .limit, message: "the rendering exceeds \(limits.maximumOutputBytes) bytes", line: line)
        }
        output += text
    }

    /// Counts a string an expression is about to build: it must fit the output bound, and all of them the work bound.
    func charge(_ bytes: Int, line: Int?) throws {
        if bytes > limits.maximumOutputBytes {
            throw TemplateError(kind: .limit, message: "a string of the rendering exceeds \(limits.maximumOutputBytes) bytes", line: line)
        }
        workBytes += bytes
        if workBytes > limits.maximumWorkBytes {
            throw TemplateError(kind: .limit, message: "the rendering builds more than \(limits.maximumWorkBytes) bytes of strings", line: line)
        }
    }

    // MARK: statements

    func execute(_ nodes: [JinjaNode], scope: JinjaScope, into output: inout String) throws -> Signal {
        for node in nodes {
            let signal = try execute(node, scope: scope, into: &output)
            if signal != .normal { return signal }
        }
        return .normal
    }

    private func execute(_ node: JinjaNode, scope: JinjaScope, into output: inout String) throws -> Signal {
        switch node {
        case .text(let text):
            try append(text, to: &output, line: nil)
        case .output(let expression, let line):
            try step(line: line)
            try append(try evaluate(expression, scope: scope).pythonString, to: &output, line: line)
        case .forLoop(let loop):
            try step(line: loop.line)
            try executeFor(loop, scope: scope, into: &output)
        case .conditional(let branches, let otherwise):
            for branch in branches where try evaluate(branch.condition, scope: scope).truthy {
                return try execute(branch.body, scope: scope, into: &output)
            }
            return try execute(otherwise, scope: scope, into: &output)
        case .assign(let target, let expression, let line):
            try step(line: line)
            try assign(target, value: try evaluate(expression, scope: scope), scope: scope, line: line)
        case .assignBlock(let target, let filters, let body, let line):
            try step(line: line)
            var captured = ""
            _ = try execute(body, scope: scope, into: &captured)
            var value = JinjaValue.string(captured)
            for filter in filters { value = try applyFilter(filter, to: value, scope: scope) }
            try assign(target, value: value, scope: scope, line: line)
        case .macro(let name, let parameters, let body):
            scope.variables[name] = .macro(JinjaMacro(name: name, parameters: parameters, body: body, scope: scope))
        case .filterBlock(let filters, let body, let line):
            try step(line: line)
            var captured = ""
            _ = try execute(body, scope: scope, into: &captured)
            var value = JinjaValue.string(captured)
            for filter in filters { value = try applyFilter(filter, to: value, scope: scope) }
            try append(value.pythonString, to: &output, line: line)
        case .generation(let body):
            return try execute(body, scope: scope, into: &output)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    private func executeFor(_ loop: JinjaForLoop, scope: JinjaScope, into output: inout String) throws {
        var items = try evaluate(loop.iterable, scope: scope).iterated(line: loop.line)
        if let filter = loop.filter {
            items = try items.filter { item in
                let probe = JinjaScope(parent: scope)
                try bind(loop.target, value: item, scope: probe, line: loop.line)
                return try evaluate(filter, scope: probe).truthy
            }
        }
        if items.isEmpty {
            _ = try execute(loop.otherwise, scope: scope, into: &output)
            return
        }
        let count = items.count
        for (index, item) in items.enumerated() {
            try step(line: loop.line)
            let iteration = JinjaScope(parent: scope)
            try bind(loop.target, value: item, scope: iteration, line: loop.line)
            var info = JinjaDict()
            info["index"] = .int(index + 1)
            info["index0"] = .int(index)
            info["revindex"] = .int(count - index)
            info["revindex0"] = .int(count - index - 1)
            info["first"] = .bool(index == 0)
            info["last"] = .bool(index == count - 1)
            info["length"] = .int(count)
            info["depth"] = .int(1)
            info["depth0"] = .int(0)
            if index > 0 { info["previtem"] = items[index - 1] }
            if index + 1 < count { info["nextitem"] = items[index + 1] }
            iteration.variables["loop"] = .dict(info)
            if try execute(loop.body, scope: iteration, into: &output) == .breakLoop { break }
        }
    }

    private func assign(_ target: JinjaTarget, value: JinjaValue, scope: JinjaScope, line: Int) throws {
        if case .attribute(let name, let attribute) = target {
            guard case .namespace(let namespace)? = scope.lookup(name) else {
                throw TemplateError(kind: .render, message: "cannot assign attribute on non-namespace object '\(name)'", line: line)
            }
            namespace.attributes[attribute] = value
            return
        }
        try bind(target, value: value, scope: scope, line: line)
    }

    private func bind(_ target: JinjaTarget, value: JinjaValue, scope: JinjaScope, line: Int) throws {
        switch target {
        case .name(let name):
            scope.variables[name] = value
        case .attribute:
            try assign(target, value: value, scope: scope, line: line)
        case .tuple(let targets):
            let items = try value.iterated(line: line)
            guard items.count == targets.count else {
                throw TemplateError(kind: .render, message: items.count > targets.count
                                    ? "too many values to unpack (expected \(targets.count))"
                                    : "not enough values to unpack (expected \(targets.count), got \(items.count))", line: line)
            }
            for (target, item) in zip(targets, items) { try bind(target, value: item, scope: scope, line: line) }
        }
    }

    // MARK: expressions

    func evaluate(_ expression: JinjaExpression, scope: JinjaScope) throws -> JinjaValue {
        switch expression {
        case .constant(let value):
            return value
        case .name(let name, _):
            return scope.lookup(name) ?? .undefined("'\(name)' is undefined")
        case .list(let items):
            return .list(try items.map { try evaluate($0, scope: scope) })
        case .tuple(let items):
            return .tuple(try items.map { try evaluate($0, scope: scope) })
        case .dict(let items, let line):
            var dict = JinjaDict()
            for (keyExpression, valueExpression) in items {
                let key = try evaluate(keyExpression, scope: scope)
                try dict.set(key, try evaluate(valueExpression, scope: scope), line: line)
            }
            return .dict(dict)
        case .attribute(let object, let name, let line):
            return try attribute(of: try evaluate(object, scope: scope), name, line: line)
        case .item(let object, let key, let line):
            return try item(of: try evaluate(object, scope: scope), try evaluate(key, scope: scope), line: line)
        case .slice(let object, let start, let stop, let stepExpression, let line):
            let value = try evaluate(object, scope: scope)
            func bound(_ e: JinjaExpression?) throws -> Int? {
                guard let e else { return nil }
                let v = try evaluate(e, scope: scope)
                if v.isNone { return nil }
                guard case .int(let i)? = v.number else {
                    throw TemplateError(kind: .render, message: "slice indices must be integers or None", line: line)
                }
                return i
            }
            return try slice(value, start: try bound(start), stop: try bound(stop), step: try bound(stepExpression), line: line)
        case .call(let callee, let argumentExpressions, let keywordExpressions, let line):
            let function = try evaluate(callee, scope: scope)
            let arguments = try argumentExpressions.map { try evaluate($0, scope: scope) }
            let keywords = try keywordExpressions.map { ($0.0, try evaluate($0.1, scope: scope)) }
            return try call(function, JinjaArguments(positional: arguments, keywords: keywords, line: line), scope: scope)
        case .filter(let value, let filter):
            return try applyFilter(filter, to: try evaluate(value, scope: scope), scope: scope)
        case .test(let value, let name, let argumentExpressions, let line):
            let subject = try evaluate(value, scope: scope)
            let arguments = try argumentExpressions.map { try evaluate($0, scope: scope) }
            return .bool(try applyTest(name, to: subject, arguments: arguments, line: line))
        case .not(let operand):
            return .bool(!(try evaluate(operand, scope: scope).truthy))
        case .negate(let operand, let line):
            let value = try evaluate(operand, scope: scope)
            switch value.number {
            case .int(let i)?:
                guard i != Int.min else { throw overflow(line) }
                return .int(-i)
            case .double(let d)?: return .double(-d)
            case nil: throw typeError("bad operand type for unary -: '\(value.typeName)'", value, line: line)
            }
        case .plus(let operand, let line):
            let value = try evaluate(operand, scope: scope)
            switch value.number {
            case .int(let i)?: return .int(i)
            case .double(let d)?: return .double(d)
            case nil: throw typeError("bad operand type for unary +: '\(value.typeName)'", value, line: line)
            }
        case .and(let left, let right):
            let value = try evaluate(left, scope: scope)
            return value.truthy ? try evaluate(right, scope: scope) : value
        case .or(let left, let right):
            let value = try evaluate(left, scope: scope)
            return value.truthy ? value : try evaluate(right, scope: scope)
        case .binary(let op, let left, let right, let line):
            return try binary(op, try evaluate(left, scope: scope), try evaluate(right, scope: scope), line: line)
        case .concat(let items):
            var text = ""
            for item in items { text += try evaluate(item, scope: scope).pythonString }
            try charge(text.utf8.count, line: nil)
            return .string(text)
        case .compare(let first, let operations, let line):
            var left = try evaluate(first, scope: scope)
            for (op, rightExpression) in operations {
                let right = try evaluate(rightExpression, scope: scope)
                guard try compare(op, left, right, line: line) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition, scope: scope).truthy { return try evaluate(then, scope: scope) }
            guard let otherwise else { return .undefined("the inline if expression evaluated to false and no else section was defined") }
            return try evaluate(otherwise, scope: scope)
        }
    }

    // MARK: errors

    func overflow(_ line: Int?) -> TemplateError {
        TemplateError(kind: .limit, message: "integer overflow", line: line)
    }

    /// A TypeError, or the UndefinedError jinja2 raises first when an operand is Undefined.
    func typeError(_ message: String, _ operands: JinjaValue..., line: Int?) -> TemplateError {
        for case .undefined(let why) in operands { return TemplateError(kind: .render, message: why, line: line) }
        return TemplateError(kind: .render, message: message, line: line)
    }

    func undefinedError(_ value: JinjaValue, line: Int?) -> TemplateError? {
        if case .undefined(let why) = value { return TemplateError(kind: .render, message: why, line: line) }
        return nil
    }

    // MARK: attribute and item access (jinja2's sandboxed getattr / getitem)

    static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith", "upper", "lower", "replace", "title",
        "capitalize", "format", "join", "find", "rfind", "count", "splitlines", "isdigit", "isalpha", "isalnum",
        "isspace", "islower", "isupper", "index", "casefold",
    ]
    static let dictMethods: Set<String> = ["get", "items", "keys", "values", "copy", "pop", "popitem", "update", "setdefault", "clear"]
    static let listMethods: Set<String> = ["append", "pop", "insert", "extend", "remove", "reverse", "sort", "clear", "index", "count", "copy"]

    func attribute(of original: JinjaValue, _ name: String, line: Int?) throws -> JinjaValue {
        let value = original.plain
        let missing = JinjaValue.undefined("'\(value.typeName) object' has no attribute '\(name)'")
        if name.hasPrefix("_") { return missing }   // the sandbox hides private attributes
        switch value {
        case .undefined(let why):
            throw TemplateError(kind: .render, message: why, line: line)
        case .string:
            return Self.stringMethods.contains(name) ? .method(value, name) : missing
        case .dict(let dict):
            if Self.dictMethods.contains(name) { return .method(value, name) }
            return dict[name] ?? missing
        case .list, .tuple:
            return Self.listMethods.contains(name) ? .method(value, name) : missing
        case .namespace(let namespace):
            return namespace.attributes[name] ?? missing
        default:
            return missing
        }
    }

    func item(of original: JinjaValue, _ originalKey: JinjaValue, line: Int?) throws -> JinjaValue {
        let value = original.plain, key = originalKey.plain
        switch (value, key) {
        case (.undefined(let why), _):
            throw TemplateError(kind: .render, message: why, line: line)
        case (.dict(let dict), _):
            if let found = dict[value: key] { return found }
        case (.list(let items), _), (.tuple(let items), _):
            if case .int(let index)? = key.number, let found = Self.pythonIndex(index, count: items.count) { return items[found] }
        case (.string(let text), _):
            if case .int(let index)? = key.number {
                let scalars = Array(text.unicodeScalars)
                if let found = Self.pythonIndex(index, count: scalars.count) { return .string(String(scalars[found])) }
            }
        case (.namespace(let namespace), .string(let name)):
            if let found = namespace.attributes[name] { return found }
        case (.iterator(let iterator), _):
            if case .range = iterator.kind, case .int(let index)? = key.number, let found = Self.pythonIndex(index, count: iterator.items.count) {
                return iterator.items[found]
            }
        default:
            break
        }
        if case .string(let name) = key { return try attribute(of: value, name, line: line) }
        return .undefined("'\(value.typeName) object' has no attribute '\(key.pythonString)'")
    }

    /// markupsafe's escape: these five characters become entities, everything else stays.
    private static let htmlEntities: [Unicode.Scalar: String] = ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&#34;", "'": "&#39;"]

    static func htmlEscape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if let entity = htmlEntities[scalar] { out += entity } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    static func pythonIndex(_ index: Int, count: Int) -> Int? {
        let resolved = index < 0 ? count + index : index
        return (0..<count).contains(resolved) ? resolved : nil
    }

    /// Python's slice: bounds clamped, negative bounds from the end, any non-zero step.
    func slice(_ original: JinjaValue, start: Int?, stop: Int?, step: Int?, line: Int?) throws -> JinjaValue {
        let value = original.plain
        let step = step ?? 1
        guard step != 0 else { throw TemplateError(kind: .render, message: "slice step cannot be zero", line: line) }
        func indices(count: Int) -> [Int] {
            func clamp(_ bound: Int?, _ fallback: Int) -> Int {
                guard var b = bound else { return fallback }
                if b < 0 { b += count }
                return step > 0 ? min(max(b, 0), count) : min(max(b, -1), count - 1)
            }
            let from = clamp(start, step > 0 ? 0 : count - 1)
            let to = clamp(stop, step > 0 ? count : -1)
            return Array(stride(from: from, to: to, by: step))
        }
        switch value {
        case .undefined(let why): throw TemplateError(kind: .render, message: why, line: line)
        case .list(let items): return .list(indices(count: items.count).map { items[$0] })
        case .tuple(let items): return .tuple(indices(count: items.count).map { items[$0] })
        case .string(let text):
            let scalars = Array(text.unicodeScalars)
            return .string(PythonText.string(indices(count: scalars.count).map { scalars[$0] }))
        default:
            throw TemplateError(kind: .render, message: "'\(value.typeName)' object is not subscriptable", line: line)
        }
    }

    // MARK: operators

    func binary(_ op: String, _ first: JinjaValue, _ second: JinjaValue, line: Int?) throws -> JinjaValue {
        // Markup + str escapes the str (markupsafe's __add__ / __radd__).
        if op == "+" {
            switch (first, second) {
            case (.markup(let x), .markup(let y)): return .markup(x + y)
            case (.markup(let x), .string(let y)): return .markup(x + JinjaInterpreter.htmlEscape(y))
            case (.string(let x), .markup(let y)): return .markup(JinjaInterpreter.htmlEscape(x) + y)
            default: break
            }
        }
        let a = first.plain, b = second.plain
        let unsupported = typeError("unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'", a, b, line: line)
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)):
            try charge(x.utf8.count + y.utf8.count, line: line)
            return .string(x + y)
        case ("+", .list(let x), .list(let y)):
            return .list(x + y)
        case ("+", .tuple(let x), .tuple(let y)):
            return .tuple(x + y)
        case ("*", .string(let text), _), ("*", _, .string(let text)):
            guard case .int(let count)? = (a.isString ? b : a).number, !(a.isString && b.isString) else { throw unsupported }
            let (size, overflowed) = max(count, 0).multipliedReportingOverflow(by: text.utf8.count)
            guard !overflowed else { throw overflow(line) }
            try charge(size, line: line)
            return .string(String(repeating: text, count: max(count, 0)))
        case ("*", .list(let items), _), ("*", _, .list(let items)):
            guard case .int(let count)? = (a.isList ? b : a).number else { throw unsupported }
            let (size, overflowed) = max(count, 0).multipliedReportingOverflow(by: items.count)
            guard !overflowed, size <= 1_000_000 else { throw overflow(line) }
            try charge(size, line: line)
            return .list(Array([[JinjaValue]](repeating: items, count: max(count, 0)).joined()))
        default:
            break
        }
        guard let x = a.number, let y = b.number else { throw unsupported }
        switch (x, y) {
        case (.int(let i), .int(let j)):
            switch op {
            case "+": return try checked(i.addingReportingOverflow(j), line)
            case "-": return try checked(i.subtractingReportingOverflow(j), line)
            case "*": return try checked(i.multipliedReportingOverflow(by: j), line)
            case "/":
                guard j != 0 else { throw TemplateError(kind: .render, message: "division by zero", line: line) }
                return .double(Double(i) / Double(j))
            case "//", "%":
                guard j != 0 else { throw TemplateError(kind: .render, message: "integer division or modulo by zero", line: line) }
                guard !(i == Int.min && j == -1) else { throw overflow(line) }
                var quotient = i / j, remainder = i % j
                if remainder != 0 && ((remainder < 0) != (j < 0)) { quotient -= 1; remainder += j }
                return .int(op == "//" ? quotient : remainder)
            case "**":
                if j < 0 { return .double(Foundation.pow(Double(i), Double(j))) }
                var result = 1, base = i, exponent = j
                while exponent > 0 {
                    if exponent & 1 == 1 { result = try checkedInt(result.multipliedReportingOverflow(by: base), line) }
                    exponent >>= 1
                    if exponent > 0 { base = try checkedInt(base.multipliedReportingOverflow(by: base), line) }
                }
                return .int(result)
            default: throw unsupported
            }
        default:
            let p = x.double, q = y.double
            switch op {
            case "+": return .double(p + q)
            case "-": return .double(p - q)
            case "*": return .double(p * q)
            case "/":
                guard q != 0 else { throw TemplateError(kind: .render, message: "float division by zero", line: line) }
                return .double(p / q)
            case "//", "%":
                guard q != 0 else { throw TemplateError(kind: .render, message: "float modulo", line: line) }
                var remainder = p.truncatingRemainder(dividingBy: q)
                if remainder != 0 && ((remainder < 0) != (q < 0)) { remainder += q }
                return .double(op == "%" ? remainder : ((p - remainder) / q).rounded())
            case "**": return .double(Foundation.pow(p, q))
            default: throw unsupported
            }
        }
    }

    private func checked(_ result: (partialValue: Int, overflow: Bool), _ line: Int?) throws -> JinjaValue {
        .int(try checkedInt(result, line))
    }

    private func checkedInt(_ result: (partialValue: Int, overflow: Bool), _ line: Int?) throws -> Int {
        guard !result.overflow else { throw overflow(line) }
        return result.partialValue
    }

    func compare(_ op: String, _ a: JinjaValue, _ b: JinjaValue, line: Int?) throws -> Bool {
        switch op {
        case "==": return JinjaValue.equal(a, b)
        case "!=": return !JinjaValue.equal(a, b)
        case "in": return try contains(b, a, line: line)
        case "not in": return try !contains(b, a, line: line)
        case "<": return try less(a, b, line: line)
        case ">": return try less(b, a, line: line)
        case "<=": return try less(a, b, line: line) || JinjaValue.equal(a, b)
        case ">=": return try less(b, a, line: line) || JinjaValue.equal(a, b)
        default: throw TemplateError(kind: .render, message: "unknown comparison \(op)", line: line)
        }
    }

    /// Python's `<`: numbers, strings by code point, sequences lexicographically.
    func less(_ first: JinjaValue, _ second: JinjaValue, line: Int?) throws -> Bool {
        let a = first.plain, b = second.plain
        switch (a, b) {
        case (.string(let x), .string(let y)):
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars)
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            for (p, q) in zip(x, y) where !JinjaValue.equal(p, q) { return try less(p, q, line: line) }
            return x.count < y.count
        default:
            if let x = a.number, let y = b.number { return x < y }
            throw typeError("'<' not supported between instances of '\(a.typeName)' and '\(b.typeName)'", a, b, line: line)
        }
    }

    func contains(_ original: JinjaValue, _ originalElement: JinjaValue, line: Int?) throws -> Bool {
        let container = original.plain, element = originalElement.plain
        switch container {
        case .undefined: return false
        case .string(let text):
            guard case .string(let needle) = element else {
                throw typeError("'in <string>' requires string as left operand, not \(element.typeName)", element, line: line)
            }
            return needle.isEmpty || text.unicodeScalars.firstRange(of: needle.unicodeScalars) != nil
        case .list(let items), .tuple(let items): return items.contains { JinjaValue.equal($0, element) }
        case .iterator(let iterator): return iterator.items.contains { JinjaValue.equal($0, element) }
        case .dict(let dict):
            return dict[value: element] != nil
        default:
            throw TemplateError(kind: .render, message: "argument of type '\(container.typeName)' is not iterable", line: line)
        }
    }

    // MARK: calls

    func call(_ function: JinjaValue, _ arguments: JinjaArguments, scope: JinjaScope) throws -> JinjaValue {
        switch function {
        case .macro(let macro): return try callMacro(macro, arguments)
        case .function(let name): return try callGlobal(name, arguments)
        case .method(let receiver, let name): return try callMethod(receiver.plain, name, arguments)
        case .undefined(let why): throw TemplateError(kind: .render, message: why, line: arguments.line)
        default:
            throw TemplateError(kind: .render, message: "'\(function.typeName)' object is not callable", line: arguments.line)
        }
    }

    private func callMacro(_ macro: JinjaMacro, _ arguments: JinjaArguments) throws -> JinjaValue {
        guard let definingScope = macro.scope else {
            throw TemplateError(kind: .render, message: "macro '\(macro.name)' called outside the scope that defined it", line: arguments.line)
        }
        try step(line: arguments.line)
        guard callDepth < limits.maximumCallDepth else {
            throw TemplateError(kind: .limit, message: "macro calls nest deeper than \(limits.maximumCallDepth) (recursion?)", line: arguments.line)
        }
        callDepth += 1
        defer { callDepth -= 1 }
        guard arguments.positional.count <= macro.parameters.count else {
            throw TemplateError(kind: .render, message: "macro '\(macro.name)' takes not more than \(macro.parameters.count) argument(s)", line: arguments.line)
        }
        let frame = JinjaScope(parent: definingScope)
        for (index, parameter) in macro.parameters.enumerated() {
            if index < arguments.positional.count {
                frame.variables[parameter.name] = arguments.positional[index]
            } else if let keyword = arguments.keywords.last(where: { $0.0 == parameter.name }) {
                frame.variables[parameter.name] = keyword.1
            } else if let defaultValue = parameter.defaultValue {
                frame.variables[parameter.name] = try evaluate(defaultValue, scope: frame)
            } else {
                frame.variables[parameter.name] = .undefined("parameter '\(parameter.name)' was not provided")
            }
        }
        for (key, _) in arguments.keywords where !macro.parameters.contains(where: { $0.name == key }) {
            throw TemplateError(kind: .render, message: "macro '\(macro.name)' takes no keyword argument '\(key)'", line: arguments.line)
        }
        var output = ""
        _ = try execute(macro.body, scope: frame, into: &output)
        return .string(output)
    }

    private func callGlobal(_ name: String, _ arguments: JinjaArguments) throws -> JinjaValue {
        switch name {
        case "raise_exception":
            let message = arguments.positional.first?.pythonString ?? ""
            throw TemplateError(kind: .render, message: message, line: arguments.line)
        case "namespace", "dict":
            var dict = JinjaDict()
            if case .dict(let initial)? = arguments.positional.first {
                for (key, value) in initial.pairs { try dict.set(key, value, line: arguments.line) }
            }
            for (key, value) in arguments.keywords { dict[key] = value }
            if name == "dict" { return .dict(dict) }
            let namespace = JinjaNamespace()
            namespace.attributes = dict
            return .namespace(namespace)
        case "range":
            let bounds = try arguments.positional.map { value -> Int in
                guard case .int(let i)? = value.number else {
                    throw typeError("'\(value.typeName)' object cannot be interpreted as an integer", value, line: arguments.line)
                }
                return i
            }
            var start = 0, stop = 0, stride = 1
            switch bounds.count {
            case 1: stop = bounds[0]
            case 2: (start, stop) = (bounds[0], bounds[1])
            case 3: (start, stop, stride) = (bounds[0], bounds[1], bounds[2])
            default: throw TemplateError(kind: .render, message: "range expected 1 to 3 arguments, got \(bounds.count)", line: arguments.line)
            }
            guard stride != 0 else { throw TemplateError(kind: .render, message: "range() arg 3 must not be zero", line: arguments.line) }
            // jinja2's sandbox refuses ranges of more than MAX_RANGE (100000) items.
            let span = stride > 0 ? Double(stop) - Double(start) : Double(start) - Double(stop)
            let length = span <= 0 ? 0 : (span / Swift.abs(Double(stride))).rounded(.up)
            guard length <= 100_000 else {
                throw TemplateError(kind: .render, message: "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).", line: arguments.line)
            }
            return .iterator(JinjaIterator(kind: .range(start, stop, stride), items: Swift.stride(from: start, to: stop, by: stride).map { .int($0) }))
        case "strftime_now":
            guard case .string(let format)? = arguments.positional.first else {
                throw TemplateError(kind: .render, message: "strftime_now() needs a format string", line: arguments.line)
            }
            return .string(PythonDateFormat.format(date, format, timeZone: timeZone))
        default:
            throw TemplateError(kind: .render, message: "'\(name)' is undefined", line: arguments.line)
        }
    }
}

/// Positional and keyword arguments of a call, filter or method.
struct JinjaArguments {
    var positional: [JinjaValue]
    var keywords: [(String, JinjaValue)]
    var line: Int?

    /// The argument at `index` or named `name`, if given.
    func value(_ index: Int, _ name: String) -> JinjaValue? {
        if let keyword = keywords.last(where: { $0.0 == name }) { return keyword.1 }
        return index >= 0 && index < positional.count ? positional[index] : nil
    }
}

extension JinjaValue {
    var isString: Bool {
        switch self {
        case .string, .markup: return true
        default: return false
        }
    }
    var isList: Bool { if case .list = self { return true } else { return false } }
}
