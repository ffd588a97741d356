/// A value while a template renders: Python's kinds as jinja2 sees them (plus jinja2's Undefined, namespaces,
/// macros, built-in functions and bound methods).
indirect enum JinjaValue {
    /// jinja2's default `Undefined`: prints as nothing, iterates as empty, is false; most other uses fail.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// markupsafe's `Markup` (from `safe` and `escape`): a str whose `+` with a plain str HTML-escapes the other
    /// operand. Everywhere else it behaves as its text (`plain`).
    case markup(String)
    case list([JinjaValue])
    case tuple([JinjaValue])
    case dict(JinjaDict)
    case namespace(JinjaNamespace)
    case macro(JinjaMacro)
    case function(String)
    case method(JinjaValue, String)
    /// What Python gives as a lazy iterable rather than a list: jinja2's filters that are generators
    /// (`items`, `map`, `select`…), dict views (`.items()`), `range`. They differ from lists where templates
    /// can tell: a generator is always true, has no length, and `tojson` refuses all of them.
    case iterator(JinjaIterator)

    init(_ value: TemplateValue) {
        switch value {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(JinjaValue.init))
        case .object(let o):
            var dict = JinjaDict()
            for (key, item) in o.pairs { dict[key] = JinjaValue(item) }
            self = .dict(dict)
        }
    }

    /// A Markup as a plain str; any other value unchanged.
    var plain: JinjaValue {
        if case .markup(let text) = self { return .string(text) }
        return self
    }

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }
    var isNone: Bool { if case .none = self { return true } else { return false } }

    /// Python's truth value.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s), .markup(let s): return !s.isEmpty
        case .list(let a), .tuple(let a): return !a.isEmpty
        case .dict(let d): return d.count > 0
        case .namespace, .macro, .function, .method: return true
        case .iterator(let i):
            if case .generator = i.kind { return true }
            return !i.items.isEmpty
        }
    }

    /// Python's type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .markup: return "Markup"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .macro: return "Macro"
        case .function: return "builtin_function_or_method"
        case .method: return "builtin_function_or_method"
        case .iterator(let i): return i.typeName
        }
    }

    /// `str(value)`, which jinja2 writes for `{{ value }}`.
    var pythonString: String {
        switch self {
        case .undefined: return ""
        case .string(let s), .markup(let s): return s
        default: return pythonRepr
        }
    }

    /// `repr(value)`, as Python prints values inside lists and dicts.
    var pythonRepr: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return PythonText.floatRepr(d)
        case .string(let s): return PythonText.stringRepr(s)
        case .markup(let s): return "Markup(\(PythonText.stringRepr(s)))"
        case .list(let a): return "[" + a.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .tuple(let a): return a.count == 1 ? "(\(a[0].pythonRepr),)" : "(" + a.map(\.pythonRepr).joined(separator: ", ") + ")"
        case .dict(let d): return "{" + d.pairs.map { "\($0.key.pythonRepr): \($0.value.pythonRepr)" }.joined(separator: ", ") + "}"
        case .namespace(let n): return "<Namespace {" + n.attributes.pairs.map { "\($0.key.pythonRepr): \($0.value.pythonRepr)" }.joined(separator: ", ") + "}>"
        case .macro(let m): return "<Macro '\(m.name)'>"
        case .function(let name): return "<built-in function \(name)>"
        case .method(let receiver, let name): return "<built-in method \(name) of \(receiver.typeName) object>"
        case .iterator(let i):
            switch i.kind {
            case .generator(let function): return "<generator object \(function)>"
            case .range(let start, let stop, let step): return step == 1 ? "range(\(start), \(stop))" : "range(\(start), \(stop), \(step))"
            default: return "\(i.typeName)([" + i.items.map(\.pythonRepr).joined(separator: ", ") + "])"
            }
        }
    }

    /// The elements a `for` loop or a filter sees: a list's items, a string's characters, a dict's keys.
    func iterated(line: Int?) throws -> [JinjaValue] {
        switch self.plain {
        case .undefined: return []
        case .list(let a), .tuple(let a): return a
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .dict(let d): return d.keys
        case .namespace(let n): return n.attributes.keys
        case .iterator(let i): return i.items
        default:
            throw TemplateError(kind: .render, message: "'\(typeName)' object is not iterable", line: line)
        }
    }

    /// Python's `==` (1 == 1.0 == True; Undefined equals only Undefined).
    static func equal(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
        switch (a.plain, b.plain) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return x == y
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.dict(let x), .dict(let y)):
            return x.count == y.count && x.pairs.allSatisfy { pair in y[value: pair.key].map { equal(pair.value, $0) } ?? false }
        case (.namespace(let x), .namespace(let y)): return x === y
        default:
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// A numeric view (bools are ints in Python).
    enum Number: Equatable, Comparable {
        case int(Int), double(Double)
        var double: Double { switch self { case .int(let i): return Double(i); case .double(let d): return d } }
        static func == (a: Number, b: Number) -> Bool {
            if case .int(let x) = a, case .int(let y) = b { return x == y }
            return a.double == b.double
        }
        static func < (a: Number, b: Number) -> Bool {
            if case .int(let x) = a, case .int(let y) = b { return x < y }
            return a.double < b.double
        }
    }

    var number: Number? {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        default: return nil
        }
    }
}

