import Testing

@Test func placeholderKernels() { #expect(true) }
