import Foundation
import Testing

@testable import Litmus

/// Range strings, generators and number formatting of `RangeExpander`.
@Suite struct RangeExpanderTests {
    /// The error message of a range string that must fail.
    func rangeError(_ text: String) -> String {
        do {
            let v = try RangeExpander.values(of: text)
            Issue.record("\"\(text)\" should fail, gave \(v.count) values")
            return ""
        } catch {
            return error.message
        }
    }

    /// The error message of a generator call that must fail.
    func generatorError(_ name: String, _ arguments: [Double]) -> String {
        do {
            let v = try RangeExpander.generate(name, arguments)
            Issue.record("\(name) \(arguments) should fail, gave \(v.count) values")
            return ""
        } catch {
            return error.message
        }
    }

    // MARK: - Range strings

    @Test func documentedExamples() throws {
        #expect(try RangeExpander.values(of: "-40:125:55") == [-40, 15, 70, 125])
        #expect(try RangeExpander.values(of: "1:3") == [1, 2, 3])
        #expect(try RangeExpander.values(of: "0:1:0.25, 5") == [0, 0.25, 0.5, 0.75, 1, 5])
        #expect(try RangeExpander.values(of: "5:1") == [5, 4, 3, 2, 1])
        #expect(try RangeExpander.values(of: "5:1:-2") == [5, 3, 1])
    }

    @Test func singleValuesWhitespaceAndDegenerateRanges() throws {
        #expect(try RangeExpander.values(of: "7") == [7])
        #expect(try RangeExpander.values(of: "-2.5") == [-2.5])
        #expect(try RangeExpander.values(of: "1, 2, 5") == [1, 2, 5])
        #expect(try RangeExpander.values(of: "  1 : 3 ,\t10 , 0.5 : 0.75 : 0.25 ") == [1, 2, 3, 10, 0.5, 0.75])
        #expect(try RangeExpander.values(of: "2:2") == [2])
        #expect(try RangeExpander.values(of: "2:2:-1") == [2])
        #expect(try RangeExpander.values(of: ".5:+1.5, 1e2") == [0.5, 1.5, 100])
        #expect(try RangeExpander.values(of: "5.:7") == [5, 6, 7])
    }

    @Test func stopIncludedOnlyWhenOnTheGrid() throws {
        #expect(try RangeExpander.values(of: "0.5:3") == [0.5, 1.5, 2.5])
        #expect(try RangeExpander.values(of: "-0.5:-3") == [-0.5, -1.5, -2.5])
        #expect(try RangeExpander.values(of: "1:2:0.3") == [1, 1.3, 1.6, 1.9])
        #expect(try RangeExpander.values(of: "10:0:-3") == [10, 7, 4, 1])
    }

    @Test func noDriftOverTenThousandSteps() throws {
        let v = try RangeExpander.values(of: "0:100:0.01")
        #expect(v.count == 10001)
        #expect(v.last == 100)
        // Every point is the Double nearest its decimal value, i/100.
        #expect(v == (0...10000).map { Double($0) / 100 })
        #expect(v[7] == 0.07)
        #expect(v[10000 - 1] == 99.99)
    }

    @Test func decimalPointsAreExact() throws {
        let v = try RangeExpander.values(of: "0.1:0.3:0.1")
        #expect(v == [0.1, 0.2, 0.3])
        #expect(v[2] == Double("0.3")!)
        #expect(v[2] != 0.1 + 0.2)
        #expect(try RangeExpander.values(of: "0:1:0.1") == [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1])
        #expect(try RangeExpander.values(of: "1:0:-0.1") == [1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0])
        #expect(try RangeExpander.values(of: "-0.3:0.3:0.15") == [-0.3, -0.15, 0, 0.15, 0.3])
    }

    @Test func exponentsAreExactToo() throws {
        #expect(try RangeExpander.values(of: "0:1e-3:2.5e-4") == [0, 0.00025, 0.0005, 0.00075, 0.001])
        #expect(try RangeExpander.values(of: "1e3:3E3:1e3") == [1000, 2000, 3000])
        // Scale 30: past the fast path, still the Double nearest each decimal.
        #expect(try RangeExpander.values(of: "1e-30:1e-29:1e-30") == (1...10).map { Double("\($0)e-30")! })
    }

