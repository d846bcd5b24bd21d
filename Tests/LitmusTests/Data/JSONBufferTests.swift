import Foundation
import LitmusJSON
import Testing

/// The JSON writer's number formatting: every double reads back exactly.
@Suite struct JSONBufferTests {
    func text(_ x: Double) -> String {
        var j = JSONBuffer()
        j.value(x)
        return String(decoding: j.bytes, as: UTF8.self)
    }

    @Test(arguments: [
        (3.3, "3.3"), (-3.3, "-3.3"), (0.1, "0.1"), (3.2987654321, "3.2987654321"), (0.0001, "0.0001"),
        (123456.789, "123456.789"), (5.0, "5.0"), (-0.0, "-0.0"), (1e15, "1000000000000000.0"), (1e16, "1e+16"), (0.5, "0.5"), (10.25, "10.25"),
        (1.0 / 3.0, "0.3333333333333333"), (2.0 / 3.0, "0.6666666666666666"),
    ])
    func formats(value: Double, expected: String) {
        #expect(text(value) == expected)
    }

    @Test func randomDoublesReadBackExactly() {
        var generator = SystemRandomNumberGenerator()
        for i in 0..<200_000 {
            let x: Double
            switch i % 4 {
            case 0: x = Double(bitPattern: generator.next())
            case 1: x = Double.random(in: -1000...1000, using: &generator)
            case 2: x = (Double.random(in: 0...1, using: &generator) * 1e6).rounded() / 1e3
            default: x = Double.random(in: 1e-4...1e-2, using: &generator)
            }
            guard x.isFinite else { continue }
            let t = text(x)
            #expect(Double(t) == x, "\(x) written as \(t)")
            if Double(t) != x { return }
        }
    }
}
