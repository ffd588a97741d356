import Foundation
import Testing
@testable import Tokenizers

/// The interpreter's pieces: each small template of JinjaBehaviourCases renders as jinja2 renders it (or fails
/// where jinja2 raises); errors name the construct; hostile templates and inputs fail with an error, not a crash.
@Suite struct JinjaBehaviourTests {
    struct Case: Sendable, CustomStringConvertible {
        let template: String
        let output: String?
        let error: String?
        var description: String { template }
    }

    static let parsed: (context: [String: TemplateValue], cases: [Case]) = {
        guard case .object(let root) = try! TemplateValue(json: JinjaBehaviourCases.json),
              case .object(let context)? = root["context"], case .array(let cases)? = root["cases"] else {
            return ([:], [])
        }
        var variables: [String: TemplateValue] = [:]
        for (key, value) in context.pairs { variables[key] = value }
        return (variables, cases.compactMap { value in
            guard case .object(let c) = value, case .string(let template)? = c["template"] else { return nil }
            var output: String?, error: String?
            if case .string(let text)? = c["output"] { output = text }
            if case .string(let text)? = c["error"] { error = text }
            return Case(template: template, output: output, error: error)
        })
    }()

    @Test(arguments: parsed.cases) func rendersAsJinja2(_ testCase: Case) throws {
        let result = Result { try JinjaTemplate(source: testCase.template).render(context: Self.parsed.context) }
        if let expected = testCase.output, testCase.error == nil {
            #expect(try result.get() == expected)
        } else {
            #expect(throws: TemplateError.self, "jinja2: \(testCase.error ?? "")") { try result.get() }
        }
    }

    @Test func theCasesAreThere() {
        #expect(Self.parsed.cases.count >= 80)
    }

    // MARK: lexer

