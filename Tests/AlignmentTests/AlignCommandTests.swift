import Adapters
import Foundation
@testable import Alignment
import Model
import Testing

/// `raconteur align` as a process (the executable is built next to the test bundle by `swift build --build-tests`):
/// argument validation with clear messages, and a small run on a tiny model that writes adapters and report.json.
@Suite(.serialized)
struct AlignCommandTests {
    static var executable: URL {
        // …/debug/RaconteurPackageTests.xctest → …/debug/raconteur
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("raconteur")
    }

    /// Exit status, stdout and stderr of `raconteur align <arguments>`.
    static func align(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["align"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile(), error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
    }

    static func setUp() throws -> (directory: URL, model: String, data: String) {
        let directory = try TinyAlignmentModel.temporaryDirectory()
        let model = try TinyAlignmentModel.write(to: directory)
        let encoder = JSONEncoder()
        let lines = try TinyAlignmentModel.records().map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let data = directory.appendingPathComponent("prefs.jsonl").path
        try lines.joined(separator: "\n").write(toFile: data, atomically: true, encoding: .utf8)
        return (directory, model, data)
    }

    @Test func badArgumentsAreRejectedWithoutACrash() throws {
        try #require(FileManager.default.fileExists(atPath: Self.executable.path), "build raconteur first")
        let (directory, model, data) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out").path
        let base = ["--model", model, "--data", data, "--out", out]
        let cases: [([String], String)] = [
            (["--objectives", "short,long", "--weights", "1,-1"], "negative"),
            (["--objectives", "short,long", "--weights", "0,0"], "sums to 0"),
            (["--objectives", "short,long", "--weights", "1,0,0"], "3 weights for 2 objectives"),
            (["--objectives", "short,long", "--weights", "1,0", "--method", "sgd"], "--method"),
            (["--objectives", "short,long", "--weights", "1,0", "--c", "1.5"], "invalid c"),
            (["--objectives", "short,long", "--weights", "1,0", "--rank", "0"], "invalid rank"),
            (["--objectives", "short,polite", "--weights", "1,0"], "no row labels 'polite'"),
        ]
        for (arguments, message) in cases {
            let result = try Self.align(base + arguments)
            #expect(result.status != 0 && result.status < 128, "\(arguments)")
            #expect(result.error.contains(message), "\(arguments): \(result.error)")
        }
        let missing = try Self.align(["--model", model, "--data", directory.appendingPathComponent("none.jsonl").path,
                                      "--out", out, "--objectives", "short", "--weights", "1"])
        #expect(missing.status != 0 && missing.status < 128 && missing.error.contains("cannot read"))
        try "{\"prompt\": \"p\"}\n".write(toFile: data, atomically: true, encoding: .utf8)
        let broken = try Self.align(base + ["--objectives", "short", "--weights", "1"])
        #expect(broken.status != 0 && broken.status < 128 && broken.error.contains("line 1"))
    }

    @Test func alignWritesOneAdapterPerWeightVectorAndTheReport() throws {
        try #require(FileManager.default.fileExists(atPath: Self.executable.path), "build raconteur first")
        let (directory, model, data) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out").path
        let result = try Self.align(["--model", model, "--data", data, "--out", out, "--objectives", "short,long",
                                     "--weights", "1,0;0.5,0.5;0,1", "--method", "raco", "--steps", "3", "--rank", "2",
                                     "--lr", "0.01", "--batch", "2", "--threads", "1", "--seed", "4", "--held-out", "0.25"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("step 3/3"))
        let names = ["short1.00-long0.00.gguf", "short0.50-long0.50.gguf", "short0.00-long1.00.gguf"]
        let config = try TransformerModel(path: model, threads: 1).config
        for name in names {
            let (_, metadata) = try AdapterFile.read(path: out + "/" + name, config: config)
            #expect(metadata.method == "raco" && metadata.objectives == ["short", "long"])
        }
        let report = try JSONDecoder().decode(AlignmentReport.self,
                                              from: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        #expect(report.runs.map(\.fileName) == names)
        #expect(report.hyperparameters.rank == 2 && report.hyperparameters.alpha == 4 && report.hyperparameters.seed == 4)
        #expect(report.heldOutRows == 6)
    }
}
