import Testing

@Test func placeholderModel() { #expect(true) }
