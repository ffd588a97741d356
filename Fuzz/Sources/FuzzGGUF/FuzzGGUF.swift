// libFuzzer target: any byte string, read as a GGUF file the way the server loads a model or an adapter, must give a
// parsed file or a thrown error: never a trap, a hang or a huge allocation (docs/FUZZING.md, "FuzzGGUF").
//
// The bytes go through a real file (on tmpfs) because `GGUFFile` maps or reads files, and the mapping and reading
// are part of what is tested. A file that parses then meets the model loader's checks that need no real weights:
// the tensor directory against the data, the hyper-parameters, the weights' shapes, the tokenizer, the chat template,
// and an adapter's checks against a tiny model's shapes.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Adapters
import FuzzDriver
import GGUF
import Model
import Tokenizers

/// One scratch file per fuzzing process (libFuzzer's -jobs/-workers run several).
private let scratchPath = "/dev/shm/raconteur-fuzz-gguf-\(getpid()).gguf"

/// The shapes an adapter is checked against: llama, 2 blocks, width 32 (the tiny fixtures' shapes).
private let adapterBase = ModelConfig(
    architecture: ArchitectureRegistry.architecture(named: "llama")!, embeddingLength: 32, blockCount: 2,
    feedForwardLength: 48, headCount: 4, headCountKV: 2, headDim: 8, valueDim: 8, contextLength: 64,
    vocabularySize: 64, ropeDimensionCount: 8, ropeFreqBase: 10_000, normEpsilon: 1e-5)

private func writeScratch(_ data: UnsafePointer<UInt8>, _ size: Int) -> Bool {
    let descriptor = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var done = 0
    while done < size {
        let n = write(descriptor, data + done, size - done)
        guard n > 0 else { return false }
        done += n
    }
    return true
}

private func exercise(_ file: GGUFFile) {
    // Every tensor's bytes lie inside the file (`bytes(for:)` traps otherwise).
    var sum = 0
    for tensor in file.tensors { sum &+= file.bytes(for: tensor).count }
    precondition(sum >= 0)
    for key in file.metadataKeys { _ = file.metadata[key].map { "\($0)" } }
    _ = try? file.architecture

    if let model = try? TransformerModel(file: file, threads: 1) {
        _ = model.makeCache(capacity: 4)
    }
    if let tokenizer = try? Tokenizer(gguf: file) {
        let ids = tokenizer.encode("Hello, wörld! <|im_start|> 123")
        _ = tokenizer.decode(ids)
        if let source = try? file.optionalString("tokenizer.chat_template") {
            _ = try? ChatTemplate.load(chatTemplate: source, tokenizer: tokenizer)
        }
    }
    let config = (try? ModelConfig(gguf: file)) ?? adapterBase
    _ = try? AdapterFile.read(path: file.path, config: config)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    guard writeScratch(data, size) else { return 0 }
    let mapped = try? GGUFFile(path: scratchPath, storage: .mapped)
    if let mapped { exercise(mapped) }
    // The resident path reads into its own pages; it must accept and refuse exactly what the mapping does.
    let resident = try? GGUFFile(path: scratchPath, storage: .resident)
    precondition((mapped == nil) == (resident == nil), "mapped and resident reads disagree")
    return 0
}

/// The entry point a debug build links as `main` (FuzzDriver); a release build uses libFuzzer's own.
@_cdecl("FuzzGGUF_main")
public func fuzzggufMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzGGUF)
}
