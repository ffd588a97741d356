import Testing
@testable import Alignment

struct FlatVectorAlgebraTests {
    /// The blocked Float64 dot products (eight lanes plus a tail) against a plain loop, for every
    /// length around the block size, from Float and Float64 gradients.
    @Test func gramMatrixMatchesPlainDotProducts() throws {
        var random = SeededGenerator(seed: 40)
        for length in 0...19 {
            let gradients = random.gradients(3, length: length)
            let floats = gradients.map { $0.map { Float($0) } }
            let fromDoubles = try GramMatrix(gradients: gradients)
            let fromFloats = try GramMatrix(gradients: floats)
            for i in 0..<3 {
                for j in 0..<3 {
                    let plain = dot(gradients[i], gradients[j])
                    let plainFromFloats = dot(floats[i].map { Double($0) }, floats[j].map { Double($0) })
                    #expect(abs(fromDoubles[i, j] - plain) <= 1e-13 * max(1, abs(plain)))
                    #expect(abs(fromFloats[i, j] - plainFromFloats) <= 1e-13 * max(1, abs(plainFromFloats)))
                    #expect(fromDoubles[i, j] == fromDoubles[j, i])
                }
            }
        }
    }

    /// d into a reused buffer equals the allocating version, whatever the buffer held before.
    @Test func linearCombinationIntoABufferMatchesTheAllocatingVersion() throws {
        var random = SeededGenerator(seed: 41)
        let gradients = random.gradients(3, length: 10_000).map { $0.map { Float($0) } }
        let coefficients = [0.2, -1.5, 0.7]
        let allocated = try FlatVectorAlgebra.linearCombination(of: gradients, coefficients: coefficients)
        var buffer: [Float] = [1, 2, 3]
        try FlatVectorAlgebra.linearCombination(of: gradients, coefficients: coefficients, into: &buffer)
        #expect(buffer == allocated)
        try FlatVectorAlgebra.linearCombination(of: gradients, coefficients: coefficients, into: &buffer)
        #expect(buffer == allocated)
        let inDouble = try FlatVectorAlgebra.linearCombination(of: gradients.map { $0.map { Double($0) } }, coefficients: coefficients)
        #expect(allocated == inDouble.map { Float($0) })
    }
}
