import Foundation
import Testing
@testable import Tokenizers

@Suite struct ChatTemplateTests {
    static let smolSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    /// A file with a template gets it as Jinja; the markers pick the hand-written format only for `detect`.
    @Test func smolLM2LoadsItsOwnJinjaTemplate() throws {
        let model = try Fixtures.smollm2()
        let template = try ChatTemplate.load(chatTemplate: model.vocabulary.chatTemplate, tokenizer: model.tokenizer)
        guard case .jinja(let jinja, let tokens) = template else {
            Issue.record("SmolLM2's template did not load as Jinja: \(template)")
            return
        }
        #expect(jinja.source == model.vocabulary.chatTemplate)
        #expect(tokens.bos == "<|im_start|>" && tokens.eos == "<|im_end|>" && !tokens.tokenizerAddsBOS)
        let detected = ChatTemplate.detect(chatTemplate: model.vocabulary.chatTemplate, tokenizer: model.tokenizer)
        #expect(detected == .chatml(defaultSystem: Self.smolSystem))
    }

    /// The hand-written ChatML fallback still equals SmolLM2's own template rendered by jinja2 (gen_tokenizer_vocab.py);
    /// so does the Jinja interpreter on the same template.
    @Test func smolLM2MatchesJinja() throws {
        let model = try Fixtures.smollm2()
        let own = try ChatTemplate.load(chatTemplate: model.vocabulary.chatTemplate, tokenizer: model.tokenizer)
        let template = ChatTemplate.detect(chatTemplate: model.vocabulary.chatTemplate, tokenizer: model.tokenizer)
        let renderings = try #require(model.json["chat_renderings"] as? [[String: Any]],
                                      "the fixture has no jinja renderings (is jinja2 installed?)")
        #expect(renderings.count >= 4)
        for rendering in renderings {
            let messages = (rendering["messages"] as! [[String: String]]).map {
                ChatMessage(role: $0["role"]!, content: $0["content"]!)
            }
            let addPrompt = rendering["add_generation_prompt"] as! Bool
            #expect(try template.render(messages, addGenerationPrompt: addPrompt) == rendering["rendered"] as! String,
                    "\(rendering["name"]!)")
            #expect(try own.render(messages, addGenerationPrompt: addPrompt) == rendering["rendered"] as! String,
                    "\(rendering["name"]!)")
        }
    }

    @Test func smolLM2WithAndWithoutSystem() throws {
        let template = ChatTemplate.chatml(defaultSystem: Self.smolSystem)
        #expect(try template.render([ChatMessage(role: "user", content: "Hi")]) ==
            "<|im_start|>system\n\(Self.smolSystem)<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(try template.render([ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")]) ==
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    /// The chat prompt of the reference file renders from one user message (no default system).
    @Test func referenceChatPromptsRender() throws {
        let user = [ChatMessage(role: "user", content: "What is 2+2?")]
        let smol = try Fixtures.cases("smollm2").referenceCases.map(\.prompt)
        #expect(smol.contains(try ChatTemplate.chatml(defaultSystem: nil).render(user)))
        let gemma = try Fixtures.cases("gemma3").referenceCases.map(\.prompt)
        #expect(gemma.contains(try ChatTemplate.gemma.render(user)))
    }

    @Test func gemmaIsDetectedFromItsVocabulary() throws {
        let model = try Fixtures.gemma3()
        #expect(model.vocabulary.chatTemplate == nil)
        #expect(ChatTemplate.detect(chatTemplate: nil, tokenizer: model.tokenizer) == .gemma)
        #expect(try ChatTemplate.load(chatTemplate: nil, tokenizer: model.tokenizer) == .gemma)
        #expect(ChatTemplate.detect(chatTemplate: "{{ '<start_of_turn>' + role }}", tokenizer: try Fixtures.smollm2().tokenizer) == .gemma)
        #expect(ChatTemplate.detect(chatTemplate: nil, tokenizer: try Fixtures.smollm2().tokenizer) == .chatml(defaultSystem: nil))
        #expect(ChatTemplate.detect(chatTemplate: "{% unknown %}", tokenizer: try Fixtures.smollm2().tokenizer) == .chatml(defaultSystem: nil))
    }

    /// Gemma 3's template: system folded into the first user turn, assistant → model, contents trimmed.
    @Test func gemmaWithSystem() throws {
        let messages = [
            ChatMessage(role: "system", content: "You are terse."),
            ChatMessage(role: "user", content: "  Name a colour.\n"),
            ChatMessage(role: "assistant", content: "Blue."),
            ChatMessage(role: "user", content: "Another?"),
        ]
        #expect(try ChatTemplate.gemma.render(messages) ==
            "<start_of_turn>user\nYou are terse.\n\nName a colour.<end_of_turn>\n" +
            "<start_of_turn>model\nBlue.<end_of_turn>\n" +
            "<start_of_turn>user\nAnother?<end_of_turn>\n" +
            "<start_of_turn>model\n")
        #expect(try ChatTemplate.gemma.render(Array(messages[1...2]), addGenerationPrompt: false) ==
            "<start_of_turn>user\nName a colour.<end_of_turn>\n<start_of_turn>model\nBlue.<end_of_turn>\n")
    }

    /// Rendered prompts tokenize with the turn markers as single tokens (and BOS for Gemma).
    @Test func renderedPromptsTokenize() throws {
        let gemma = try Fixtures.gemma3().tokenizer
        let ids = gemma.encode(try ChatTemplate.gemma.render([ChatMessage(role: "user", content: "Hi")]))
        #expect(ids.first == gemma.bosID)
        #expect(ids.filter { $0 == gemma.tokenID("<start_of_turn>") }.count == 2)
        let smol = try Fixtures.smollm2().tokenizer
        let smolIDs = smol.encode(try ChatTemplate.chatml(defaultSystem: nil).render([ChatMessage(role: "user", content: "Hi")]))
        #expect(smolIDs.filter { $0 == smol.tokenID("<|im_start|>") }.count == 2)
    }

    @Test func defaultSystemPromptExtraction() {
        #expect(ChatTemplate.defaultSystemPrompt(in: "{{ '<|im_start|>system\\nYou are Qwen.<|im_end|>\\n' }}") == "You are Qwen.")
        #expect(ChatTemplate.defaultSystemPrompt(in: "{{'<|im_start|>' + message['role'] + '\\n'}}") == nil)
        #expect(ChatTemplate.defaultSystemPrompt(in: "{{ '<|im_start|>system\\n' + message['content'] + '<|im_end|>' }}") == nil)
    }

    @Test func chatMessageIsCodable() throws {
        let message = ChatMessage(role: "user", content: "hé")
        let data = try JSONEncoder().encode(message)
        #expect(try JSONDecoder().decode(ChatMessage.self, from: data) == message)
        let call = ChatMessage(role: "assistant", content: nil,
                               toolCalls: [.object(["id": "call_1", "type": "function",
                                                    "function": .object(["arguments": .object(["city": "Paris"]), "name": "get_weather"])])])
        #expect(try JSONDecoder().decode(ChatMessage.self, from: try JSONEncoder().encode(call)) == call)
    }

    /// What templates see of a message: role and content always (None when absent), the tool fields when set.
    @Test func messagesBecomeTheDictsTemplatesRead() throws {
        let template = try JinjaTemplate(source: "{% for m in messages %}{{ m.role }}|{{ m.content is none }}|{{ m.tool_calls is defined }}|"
                                         + "{{ m.get('tool_call_id', '-') }}|{{ m.name | default('?') }};{% endfor %}")
        let messages = [ChatMessage(role: "user", content: "hi"),
                        ChatMessage(role: "assistant", content: nil, toolCalls: [.object(["id": "c1"])]),
                        ChatMessage(role: "tool", content: "21", name: "weather", toolCallID: "c1")]
        #expect(try template.render(context: ["messages": .array(messages.map(\.templateValue))]) ==
                "user|False|False|-|?;assistant|True|True|-|?;tool|False|False|c1|weather;")
    }

    /// A leading BOS written by the template is left to the tokenizer when it adds one itself (as llama.cpp does),
    /// and the end of an assistant turn is read from the template.
    @Test func promptDropsALeadingBOSTheTokenizerAddsAndFindsTheTurnEnd() throws {
        let source = "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n"
            + "{{ m.content | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
        let adds = ChatTemplate.jinja(try JinjaTemplate(source: source),
                                      tokens: ChatTemplateTokens(bos: "<|begin_of_text|>", eos: "<|eot_id|>", tokenizerAddsBOS: true))
        let user = [ChatMessage(role: "user", content: " Hi ")]
        #expect(try adds.render(user).hasPrefix("<|begin_of_text|><|start_header_id|>user"))
        #expect(try adds.prompt(user) == "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        let keeps = ChatTemplate.jinja(try JinjaTemplate(source: source),
                                       tokens: ChatTemplateTokens(bos: "<|begin_of_text|>", eos: "<|eot_id|>", tokenizerAddsBOS: false))
        #expect(try keeps.prompt(user).hasPrefix("<|begin_of_text|>"))
        #expect(adds.responseClosing() == "<|eot_id|>")
        #expect(ChatTemplate.chatml(defaultSystem: nil).responseClosing() == "<|im_end|>\n")
        #expect(ChatTemplate.gemma.responseClosing() == "<end_of_turn>\n")
        let raising = ChatTemplate.jinja(try JinjaTemplate(source: "{{ raise_exception('no') }}"),
                                         tokens: ChatTemplateTokens(bos: "", eos: "", tokenizerAddsBOS: false))
        #expect(raising.responseClosing() == nil)
    }

    /// SmolLM2's own template closes a reply with <|im_end|>, the token the alignment code ends responses with.
    @Test func endOfTurnTokenComesFromTheTemplate() throws {
        let model = try Fixtures.smollm2()
        let template = try ChatTemplate.load(chatTemplate: model.vocabulary.chatTemplate, tokenizer: model.tokenizer)
        #expect(template.endOfTurnID(tokenizer: model.tokenizer) == model.tokenizer.tokenID("<|im_end|>"))
        let gemma = try Fixtures.gemma3()
        #expect(ChatTemplate.gemma.endOfTurnID(tokenizer: gemma.tokenizer) == gemma.tokenizer.tokenID("<end_of_turn>"))
    }

    /// A template the interpreter cannot use is refused at load, naming the construct.
    @Test func unusableTemplatesAreRefusedAtLoad() throws {
        let tokenizer = try Fixtures.smollm2().tokenizer
        #expect(throws: TemplateError.self) { try ChatTemplate.load(chatTemplate: "{% include 'x.jinja' %}", tokenizer: tokenizer) }
        do {
            _ = try ChatTemplate.load(chatTemplate: "{{ messages | wordwrap }}", tokenizer: tokenizer)
            Issue.record("a template with an unsupported filter loaded")
        } catch let error as TemplateError {
            #expect(error.kind == .syntax && error.message.contains("'wordwrap'"))
        }
    }
}
