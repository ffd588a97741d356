import Testing

@Test func placeholderTokenizers() { #expect(true) }