    @Test func lexerTokens() throws {
        let tokens = try JinjaLexer.tokenize("a {{- x.y[0] | f(1, k='v') -}} b {%+ if 1.5e3 >= 2 %}").map(\.kind)
        #expect(tokens == [.text("a"), .variableBegin, .name("x"), .operator_("."), .name("y"), .operator_("["), .integer(0),
                           .operator_("]"), .operator_("|"), .name("f"), .operator_("("), .integer(1), .operator_(","),
                           .name("k"), .operator_("="), .string("v"), .operator_(")"), .variableEnd, .text("b "),
                           .blockBegin, .name("if"), .float(1500), .operator_(">="), .integer(2), .blockEnd, .end])
        // A dict literal's closing brace inside {{ }} does not end the tag.
        #expect(try JinjaTemplate(source: "{{ {'a': {'b': 1}} }}").render(context: [:]) == "{'a': {'b': 1}}")
        // One trailing newline of the source is dropped, as keep_trailing_newline=False does.
        #expect(try JinjaTemplate(source: "x\n").render(context: [:]) == "x")
        #expect(try JinjaTemplate(source: "x\n\n").render(context: [:]) == "x\n")
    }

    // MARK: errors name the construct

    private func refusal(_ source: String) -> TemplateError? {
        do {
            _ = try JinjaTemplate(source: source)
            return nil
        } catch let error as TemplateError {
            return error
        } catch {
            return nil
        }
    }

    @Test func refusedConstructsAreNamed() throws {
        let expectations: [(String, String)] = [
            ("{% include 'other.jinja' %}", "unsupported statement 'include'"),
            ("{% extends 'base' %}", "unsupported statement 'extends'"),
            ("{% frobnicate %}", "unknown statement 'frobnicate'"),
            ("{{ x | wordwrap(10) }}", "unsupported filter 'wordwrap'"),
            ("{{ x | nofilter }}", "unknown filter 'nofilter'"),
            ("{{ x is notatest }}", "unknown test 'notatest'"),
            ("{% for x in y recursive %}{% endfor %}", "'recursive'"),
            ("{% if x %}never closed", "'if' opened on line 1 is not closed"),
            ("{{ x ", "not closed"),
            ("{# comment", "missing end of comment tag"),
            ("{{ 'unterminated }}", "unterminated string"),
            ("{{ f(*args) }}", "'*args'"),
            ("{% endif %}", "unknown statement 'endif'"),
        ]
        for (source, expected) in expectations {
            let error = try #require(refusal(source), "\(source) was not refused")
            #expect(error.kind == .syntax, "\(source)")
            #expect(error.message.contains(expected), "\(source): \(error.message)")
            #expect(error.line != nil)
        }
        // An unknown filter inside `if` fails only when reached, as in jinja2.
        let deferred = try JinjaTemplate(source: "{% if false %}{{ x | from_json }}{% endif %}ok")
        #expect(try deferred.render(context: [:]) == "ok")
        let reached = try JinjaTemplate(source: "{% if true %}{{ x | from_json }}{% endif %}")
        #expect(throws: TemplateError.self) { try reached.render(context: [:]) }
    }

    @Test func renderErrorsCarryTheTemplatesMessageAndLine() throws {
        let template = try JinjaTemplate(source: "line one\n{{ raise_exception('Roles must alternate') }}")
        do {
            _ = try template.render(context: [:])
            Issue.record("raise_exception did not raise")
        } catch let error as TemplateError {
            #expect(error.kind == .render && error.message == "Roles must alternate" && error.line == 2)
        }
    }

    // MARK: hostile input

    /// Runs `body` on a thread with a 512 KiB stack, the size of the server's worker threads, so that deep recursion
    /// shows up as a crash here rather than in production.
    private func onSmallStack(_ body: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body()
            done.signal()
        }
        thread.stackSize = 512 << 10
        thread.start()
        done.wait()
    }

    @Test func deeplyNestedTemplatesAreRefusedNotCrashed() {
        let sources = [
            String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000),
            "{{ " + String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000) + " }}",
            String(repeating: "{% if true %}", count: 20_000) + String(repeating: "{% endif %}", count: 20_000),
            "{{ " + String(repeating: "not ", count: 100_000) + "x }}",
            "{{ " + String(repeating: "-", count: 100_000) + "1 }}",
            "{{ x" + String(repeating: " | trim", count: 100_000) + " }}",
            "{{ " + String(repeating: "a if b else ", count: 50_000) + "c }}",
        ]
        for source in sources {
            onSmallStack {
                let wrapped = source.hasPrefix("(") ? "{{ " + source + " }}" : source
                #expect(throws: TemplateError.self) { _ = try JinjaTemplate(source: wrapped) }
            }
        }
    }

    @Test func runawayRenderingsHitABound() throws {
        let sources = [
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",                       // unbounded recursion
            "{{ range(1000000) | length }}",                                                  // the sandbox's MAX_RANGE
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", // too much work
            "{{ 'x' * 100000000 }}",                                                          // output bomb
            "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
            "{{ 2 ** 64 }}",                                                                  // overflow
            "{{ messages | tojson(indent=100000000) }}",
        ]
        for source in sources {
            let template = try JinjaTemplate(source: source)
            onSmallStack {
                #expect(throws: TemplateError.self, "\(source)") {
                    _ = try template.render(context: ["messages": [.object(["role": "user", "content": "x"])]])
                }
            }
        }
    }

    /// A template that grows a string in a loop copies it each time; a long conversation must still render.
    @Test func accumulatingAStringOverALongConversationRenders() throws {
        let template = try JinjaTemplate(source: "{% set ns = namespace(text='') %}{% for m in messages %}"
                                         + "{% set ns.text = ns.text + m.content %}{% endfor %}{{ ns.text | length }}")
        let chunk = String(repeating: "y", count: 1024)
        let messages = TemplateValue.array(Array(repeating: .object(["role": "user", "content": .string(chunk)]), count: 1000))
        #expect(try template.render(context: ["messages": messages]) == "1024000")
    }

    @Test func hostileMessagesAreJustData() throws {
        let template = try JinjaTemplate(source: "{% for m in messages %}{{ m.content }}|{{ m.content | tojson }}{% endfor %}")
        let content = "{{ 7 * 7 }}{% raise %}\u{0}\u{202E}\"\\\n" + String(repeating: "é", count: 10_000)
        let output = try template.render(context: ["messages": [.object(["role": "user", "content": .string(content)])]])
        #expect(output.hasPrefix("{{ 7 * 7 }}{% raise %}\u{0}\u{202E}\"\\\n"))
        #expect(output.contains("|\"{{ 7 * 7 }}{% raise %}\\u0000\u{202E}\\\"\\\\\\n"))
        // Deeply nested request JSON is bounded by the parser before it reaches a template.
        #expect(throws: TemplateError.self) { try TemplateValue(json: String(repeating: "[", count: 10_000)) }
    }
}
