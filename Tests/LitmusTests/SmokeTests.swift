import Testing
@testable import Litmus
@Test func smoke() { #expect(1 == 1) }
