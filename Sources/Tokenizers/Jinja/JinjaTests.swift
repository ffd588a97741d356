/// The tests (`x is name`) this interpreter has: jinja2's built-ins. Any other is refused at load.
enum JinjaTests {
    /// jinja2's own tests (see `JinjaFilters.jinjaBuiltins` for how unknown names are treated).
    static let jinjaBuiltins: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "escaped", "even", "false", "filter",
        "float", "ge", ">=", "gt", ">", "greaterthan", "in", "integer", "iterable", "le", "<=", "lower", "lt", "<",
        "lessthan", "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence", "string", "test", "true",
        "undefined", "upper",
    ]
    static let names: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "escaped", "even", "false", "float", "ge",
        ">=", "gt", ">", "greaterthan", "in", "integer", "iterable", "le", "<=", "lower", "lt", "<", "lessthan",
        "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence", "string", "true", "undefined", "upper",
        "filter", "test",
    ]
}

extension JinjaInterpreter {
    func applyTest(_ name: String, to original: JinjaValue, arguments: [JinjaValue], line: Int?) throws -> Bool {
        let value = original.plain
        func argument() throws -> JinjaValue {
            guard let first = arguments.first else {
                throw TemplateError(kind: .render, message: "test '\(name)' needs an argument", line: line)
            }
            return first
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value.isNone
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": if case .bool(true) = value { return true } else { return false }
        case "false": if case .bool(false) = value { return true } else { return false }
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "number": return value.number != nil
        case "string": return value.isString
        case "mapping": if case .dict = value { return true } else { return false }
        case "iterable":
            switch value {
            case .undefined, .string, .list, .tuple, .dict, .iterator: return true
            default: return false
            }
        case "sequence":
            switch value {
            case .undefined, .string, .list, .tuple, .dict: return true
            case .iterator(let i): if case .range = i.kind { return true } else { return false }
            default: return false
            }
        case "callable":
            switch value {
            case .macro, .function, .method: return true
            default: return false
            }
        case "escaped": return false
        case "eq", "equalto", "==": return JinjaValue.equal(value, try argument())
        case "ne", "!=": return !JinjaValue.equal(value, try argument())
        case "lt", "<", "lessthan": return try less(value, try argument(), line: line)
        case "gt", ">", "greaterthan": return try less(try argument(), value, line: line)
        case "le", "<=": return try compare("<=", value, try argument(), line: line)
        case "ge", ">=": return try compare(">=", value, try argument(), line: line)
        case "in": return try contains(try argument(), value, line: line)
        case "sameas":
            let other = try argument()
            switch (value, other) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            default: return false
            }
        case "odd", "even", "divisibleby":
            guard case .int(let number)? = value.number else {
                throw typeError("test '\(name)' needs an integer, got '\(value.typeName)'", value, line: line)
            }
            if name == "odd" { return number % 2 != 0 }
            if name == "even" { return number % 2 == 0 }
            guard case .int(let divisor)? = try argument().number, divisor != 0 else {
                throw TemplateError(kind: .render, message: "divisibleby needs a non-zero integer", line: line)
            }
            return number % divisor == 0
        case "lower":
            let text = value.pythonString
            return text == text.lowercased() && text != text.uppercased()
        case "upper":
            let text = value.pythonString
            return text == text.uppercased() && text != text.lowercased()
        case "filter":
            guard case .string(let filterName) = value else { return false }
            return JinjaFilters.names.contains(filterName)
        case "test":
            guard case .string(let testName) = value else { return false }
            return JinjaTests.names.contains(testName)
        default:
            throw TemplateError(kind: .render, message: "No test named '\(name)'.", line: line)
        }
    }
}
