import Foundation
import Server
import Testing

@Suite struct ConfigurationTests {
    static let repositoryConfiguration = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("configs/raconteur.toml").path

    @Test func theDefaultConfigurationFileLoadsAndValidates() throws {
        let configuration = try ServerConfiguration(contentsOfFile: Self.repositoryConfiguration)
        try configuration.validate()
        #expect(configuration.modelPath == "models/SmolLM2-135M-Instruct.Q4_1.gguf")
        #expect(configuration.servedModelID == "SmolLM2-135M-Instruct.Q4_1")
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.apiKeysFile == nil)
        #expect(configuration.isOpen)
        #expect(configuration.objectives.map(\.name) == ["concise", "detailed"])
        #expect(configuration.maxBatch >= 1 && configuration.maxQueued >= 1)
        #expect(configuration.adaptersDirectory == "data/adapters")
        #expect(configuration.realign.method == "raco")
        #expect(configuration.realign.grid(objectives: 2) == [[1, 0], [0.75, 0.25], [0.5, 0.5], [0.25, 0.75], [0, 1]])
        #expect(configuration.realign.training.threads == 1)
    }

    @Test func realignSettingsAreReadAndChecked() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("realign-\(UUID().uuidString).toml")
        defer { try? FileManager.default.removeItem(at: url) }
        try "[realign]\nmethod = \"cagrad\"\ngrid_points = 3\nlearning_rate = 0.002\nmax_pause = 1\n".write(to: url, atomically: true, encoding: .utf8)
        let configuration = try ServerConfiguration(contentsOfFile: url.path)
        #expect(configuration.realign.method == "cagrad")
        #expect(configuration.realign.grid(objectives: 2) == [[1, 0], [0.5, 0.5], [0, 1]])
        #expect(configuration.realign.training.learningRate == 0.002)
        #expect(configuration.realign.grid(objectives: 3).count == 4)
        var bad = configuration
        bad.realign.method = "sgd"
        #expect(throws: ConfigurationError.self) { try bad.validate() }
    }

    /// The `[realign]` section goes through the checks of a `POST /v1/realign` body (one table of ranges).
    @Test(arguments: ["steps = 0", "learning_rate = 2", "c = 1", "rank = 0", "held_out = 0.95", "method = \"sgd\"",
                      "min_pairs = 1", "batch_size = 65", "seed = -1"])
    func realignValuesOutOfRangeAreErrorsThatNameTheKey(line: String) {
        let key = String(line.prefix { $0 != " " })
        #expect {
            try ServerConfiguration(toml: "[realign]\n\(line)\n")
        } throws: { error in
            (error as? ConfigurationError)?.description.contains("realign.\(key)") == true
        }
    }

    @Test func valuesOverrideDefaultsAndMissingOnesKeepThem() throws {
        let configuration = try ServerConfiguration(toml: """
            [model]
            path = "other.gguf"
            name = "storyteller"
            mmap = true
            [limits]
            max_batch = 3
            request_timeout = 12.5
            """)
        #expect(configuration.modelPath == "other.gguf")
        #expect(configuration.servedModelID == "storyteller")
        #expect(configuration.modelStorage == .mapped && ServerConfiguration().modelStorage == .resident)
        #expect(configuration.maxBatch == 3)
        #expect(configuration.requestTimeout == 12.5)
        #expect(configuration.maxQueued == ServerConfiguration().maxQueued)
    }

    @Test func anUnknownKeyIsAnErrorThatNamesIt() {
        #expect {
            try ServerConfiguration(toml: "[limits]\nmax_bacth = 3\n")
        } throws: { error in
            (error as? ConfigurationError)?.description.contains("max_bacth") == true
        }
    }

    @Test func aWrongTypeIsAnErrorThatNamesTheKey() {
        #expect {
            try ServerConfiguration(toml: "[limits]\nqueue = \"many\"\n")
        } throws: { error in
            (error as? ConfigurationError)?.description.contains("limits.queue") == true
        }
    }

    @Test func invalidTOMLIsAnError() {
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(toml: "[model\npath = ") }
    }

    @Test func validationRejectsNonsensicalLimits() {
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(maxBatch: 0).validate() }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(requestTimeout: 0).validate() }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(port: 70000).validate() }
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration(objectives: [.init(name: "a"), .init(name: "a")]).validate()
        }
    }

    @Test func apiKeysFileSkipsBlankAndCommentLines() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-keys-\(UUID().uuidString)")
        try "# team keys\nsk-one\n\n  sk-two  \n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        var configuration = ServerConfiguration(apiKeysFile: file.path)
        try configuration.loadAPIKeys()
        #expect(configuration.apiKeys == ["sk-one", "sk-two"])
        #expect(!configuration.isOpen)
    }

    @Test func aMissingAPIKeysFileIsAnError() {
        var configuration = ServerConfiguration(apiKeysFile: "/nonexistent/keys")
        #expect(throws: ConfigurationError.self) { try configuration.loadAPIKeys() }
    }

    /// `[model] chat_template` names a template file that replaces the model's own; it is read, and parsed, before
    /// the server starts, so that a template the interpreter refuses stops the start with the construct named.
    @Test func chatTemplateFileIsReadAndParsedBeforeTheStart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("raconteur-template-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.jinja"), bad = directory.appendingPathComponent("bad.jinja")
        try "{% for m in messages %}{{ m.content }}{% endfor %}".write(to: good, atomically: true, encoding: .utf8)
        try "{{ messages | wordwrap }}".write(to: bad, atomically: true, encoding: .utf8)
        let toml = directory.appendingPathComponent("raconteur.toml")
        try "[model]\nchat_template = \"\(good.path)\"\n".write(to: toml, atomically: true, encoding: .utf8)
        var configuration = try ServerConfiguration(contentsOfFile: toml.path)
        #expect(configuration.chatTemplatePath == good.path)
        try configuration.validate()
        try configuration.loadChatTemplate()
        #expect(configuration.chatTemplateSource == "{% for m in messages %}{{ m.content }}{% endfor %}")

        configuration.chatTemplatePath = bad.path
        do {
            try configuration.loadChatTemplate()
            Issue.record("a template with an unsupported filter was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("unsupported filter 'wordwrap'"))
        }
        configuration.chatTemplatePath = directory.path   // a directory, not a regular file
        #expect(throws: ConfigurationError.self) { try configuration.loadChatTemplate() }
        configuration.chatTemplatePath = ""
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
    }
}
