import Foundation
import Testing
@testable import Tokenizers

/// Every chat template of llama.cpp's models/templates (70 in the llama-cpp-python 0.3.36 sdist) and the served
/// models' own, rendered for each conversation of Tests/Fixtures/gen_template_renderings.py, byte for byte as
/// Python's jinja2 renders them in transformers' environment; where jinja2 raises, the interpreter raises too.
/// A template the interpreter refuses must be listed in `refused` (and in docs/TOKENIZERS.md) with the construct.
@Suite(.enabled(if: JinjaFixture.isPresent, "run `python3 Tests/Fixtures/make_fixtures.py` (needs jinja2 and the llama.cpp references)"))
struct JinjaConformanceTests {
    /// Templates refused at load, with the construct the error must name. None today (docs/TOKENIZERS.md).
    static let refused: [String: String] = [:]

    /// Families Raconteur serves or means to: all of their templates must render.
    static let supportedFamilies = ["llama-3", "qwen", "gemma", "smollm", "phi-3", "mistral", "deepseek"]

    @Test func everyTemplateRendersAsJinja2() throws {
        let fixture = try JinjaFixture.load()
        #expect(fixture.templates.filter { $0.origin == "llama.cpp" }.count == 70)
        var rendered: [String] = [], refusedHere: [String] = []
        for template in fixture.templates {
            guard let source = template.source else { continue }   // a model file without a template
            let parsed: JinjaTemplate
            do {
                parsed = try JinjaTemplate(source: source)
            } catch let error as TemplateError {
                refusedHere.append(template.name)
                if template.loadError != nil { continue }          // jinja2 refuses it too
                let construct = try #require(Self.refused[template.name], "\(template.name) was refused: \(error)")
                #expect(error.message.contains(construct), "\(template.name): \(error.message)")
                continue
            }
            #expect(template.loadError == nil, "\(template.name) loads here but jinja2 refused it: \(template.loadError ?? "")")
            var identical = true
            for testCase in template.cases {
                let context = try #require(fixture.contexts[testCase.conversation])
                let result = Result { try parsed.render(context: context, date: fixture.date, timeZone: TimeZone(identifier: "UTC")!) }
                if let expected = testCase.output {
                    let output = try? result.get()
                    if output != expected { identical = false }
                    #expect(output == expected, "\(template.name) / \(testCase.conversation): \(String(describing: result))")
                } else {
                    if case .success = result { identical = false }
                    #expect(throws: TemplateError.self, "\(template.name) / \(testCase.conversation): jinja2 raised \(testCase.error ?? "")") {
                        try result.get()
                    }
                }
            }
            if identical { rendered.append(template.name) }
        }
        #expect(Set(refusedHere) == Set(Self.refused.keys), "refused: \(refusedHere.sorted())")
        for name in refusedHere {
            #expect(!Self.supportedFamilies.contains { name.lowercased().contains($0) }, "\(name) belongs to a supported family")
        }
        for served in ["SmolLM2-135M-Instruct.Q4_1", "qwen2.5-coder-0.5b-instruct-q4_k_m"] {
            #expect(rendered.contains(served), "the served model \(served)'s template must render")
        }
        let withSource = fixture.templates.filter { $0.source != nil }.count
        #expect(rendered.count == withSource - refusedHere.count)
        print("JinjaConformanceTests: \(rendered.count) of \(withSource) templates render byte-identical to jinja2 on \(fixture.contexts.count) conversations each")
    }

    @Test func fixtureCoversTheConversationsAsked() throws {
        let fixture = try JinjaFixture.load()
        #expect(fixture.contexts.count >= 12)
        let names = Set(fixture.contexts.keys)
        for needed in ["user_only", "system_user", "multi_turn", "user_only_no_prompt", "tools_offered", "tool_call_round_trip",
                       "non_ascii", "jinja_lookalike"] {
            #expect(names.contains(needed))
        }
    }
}

/// Tests/Fixtures/generated/template_renderings.json, written by gen_template_renderings.py.
enum JinjaFixture {
    static let url = Fixtures.fixturesDirectory.appendingPathComponent("generated/template_renderings.json")
    static var isPresent: Bool { FileManager.default.fileExists(atPath: url.path) }

    struct Template {
        let name: String
        let origin: String
        let source: String?
        let loadError: String?
        let cases: [(conversation: String, output: String?, error: String?)]
    }

    struct Contents {
        let date: Date
        let contexts: [String: [String: TemplateValue]]
        let templates: [Template]
    }

    static func load() throws -> Contents {
        let text = try String(contentsOf: url, encoding: .utf8)
        guard case .object(let root) = try TemplateValue(json: text), case .string(let dateText)? = root["date"],
              case .array(let conversations)? = root["conversations"], case .array(let templates)? = root["templates"] else {
            throw Fixtures.Missing(description: "\(url.path) does not have the expected shape")
        }
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: dateText + "Z") else { throw Fixtures.Missing(description: "bad date \(dateText)") }
        var contexts: [String: [String: TemplateValue]] = [:]
        for case .object(let conversation) in conversations {
            guard case .string(let name)? = conversation["name"], case .object(let context)? = conversation["context"] else { continue }
            var variables: [String: TemplateValue] = [:]
            for (key, value) in context.pairs { variables[key] = value }
            contexts[name] = variables
        }
        func string(_ value: TemplateValue?) -> String? {
            if case .string(let text)? = value { return text }
            return nil
        }
        let parsed = templates.compactMap { value -> Template? in
            guard case .object(let t) = value, let name = string(t["name"]) else { return nil }
            var cases: [(String, String?, String?)] = []
            if case .array(let items)? = t["cases"] {
                for case .object(let c) in items {
                    cases.append((string(c["conversation"]) ?? "", string(c["output"]), string(c["error"])))
                }
            }
            return Template(name: name, origin: string(t["origin"]) ?? "", source: string(t["source"]),
                            loadError: string(t["load_error"]), cases: cases)
        }
        return Contents(date: date, contexts: contexts, templates: parsed)
    }
}