    @Test func floatingPointFallbackHasNoDriftAndSnapsToStop() throws {
        // More than 18 significant digits: not exact decimal, so start + i*step with a tolerance.
        let step = "0.1000000000000000000001"
        let v = try RangeExpander.values(of: "0:1:\(step)")
        #expect(v.count == 11)
        #expect(v.last == 1)
        #expect(v[3] == 3 * 0.1)
        let w = try RangeExpander.values(of: "0:0.30000000000000000001:\(step)")
        #expect(w.count == 4)
        #expect(w.last == 0.3)
        #expect(try RangeExpander.values(of: "-1e308:1e308:1e308") == [-1e308, 0, 1e308])
        // Scale above 18 with an implied step of 1: floating point; a grid point within
        // 1e-9 of the stop counts as the stop and is returned as exactly the stop.
        #expect(try RangeExpander.values(of: "1e-20:2") == [1e-20, 1, 2])
        #expect(try RangeExpander.values(of: "2:1e-25") == [2, 1, 1e-25])
    }

    @Test func malformedStringsAreErrors() {
        #expect(rangeError("").contains("empty range string"))
        #expect(rangeError("   ").contains("empty range string"))
        #expect(rangeError("1,,2").contains("empty part"))
        #expect(rangeError("1,").contains("extra comma"))
        #expect(rangeError(", 1").contains("empty part"))
        #expect(rangeError("1::2").contains("empty field"))
        #expect(rangeError("1:").contains("empty field"))
        let four = rangeError("1:2:3:4")
        #expect(four.contains("\"1:2:3:4\"") && four.contains("4 fields") && four.contains("start:stop:step"))
        let word = rangeError("1:x")
        #expect(word.contains("\"x\"") && word.contains("not a number") && word.contains("\"1:x\""))
        #expect(rangeError("abc").contains("not a number"))
        #expect(rangeError("1 2").contains("\"1 2\" in range part"))
        #expect(rangeError("0x10").contains("not a number"))
        #expect(rangeError("1e").contains("not a number"))
        #expect(rangeError("-").contains("not a number"))
        #expect(rangeError(".").contains("not a number"))
    }

    @Test func nonFiniteNumbersAreErrors() {
        #expect(rangeError("nan").contains("not a number"))
        #expect(rangeError("inf").contains("not a number"))
        #expect(rangeError("0:-inf").contains("not a number"))
        let huge = rangeError("0:1e999")
        #expect(huge.contains("\"1e999\"") && huge.contains("not a finite number"))
    }

    @Test func zeroStepIsAnError() {
        let m = rangeError("0:1:0")
        #expect(m.contains("\"0:1:0\"") && m.contains("step") && m.contains("zero"))
        #expect(rangeError("0:1:0.000").contains("zero"))
        #expect(rangeError("0:1:-0e5").contains("zero"))
    }

    @Test func stepAwayFromStopIsAnErrorNotAnEmptyList() {
        let m = rangeError("5:1:1")
        #expect(m.contains("\"5:1:1\"") && m.contains("points away") && m.contains("-1"))
        let n = rangeError("1:5:-2")
        #expect(n.contains("points away") && n.contains("step 2"))
        #expect(rangeError("5:1:+0.5").contains("use the step -0.5"))
        #expect(rangeError("1, 0:1:-0.5").contains("\"0:1:-0.5\""))
    }

    @Test func tooManyValuesIsAnError() throws {
        let one = rangeError("0:1000000")
        #expect(one.contains("more than 1000000 values") && one.contains("\"0:1000000\""))
        #expect(rangeError("0:1:1e-9").contains("more than 1000000 values"))
        #expect(rangeError("-1e300:1e300:1").contains("more than 1000000 values"))
        let total = rangeError("0:499999, 0:499999, 7")
        #expect(total.contains("more than 1000000 values") && total.contains("at part \"7\""))
        #expect(try RangeExpander.values(of: "0:499999, 1:499999, 0").count == 1_000_000)
    }

    // MARK: - Generators

    @Test func generatorNames() {
        #expect(RangeExpander.generators == ["linspace", "arange", "logspace", "geomspace", "repeat", "range"])
    }

    @Test func linspace() throws {
        #expect(try RangeExpander.generate("linspace", [0, 1, 11]) == [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1])
        #expect(try RangeExpander.generate("linspace", [0, 1, 3]) == [0, 0.5, 1])
        #expect(try RangeExpander.generate("linspace", [1, 0, 5]) == [1, 0.75, 0.5, 0.25, 0])
        #expect(try RangeExpander.generate("linspace", [-40, 125, 4]) == [-40, 15, 70, 125])
        #expect(try RangeExpander.generate("linspace", [5, 9, 1]) == [5])
        #expect(try RangeExpander.generate("linspace", [2, 2, 3]) == [2, 2, 2])
        #expect(try RangeExpander.generate("linspace", [0, 100, 10001]) == (0...10000).map { Double($0) / 100 })
        // Not decimal-exact: endpoints still exact.
        let thirds = try RangeExpander.generate("linspace", [0.1, 1.0 / 3, 4])
        #expect(thirds.count == 4 && thirds.first == 0.1 && thirds.last == 1.0 / 3)
        let sevenths = try RangeExpander.generate("linspace", [0, 1, 7])
        #expect(sevenths.count == 7 && sevenths.first == 0 && sevenths.last == 1)
        #expect(zip(sevenths, (0..<7).map { Double($0) / 6 }).allSatisfy { abs($0 - $1) <= 1e-15 })
        let wide = try RangeExpander.generate("linspace", [-1.7976931348623157e308, 1.7976931348623157e308, 3])
        #expect(wide == [-1.7976931348623157e308, 0, 1.7976931348623157e308])
    }

