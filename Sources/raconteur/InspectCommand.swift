// `raconteur inspect FILE`: what a GGUF file holds — header, metadata, tensor directory — without
// loading the model.

import ArgumentParser
import Foundation
import GGUF

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a GGUF file's header, metadata and tensor table."
    )

    @Argument(help: "The GGUF file.")
    var file: String

    @Option(name: .customLong("max-array"), help: "Array elements shown per metadata value.")
    var maxArray = 8

    @Option(name: .customLong("max-string"), help: "Characters shown per string value (0: all).")
    var maxString = 160

    func validate() throws {
        guard maxArray >= 0 else { throw ValidationError("--max-array must not be negative") }
        guard maxString >= 0 else { throw ValidationError("--max-string must not be negative") }
    }

    func run() throws {
        let gguf: GGUFFile
        do {
            gguf = try GGUFFile(path: file)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        printHeader(gguf)
        printMetadata(gguf)
        printTensors(gguf)
        printSummary(gguf)
    }

    private func printHeader(_ gguf: GGUFFile) {
        print("file:       \(gguf.path)")
        print("version:    \(gguf.version)")
        print("alignment:  \(gguf.alignment)")
        print("data:       from byte \(gguf.dataOffset) of \(gguf.fileSize) (\(Self.humanSize(gguf.fileSize)))")
    }

    private func printMetadata(_ gguf: GGUFFile) {
        print("\nmetadata (\(gguf.metadataKeys.count) keys):")
        let keyWidth = gguf.metadataKeys.map(\.count).max() ?? 0
        for key in gguf.metadataKeys {
            guard let value = gguf.metadata[key] else { continue }
            print("  \(Self.padded(key, keyWidth))  \(Self.padded(value.typeName, 18))  \(format(value))")
        }
    }

    private func printTensors(_ gguf: GGUFFile) {
        print("\ntensors (\(gguf.tensors.count)):")
        let rows = gguf.tensors.map { tensor in
            [tensor.name, tensor.type.name, tensor.dimensions.map(String.init).joined(separator: " × "),
             String(tensor.offset), String(tensor.byteCount)]
        }
        let header = ["name", "type", "dimensions", "offset", "bytes"]
        let widths = (0 ..< header.count).map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        // Text columns left-aligned, numbers right-aligned.
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                column >= 3 ? Self.padded(cell, widths[column], right: true) : Self.padded(cell, widths[column])
            }.joined(separator: "  ")
        }
        print("  " + line(header))
        rows.forEach { print("  " + line($0)) }
    }

    private func printSummary(_ gguf: GGUFFile) {
        var countByType: [GGMLType: Int] = [:]
        for tensor in gguf.tensors { countByType[tensor.type, default: 0] += 1 }
        let perType = countByType.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.key.name) \($0.value)" }.joined(separator: ", ")
        let totalBytes = gguf.tensors.reduce(0) { $0 + $1.byteCount }
        print("\nsummary: \(gguf.tensors.count) tensors (\(perType.isEmpty ? "none" : perType)), "
              + "\(totalBytes) bytes (\(Self.humanSize(totalBytes))) of tensor data")
    }

    // MARK: formatting

    private func format(_ value: GGUFValue) -> String {
        switch value {
        case .string(let string): return format(string)
        case .array(let array): return format(array)
        default: return value.description
        }
    }

    private func format(_ string: String) -> String {
        guard maxString > 0, string.count > maxString else { return GGUFValue.string(string).description }
        return GGUFValue.string(String(string.prefix(maxString))).description + "… (\(string.count) characters)"
    }

    private func format(_ array: GGUFArray) -> String {
        let shown = (0 ..< min(array.count, maxArray)).compactMap { array.element(at: $0) }.map(format)
        let more = array.count > shown.count ? ", …" : ""
        let length = array.count > shown.count ? " (\(array.count) elements)" : ""
        return "[" + shown.joined(separator: ", ") + more + "]" + length
    }

    private static func padded(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }

    private static func humanSize(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var size = Double(bytes)
        var unit = 0
        while size >= 1024, unit < units.count - 1 {
            size /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", size) + " " + units[unit]
    }
}
