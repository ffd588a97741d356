import Foundation
import Testing
@testable import Tokenizers

@Suite struct ChatTemplateTests {
    static let smolSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    @Test func smolLM2TemplateIsDetectedWithItsDefaultSystemPrompt() throws {
        let model = try Fixtures.smollm2()
        let template = ChatTemplate.detect(chatTemplate: model.vocabulary.chatTemplate, tokenizer: model.tokenizer)
        #expect(template == .chatml(defaultSystem: Self.smolSystem))
    }

    /// SmolLM2's rendering equals its Jinja template rendered by jinja2 (gen_tokenizer_vocab.py).
    @Test func smolLM2MatchesJinja() throws {
        let model = try Fixtures.smollm2()
        let template = ChatTemplate.detect(chatTemplate: model.vocabulary.chatTemplate, tokenizer: model.tokenizer)
        let renderings = try #require(model.json["chat_renderings"] as? [[String: Any]],
                                      "the fixture has no jinja renderings (is jinja2 installed?)")
        #expect(renderings.count >= 4)
        for rendering in renderings {
            let messages = (rendering["messages"] as! [[String: String]]).map {
                ChatMessage(role: $0["role"]!, content: $0["content"]!)
            }
            let addPrompt = rendering["add_generation_prompt"] as! Bool
            #expect(template.render(messages, addGenerationPrompt: addPrompt) == rendering["rendered"] as! String,
                    "\(rendering["name"]!)")
        }
    }

    @Test func smolLM2WithAndWithoutSystem() throws {
        let template = ChatTemplate.chatml(defaultSystem: Self.smolSystem)
        #expect(template.render([ChatMessage(role: "user", content: "Hi")]) ==
            "<|im_start|>system\n\(Self.smolSystem)<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(template.render([ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")]) ==
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    /// The chat prompt of the reference file renders from one user message (no default system).
    @Test func referenceChatPromptsRender() throws {
        let user = [ChatMessage(role: "user", content: "What is 2+2?")]
        let smol = try Fixtures.cases("smollm2").referenceCases.map(\.prompt)
        #expect(smol.contains(ChatTemplate.chatml(defaultSystem: nil).render(user)))
        let gemma = try Fixtures.cases("gemma3").referenceCases.map(\.prompt)
        #expect(gemma.contains(ChatTemplate.gemma.render(user)))
    }

    @Test func gemmaIsDetectedFromItsVocabulary() throws {
        let model = try Fixtures.gemma3()
        #expect(model.vocabulary.chatTemplate == nil)
        #expect(ChatTemplate.detect(chatTemplate: nil, tokenizer: model.tokenizer) == .gemma)
        #expect(ChatTemplate.detect(chatTemplate: "{{ '<start_of_turn>' + role }}", tokenizer: try Fixtures.smollm2().tokenizer) == .gemma)
        #expect(ChatTemplate.detect(chatTemplate: nil, tokenizer: try Fixtures.smollm2().tokenizer) == .chatml(defaultSystem: nil))
        #expect(ChatTemplate.detect(chatTemplate: "{% unknown %}", tokenizer: try Fixtures.smollm2().tokenizer) == .chatml(defaultSystem: nil))
    }

    /// Gemma 3's template: system folded into the first user turn, assistant → model, contents trimmed.
    @Test func gemmaWithSystem() {
        let messages = [
            ChatMessage(role: "system", content: "You are terse."),
            ChatMessage(role: "user", content: "  Name a colour.\n"),
            ChatMessage(role: "assistant", content: "Blue."),
            ChatMessage(role: "user", content: "Another?"),
        ]
        #expect(ChatTemplate.gemma.render(messages) ==
            "<start_of_turn>user\nYou are terse.\n\nName a colour.<end_of_turn>\n" +
            "<start_of_turn>model\nBlue.<end_of_turn>\n" +
            "<start_of_turn>user\nAnother?<end_of_turn>\n" +
            "<start_of_turn>model\n")
        #expect(ChatTemplate.gemma.render(Array(messages[1...2]), addGenerationPrompt: false) ==
            "<start_of_turn>user\nName a colour.<end_of_turn>\n<start_of_turn>model\nBlue.<end_of_turn>\n")
    }

    /// Rendered prompts tokenize with the turn markers as single tokens (and BOS for Gemma).
    @Test func renderedPromptsTokenize() throws {
        let gemma = try Fixtures.gemma3().tokenizer
        let ids = gemma.encode(ChatTemplate.gemma.render([ChatMessage(role: "user", content: "Hi")]))
        #expect(ids.first == gemma.bosID)
        #expect(ids.filter { $0 == gemma.tokenID("<start_of_turn>") }.count == 2)
        let smol = try Fixtures.smollm2().tokenizer
        let smolIDs = smol.encode(ChatTemplate.chatml(defaultSystem: nil).render([ChatMessage(role: "user", content: "Hi")]))
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
    }
}