    @Test func arange() throws {
        #expect(try RangeExpander.generate("arange", [0, 5, 1]) == [0, 1, 2, 3, 4])
        #expect(try RangeExpander.generate("arange", [0, 1, 0.1]) == [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
        #expect(try RangeExpander.generate("arange", [0, 1, 0.3]) == [0, 0.3, 0.6, 0.9])
        #expect(try RangeExpander.generate("arange", [5, 0, -2]) == [5, 3, 1])
        #expect(try RangeExpander.generate("arange", [0.1, 0.3, 0.1]) == [0.1, 0.2])
        #expect(try RangeExpander.generate("arange", [0, 0.5, 1]) == [0])
        let v = try RangeExpander.generate("arange", [0, 100, 0.01])
        #expect(v.count == 10000 && v.last == 99.99)
        let empty = generatorError("arange", [0, 1, -1])
        #expect(empty.contains("arange [0, 1, -1] is empty"))
        #expect(generatorError("arange", [1, 1, 1]).contains("empty"))
        #expect(generatorError("arange", [0, 1, 0]).contains("step is zero"))
        #expect(generatorError("arange", [0, 2e6, 1]).contains("more than 1000000 values"))
    }

    @Test func logspace() throws {
        #expect(try RangeExpander.generate("logspace", [0, 3, 4]) == [1, 10, 100, 1000])
        #expect(try RangeExpander.generate("logspace", [-2, 0, 3]) == [0.01, 0.1, 1])
        #expect(try RangeExpander.generate("logspace", [-30, -28, 3]) == [1e-30, 1e-29, 1e-28])
        #expect(try RangeExpander.generate("logspace", [2, 2, 1]) == [100])
        let half = try RangeExpander.generate("logspace", [0, 1, 3])
        #expect(half[0] == 1 && half[2] == 10 && abs(half[1] - 10.0.squareRoot()) <= 1e-15)
        #expect(generatorError("logspace", [0, 400, 2]).contains("outside the range of Double"))
        #expect(generatorError("logspace", [-400, 0, 2]).contains("outside the range of Double"))
    }

    @Test func geomspace() throws {
        #expect(try RangeExpander.generate("geomspace", [1, 1000, 4]) == [1, 10, 100, 1000])
        #expect(try RangeExpander.generate("geomspace", [1, 256, 9]) == [1, 2, 4, 8, 16, 32, 64, 128, 256])
        #expect(try RangeExpander.generate("geomspace", [-1, -1000, 4]) == [-1, -10, -100, -1000])
        #expect(try RangeExpander.generate("geomspace", [0.001, 1, 4]) == [0.001, 0.01, 0.1, 1])
        #expect(try RangeExpander.generate("geomspace", [1000, 1, 4]) == [1000, 100, 10, 1])
        #expect(try RangeExpander.generate("geomspace", [5, 7, 1]) == [5])
        let odd = try RangeExpander.generate("geomspace", [3, 7, 5])
        #expect(odd.count == 5 && odd.first == 3 && odd.last == 7)
        #expect(zip(odd, odd.dropFirst()).allSatisfy { $0 < $1 })
        let extreme = try RangeExpander.generate("geomspace", [1e-300, 1e300, 3])
        #expect(extreme.first == 1e-300 && extreme.last == 1e300 && abs(extreme[1] - 1) <= 1e-12)
        #expect(generatorError("geomspace", [0, 1, 3]).contains("non-zero"))
        #expect(generatorError("geomspace", [1, 0, 3]).contains("non-zero"))
        #expect(generatorError("geomspace", [-1, 1, 3]).contains("same sign"))
    }

    @Test func repeatGenerator() throws {
        #expect(try RangeExpander.generate("repeat", [2.5, 3]) == [2.5, 2.5, 2.5])
        #expect(try RangeExpander.generate("repeat", [-1, 1]) == [-1])
        #expect(generatorError("repeat", [1, 0]).contains("at least 1"))
        #expect(generatorError("repeat", [1, -3]).contains("at least 1"))
        #expect(generatorError("repeat", [1, 2.5]).contains("whole number"))
        #expect(generatorError("repeat", [1, 2e6]).contains("more than 1000000 values"))
    }

