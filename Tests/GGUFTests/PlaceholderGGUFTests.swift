import Testing

@Test func placeholderGGUF() { #expect(true) }
