import Foundation

/// The k × k Gram matrix H_ij = ⟨g_i, g_j⟩ of the per-objective gradients (docs/RACO.md, "The Gram matrix"),
/// in Float64. Every quantity the combination needs — ‖g_0‖, b = H w, ‖G̃‖, ⟨g_i, d⟩ — is a
/// quadratic or linear form in H, so after this one pass over the k flat gradients of length P the
/// rest of the step costs O(k²) and touches no P-vector.
public struct GramMatrix: Sendable, Equatable {
    public let size: Int
    /// Row-major, symmetric.
    public let entries: [Double]

    /// From explicit entries (tests, or a caller that accumulated H itself). Must be symmetric.
    public init(rows: [[Double]]) throws {
        let k = rows.count
        guard k > 0 else { throw AlignmentError.noObjectives }
        for row in rows where row.count != k {
            throw AlignmentError.countMismatch(expected: k, actual: row.count, what: "Gram matrix columns")
        }
        var entries = [Double](repeating: 0, count: k * k)
        for i in 0..<k {
            for j in 0..<k {
                guard rows[i][j].isFinite else { throw AlignmentError.nonFinite("Gram matrix entry") }
                // Symmetrise so that rounding in a caller's H cannot make the quadratic forms asymmetric.
                entries[i * k + j] = 0.5 * (rows[i][j] + rows[j][i])
            }
        }
        self.size = k
        self.entries = entries
    }

    /// H_ij = ⟨g_i, g_j⟩ from k flat Float gradients of equal length, accumulated in Float64.
    public init(gradients: [[Float]]) throws {
        try self.init(gradientCount: gradients.count, lengths: gradients.map(\.count)) { i, j in
            gradients[i].withUnsafeBufferPointer { a in
                gradients[j].withUnsafeBufferPointer { b in FlatVectorAlgebra.dot(a, b) }
            }
        }
    }

    /// H_ij = ⟨g_i, g_j⟩ from k flat Float gradients in buffers the caller owns (the trainer's, allocated once).
    public init(gradients: [UnsafeBufferPointer<Float>]) throws {
        try self.init(gradientCount: gradients.count, lengths: gradients.map(\.count)) { i, j in
            FlatVectorAlgebra.dot(gradients[i], gradients[j])
        }
    }

    /// H_ij = ⟨g_i, g_j⟩ from k flat Float64 gradients of equal length.
    public init(gradients: [[Double]]) throws {
        try self.init(gradientCount: gradients.count, lengths: gradients.map(\.count)) { i, j in
            gradients[i].withUnsafeBufferPointer { a in
                gradients[j].withUnsafeBufferPointer { b in FlatVectorAlgebra.dot(a, b) }
            }
        }
    }

    private init(gradientCount k: Int, lengths: [Int], dot: (Int, Int) -> Double) throws {
        guard k > 0 else { throw AlignmentError.noObjectives }
        for length in lengths where length != lengths[0] {
            throw AlignmentError.countMismatch(expected: lengths[0], actual: length, what: "gradient length")
        }
        var entries = [Double](repeating: 0, count: k * k)
        for i in 0..<k {
            for j in i..<k {
                // H_ij = ⟨g_i, g_j⟩.
                let value = dot(i, j)
                guard value.isFinite else { throw AlignmentError.nonFinite("gradient") }
                entries[i * k + j] = value
                entries[j * k + i] = value
            }
        }
        self.size = k
        self.entries = entries
    }

    public subscript(i: Int, j: Int) -> Double { entries[i * size + j] }

    /// H x.
    public func multiply(_ x: [Double]) -> [Double] {
        (0..<size).map { i in
            var sum = 0.0
            for j in 0..<size { sum += entries[i * size + j] * x[j] }
            return sum
        }
    }

    /// xᵀ H x = ‖Σ x_i g_i‖², clamped at 0 against rounding.
    public func quadraticForm(_ x: [Double]) -> Double {
        var sum = 0.0
        for i in 0..<size {
            for j in 0..<size { sum += x[i] * entries[i * size + j] * x[j] }
        }
        return max(sum, 0)
    }

    /// ‖g_i‖ = √H_ii.
    public var gradientNorms: [Double] { (0..<size).map { sqrt(max(self[$0, $0], 0)) } }

    /// The sub-matrix on the given objectives (the k = 2 problems on the edges of the k = 3 simplex).
    func restricted(to indices: [Int]) -> GramMatrix {
        GramMatrix(uncheckedSize: indices.count, entries: indices.flatMap { i in indices.map { j in self[i, j] } })
    }

    /// The same matrix divided by a positive scale.
    func scaled(by factor: Double) -> GramMatrix {
        GramMatrix(uncheckedSize: size, entries: entries.map { $0 * factor })
    }

    private init(uncheckedSize: Int, entries: [Double]) {
        self.size = uncheckedSize
        self.entries = entries
    }
}
