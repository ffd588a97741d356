// Scalar reference dequantisation for every block format (the yardstick the SIMD kernels are tested against).

public enum Dequantize {
    /// Writes `count` floats decoded from `src` (blocks of `type`; count a multiple of the block size).
    public static func row(_ type: QuantType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        switch type {
        case .f32:
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        default:
            preconditionFailure("dequantisation of \(type) not yet implemented")
        }
    }
}