/// A lazy iterable's items (computed eagerly: templates iterate them once) and what Python type it is.
struct JinjaIterator {
    enum Kind {
        /// A generator function's result (`do_items`, `select_or_reject`, …).
        case generator(String)
        case dictItems, dictKeys, dictValues
        case range(Int, Int, Int)
    }

    let kind: Kind
    let items: [JinjaValue]

    var typeName: String {
        switch kind {
        case .generator: return "generator"
        case .dictItems: return "dict_items"
        case .dictKeys: return "dict_keys"
        case .dictValues: return "dict_values"
        case .range: return "range"
        }
    }

    /// Whether Python's `len()` works on it (everything but a generator).
    var hasLength: Bool {
        if case .generator = kind { return false }
        return true
    }
}

/// A Python dict in insertion order. Keys are strings, numbers, booleans or None (templates write `{0: 0, 512: 128}`),
/// hashed as Python hashes them: `1`, `1.0` and `True` are the same key.
struct JinjaDict {
    private(set) var keys: [JinjaValue] = []
    private var storage: [JinjaKey: JinjaValue] = [:]

    subscript(key: String) -> JinjaValue? {
        get { storage[.string(key)] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: .string(key)) == nil { keys.append(.string(key)) }
            } else if storage.removeValue(forKey: .string(key)) != nil {
                keys.removeAll { JinjaValue.equal($0, .string(key)) }
            }
        }
    }

    /// The value under any key; nil for a missing or unhashable key.
    subscript(value key: JinjaValue) -> JinjaValue? {
        JinjaKey(key).flatMap { storage[$0] }
    }

    mutating func set(_ key: JinjaValue, _ value: JinjaValue, line: Int?) throws {
        guard let hashed = JinjaKey(key) else {
            throw TemplateError(kind: .render, message: "unhashable type: '\(key.typeName)'", line: line)
        }
        if storage.updateValue(value, forKey: hashed) == nil { keys.append(key) }
    }

    var pairs: [(key: JinjaValue, value: JinjaValue)] { keys.map { ($0, self[value: $0]!) } }
    var count: Int { keys.count }
}

/// A dict key as Python hashes it.
enum JinjaKey: Hashable {
    case string(String)
    case int(Int)
    case double(Double)
    case none
    indirect case tuple([JinjaKey])

    init?(_ value: JinjaValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .none: self = .none
        case .bool(let b): self = .int(b ? 1 : 0)
        case .int(let i): self = .int(i)
        case .double(let d):
            if d.rounded() == d, Swift.abs(d) < 9.2e18 { self = .int(Int(d)) } else { self = .double(d) }
        case .tuple(let items):
            var keys: [JinjaKey] = []
            for item in items {
                guard let key = JinjaKey(item) else { return nil }
                keys.append(key)
            }
            self = .tuple(keys)
        default: return nil
        }
    }
}

/// jinja2's `namespace(...)`: the one mutable object a template can assign attributes of across scopes.
final class JinjaNamespace {
    var attributes = JinjaDict()
}

/// A `{% macro %}`: parameters with defaults, body, and the scope it was defined in (names resolve there at call time).
final class JinjaMacro {
    let name: String
    let parameters: [(name: String, defaultValue: JinjaExpression?)]
    let body: [JinjaNode]
    /// Weak: the scope holds the macro; a macro that outlives its scope (it cannot, within one render) fails to call.
    weak var scope: JinjaScope?

    init(name: String, parameters: [(name: String, defaultValue: JinjaExpression?)], body: [JinjaNode], scope: JinjaScope) {
        self.name = name
        self.parameters = parameters
        self.body = body
        self.scope = scope
    }
}

/// Variables of one frame (template, loop iteration, macro call); lookups fall through to the parent.
final class JinjaScope {
    let parent: JinjaScope?
    var variables: [String: JinjaValue] = [:]

    init(parent: JinjaScope?) { self.parent = parent }

    func lookup(_ name: String) -> JinjaValue? {
        var scope: JinjaScope? = self
        while let current = scope {
            if let value = current.variables[name] { return value }
            scope = current.parent
        }
        return nil
    }
}
