import Foundation
import GGUF
import Kernels
import Model

/// LoRA adapter files in the GGUF layout llama.cpp reads (`general.type = adapter`, `adapter.type = lora`,
/// `adapter.lora.alpha`, tensors `blk.N.<proj>.weight.lora_a` [ggml: inputs, rank] and `.lora_b`
/// [ggml: rank, outputs]), plus Raconteur's `raconteur.*` keys.
public enum AdapterFile {
    public static let maxRank = 64
    /// Largest `adapter.lora.alpha` served: the delta is scaled by alpha / rank, and more than this is no adapter.
    public static let maxAlpha: Float = 65_536

    enum Key {
        static let objectives = "raconteur.objectives"
        static let weights = "raconteur.weights"
        static let method = "raconteur.method"
        static let version = "raconteur.version"
        static let baseFingerprint = "raconteur.base_fingerprint"
    }

    /// Writes atomically (a temporary file renamed into place): a reader never sees half a file.
    public static func write(_ adapter: LoRAAdapter, metadata: AdapterMetadata, architecture: String, to path: String) throws {
        try metadata.validate()   // a file this writes must load again
        var w = GGUFWriter()
        w.setValue("general.architecture", .string(architecture))
        w.setValue("general.type", .string("adapter"))
        w.setValue("adapter.type", .string("lora"))
        w.setValue("adapter.lora.alpha", .float32(adapter.alpha))
        w.setValue(Key.objectives, .array(.strings(metadata.objectives)))
        w.setValue(Key.weights, .array(.float64s(metadata.weights)))
        if let method = metadata.method { w.setValue(Key.method, .string(method)) }
        w.setValue(Key.version, .uint32(UInt32(metadata.version)))   // validated: 1...UInt32.max
        if let fp = metadata.baseFingerprint { w.setValue(Key.baseFingerprint, .string(fp)) }
        let ordered = adapter.matrices.sorted {
            ($0.key.layer, $0.key.projection.rawValue) < ($1.key.layer, $1.key.projection.rawValue)
        }
        for (target, m) in ordered {
            try w.addTensor(name: target.tensorName + ".lora_a", dimensions: [m.inputs, m.rank],
                            floats: Array(UnsafeBufferPointer(start: m.a, count: m.rank * m.inputs)))
            try w.addTensor(name: target.tensorName + ".lora_b", dimensions: [m.rank, m.outputs],
                            floats: Array(UnsafeBufferPointer(start: m.b, count: m.outputs * m.rank)))
        }
        try w.write(to: path)
    }

    /// Reads an adapter and checks that it fits `config` (architecture, projections, shapes, rank) and,
    /// when both are known, that it was trained on the base model with `baseFingerprint`.
    public static func read(path: String, config: ModelConfig, baseFingerprint: String? = nil) throws
        -> (adapter: LoRAAdapter, metadata: AdapterMetadata)
    {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch {
            throw AdapterError.notAnAdapter(path: path, reason: "\(error)")
        }
        guard (try? file.optionalString("general.type")) == "adapter",
              (try? file.optionalString("adapter.type")) == "lora" else {
            throw AdapterError.notAnAdapter(path: path, reason: "general.type/adapter.type are not adapter/lora")
        }
        let arch = (try? file.architecture) ?? "?"
        guard arch == config.architecture.name else {
            throw AdapterError.architectureMismatch(adapter: arch, model: config.architecture.name)
        }
        let metadata = AdapterMetadata(
            objectives: (try? file.stringArray(Key.objectives)) ?? [],
            weights: (file.metadata[Key.weights].flatMap { value -> [Double]? in
                if case .array(.float64s(let d)) = value { return d }
                if case .array(let a) = value, let f = a.floats { return f.map(Double.init) }
                return nil
            }) ?? [],
            method: try? file.optionalString(Key.method),
            version: ((try? file.optionalInt(Key.version)) ?? nil) ?? 1,
            baseFingerprint: (try? file.optionalString(Key.baseFingerprint)) ?? nil)
        try metadata.validate()
        if let expected = metadata.baseFingerprint, let found = baseFingerprint, expected != found {
            throw AdapterError.baseModelMismatch(expected: expected, found: found)
        }

        var byName = [String: GGUFTensorInfo]()
        for t in file.tensors { byName[t.name] = t }
        var matrices = [LoRATarget: LoRAMatrices]()
        var rank: Int?
        for t in file.tensors where t.name.hasSuffix(".lora_a") || t.name.hasSuffix(".lora_b") {
            let base = String(t.name.dropLast(7))
            guard let target = parseTarget(base), target.layer < config.blockCount else { throw AdapterError.unknownTensor(t.name) }
            guard let aInfo = byName[base + ".lora_a"], let bInfo = byName[base + ".lora_b"] else {
                throw AdapterError.unpairedTensor(t.name)
            }
            if matrices[target] != nil { continue }
            let (outputs, inputs) = config.projectionShape(target.projection)
            guard aInfo.dimensions.count == 2, aInfo.dimensions[0] == inputs else {
                throw AdapterError.shapeMismatch(tensor: aInfo.name, expected: [inputs, aInfo.dimensions.last ?? 0], found: aInfo.dimensions)
            }
            let r = aInfo.dimensions[1]
            guard (1...maxRank).contains(r) else { throw AdapterError.rankOutOfRange(r) }
            guard bInfo.dimensions == [r, outputs] else {
                throw AdapterError.shapeMismatch(tensor: bInfo.name, expected: [r, outputs], found: bInfo.dimensions)
            }
            if let rank, rank != r { throw AdapterError.shapeMismatch(tensor: aInfo.name, expected: [inputs, rank], found: aInfo.dimensions) }
            rank = r
            let m = LoRAMatrices(rank: r, inputs: inputs, outputs: outputs)
            try copy(file, aInfo, into: m.a)
            try copy(file, bInfo, into: m.b)
            matrices[target] = m
        }
        guard let rank else { throw AdapterError.notAnAdapter(path: path, reason: "no lora_a/lora_b tensors") }
        let alpha = ((try? file.optionalFloat("adapter.lora.alpha")) ?? nil) ?? Float(rank)
        guard alpha.isFinite, alpha > 0, alpha <= maxAlpha else {
            throw AdapterError.invalidMetadata(key: "adapter.lora.alpha", reason: "\(alpha) is outside (0, \(Int(maxAlpha))]")
        }
        return (LoRAAdapter(rank: rank, alpha: alpha, matrices: matrices, layerCount: config.blockCount), metadata)
    }

    static func parseTarget(_ base: String) -> LoRATarget? {
        // blk.N.<projection>.weight
        let parts = base.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", parts[3] == "weight", let layer = Int(parts[1]), layer >= 0,
              let projection = Projection(rawValue: String(parts[2])) else { return nil }
        return LoRATarget(layer: layer, projection: projection)
    }

    static func copy(_ file: GGUFFile, _ t: GGUFTensorInfo, into dst: UnsafeMutablePointer<Float>) throws {
        let src = file.data(for: t)
        switch t.type {
        case .f32: dst.update(from: src.assumingMemoryBound(to: Float.self), count: t.elementCount)
        case .f16:
            for i in 0..<t.elementCount { dst[i] = Half.load(src, byteOffset: 2 * i) }
        default: throw AdapterError.unsupportedType(tensor: t.name, type: "\(t.type)")
        }
        // A NaN or infinity would turn every logit of a request that uses the adapter into NaN.
        guard (0..<t.elementCount).allSatisfy({ dst[$0].isFinite }) else { throw AdapterError.nonFiniteValue(tensor: t.name) }
    }
}