    @Test func generatorArgumentErrors() {
        let short = generatorError("linspace", [0, 1])
        #expect(short.contains("linspace takes 3 arguments [start, stop, count], got 2"))
        #expect(generatorError("repeat", [1]).contains("repeat takes 2 arguments [value, count]"))
        #expect(generatorError("arange", [0, 1, 1, 1]).contains("got 4"))
        #expect(generatorError("logspace", []).contains("got 0"))
        #expect(generatorError("linspace", [0, 1, 2.5]).contains("whole number, got 2.5"))
        #expect(generatorError("linspace", [0, 1, 0]).contains("at least 1"))
        #expect(generatorError("geomspace", [1, 2, 1_000_001]).contains("more than 1000000 values"))
        #expect(generatorError("linspace", [0, .nan, 3]).contains("finite"))
        #expect(generatorError("repeat", [.infinity, 3]).contains("finite"))
    }

    @Test func unknownGeneratorAndRange() {
        let unknown = generatorError("linspaec", [0, 1, 3])
        #expect(unknown.contains("unknown generator \"linspaec\""))
        #expect(unknown.contains("arange, geomspace, linspace, logspace, range, repeat"))
        let range = generatorError("range", [0, 1])
        #expect(range.contains("range string") && range.contains("{range: \"0:1:0.25\"}"))
    }

    // MARK: - Formatting

    @Test func formatIntegralAndShortValues() {
        #expect(RangeExpander.format(5) == "5")
        #expect(RangeExpander.format(-40) == "-40")
        #expect(RangeExpander.format(0) == "0")
        #expect(RangeExpander.format(100) == "100")
        #expect(RangeExpander.format(0.1) == "0.1")
        #expect(RangeExpander.format(-2.5) == "-2.5")
        #expect(RangeExpander.format(1e-7) == "1e-07")
        #expect(RangeExpander.format(1e15) == "1000000000000000")
        #expect(RangeExpander.format(1e16) == "1e+16")
        #expect(RangeExpander.format(0.1 + 0.2) == "0.30000000000000004")
    }

    @Test func formatRoundTrips() {
        var rng = SplitMix64(seed: 42)
        var checked = 0
        var bad: [String] = []
        while checked < 4000 {
            let v: Double
            switch checked % 4 {
            case 0: v = Double(bitPattern: rng.next())  // any finite double, subnormals included
            case 1: v = Double.random(in: -1e6...1e6, using: &rng)
            case 2: v = Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 100
            default: v = Double(Int64.random(in: -(1 << 53)...(1 << 53), using: &rng))
            }
            guard v.isFinite else { continue }
            let text = RangeExpander.format(v)
            if Double(text) != v || text.hasSuffix(".0") { bad.append(text) }
            checked += 1
        }
        #expect(bad == [])
        for v in [Double.leastNonzeroMagnitude, .greatestFiniteMagnitude, -.leastNormalMagnitude, -0.0] {
            #expect(Double(RangeExpander.format(v)) == v)
        }
    }

    // MARK: - Fuzz

    @Test func randomStringsReturnOrThrowNeverCrash() {
        var rng = SplitMix64(seed: 7)
        let alphabet = Array("0123456789.:-, e")
        var returned = 0
        var bad: [String] = []
        for _ in 0..<3000 {
            let length = Int.random(in: 0...9, using: &rng)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &rng)! })
            do {
                let v = try RangeExpander.values(of: text)
                if v.isEmpty || v.count > 1_000_000 || !v.allSatisfy(\.isFinite) { bad.append(text) }
                returned += 1
            } catch {
                if error.message.isEmpty { bad.append(text) }
            }
        }
        #expect(bad == [])
        #expect(returned > 100)
    }

    @Test func randomGeneratorArgumentsReturnOrThrowNeverCrash() {
        var rng = SplitMix64(seed: 11)
        let names = ["linspace", "arange", "logspace", "geomspace", "repeat", "range", "x"]
        let pool: [Double] = [0, 1, -1, 2, 3, 0.1, -0.25, 10, 1e-9, 1e300, -1e300, 7.5, 1000, 1e7, 400, -400]
        var bad: [String] = []
        for _ in 0..<2000 {
            let name = names.randomElement(using: &rng)!
            let arguments = (0..<Int.random(in: 0...4, using: &rng)).map { _ in pool.randomElement(using: &rng)! }
            do {
                let v = try RangeExpander.generate(name, arguments)
                if v.isEmpty || v.count > 1_000_000 || !v.allSatisfy(\.isFinite) { bad.append("\(name) \(arguments)") }
            } catch {
                if error.message.isEmpty { bad.append("\(name) \(arguments)") }
            }
        }
        #expect(bad == [])
    }
}
