import Testing

@testable import Litmus

@Suite struct LimitTests {
    @Test func everyComparatorJudgesItsBoundsExactly() throws {
        let cases: [(Limit, [(Double, Outcome)])] = [
            (try Limit(low: 1, high: 2), [(1, .passed), (2, .passed), (0.999, .failed), (2.001, .failed)]),
            (try Limit(low: 1, high: 2, comparator: .GELT), [(1, .passed), (2, .failed), (1.5, .passed)]),
            (try Limit(low: 1, high: 2, comparator: .GTLE), [(1, .failed), (2, .passed)]),
            (try Limit(low: 1, high: 2, comparator: .GTLT), [(1, .failed), (2, .failed), (1.5, .passed)]),
            (try Limit(low: 1, comparator: .GE), [(1, .passed), (0.5, .failed), (1e300, .passed)]),
            (try Limit(low: 1, comparator: .GT), [(1, .failed), (1.000001, .passed)]),
            (try Limit(high: 1, comparator: .LE), [(1, .passed), (1.5, .failed), (-1e300, .passed)]),
            (try Limit(high: 1, comparator: .LT), [(1, .failed), (0.99, .passed)]),
            (try Limit(nominal: 5, comparator: .EQ), [(5, .passed), (5.0000001, .failed)]),
            (try Limit(nominal: 5, comparator: .EQ, tolerance: 0.01), [(5.01, .passed), (4.99, .passed), (5.02, .failed)]),
            (try Limit(nominal: 5, comparator: .NE), [(5, .failed), (6, .passed)]),
            (try Limit(low: 1), [(0, .failed), (1e9, .passed)]),  // GELE with low only: one-sided
            (try Limit(high: 1), [(2, .failed), (-1e9, .passed)]),
        ]
        for (limit, checks) in cases {
            for (value, expected) in checks {
                #expect(limit.judge(value) == expected, "\(limit) judging \(value)")
            }
        }
    }

    @Test func missingValueErrorsAndNaNNeverPasses() throws {
        for limit in [try Limit(low: 1, high: 2), try Limit(nominal: 5, comparator: .NE), try Limit.atMost(3)] {
            #expect(limit.judge(nil) == .errored)
            #expect(limit.judge(.nan) == .failed, "\(limit)")
        }
        #expect(try Limit.atMost(5).judge(.infinity) == .failed)  // a DMM overload mapped to +inf
        #expect(try Limit.atLeast(5).judge(.infinity) == .passed)
    }

    /// Issue 12 #20: EQ/NE compare with a small default tolerance (0.1 + 0.2 equals 0.3),
    /// documented and overridable (0: exact); NaN passes neither.
    @Test func equalityOnFloatsHasADefaultToleranceAndNaNNeverPasses() throws {
        let sum = 0.1 + 0.2
        #expect(sum != 0.3)  // the float fact the default tolerance is for
        let eq = try Limit.equal(to: 0.3)
        #expect(eq.tolerance == Limit.defaultRelativeTolerance * 0.3 + Limit.defaultAbsoluteTolerance)
        #expect(eq.judge(sum) == .passed)
        #expect(try Limit(nominal: 0.3, comparator: .NE).judge(sum) == .failed)
        #expect(try Limit.equal(to: 0.3, tolerance: 0).judge(sum) == .failed)  // exact when asked
        #expect(try Limit(nominal: 0.3, comparator: .NE, tolerance: 0).judge(sum) == .passed)
        #expect(try Limit.equal(to: 0).judge(1e-13) == .passed)  // the absolute floor at a nominal of 0
        #expect(try Limit.equal(to: 0).judge(1e-11) == .failed)
        #expect(try Limit.equal(to: 1e6).judge(1e6 + 1e-4) == .passed)  // relative at scale
        #expect(try Limit.equal(to: 1e6).judge(1e6 + 1e-2) == .failed)
        for limit in [eq, try Limit(nominal: 0.3, comparator: .NE), try Limit(nominal: 0.3, comparator: .NE, tolerance: 1e9)] {
            #expect(limit.judge(.nan) == .failed, "\(limit)")
        }
        #expect(try Limit.between(1, 2).tolerance == 0)
        #expect(try Limit.equal(to: 42, tolerance: 0).description == "EQ 42.0 (exact)")
    }

    @Test func toleranceIsAYAMLKeyOfALimit() throws {
        let c = try HarnessConfig.parse(
            """
            limits:
              sum: {nominal: 0.3, comparator: EQ}
              exact: {nominal: 0.3, comparator: EQ, tolerance: 0}
              loose: {nominal: 0.3, comparator: EQ, tolerance: 0.01}
            """)
        #expect(c.limits["sum"]?.judge(0.1 + 0.2) == .passed)
        #expect(c.limits["exact"]?.judge(0.1 + 0.2) == .failed)
        #expect(c.limits["loose"]?.judge(0.305) == .passed)
        do {
            _ = try HarnessConfig.parse("limits:\n  r: {low: 1, high: 2, tolerance: 0.1}\n", file: "t.yaml")
            Issue.record("a tolerance on a range must be refused")
        } catch {
            #expect(error.errors.map(\.description).joined().contains("t.yaml:2:6"), "\(error)")
        }
    }

    @Test func contradictoryLimitsAreRefusedWhenBuilt() {
        let bad: [(() throws(LimitError) -> Limit, String)] = [
            ({ () throws(LimitError) in try Limit(nominal: 5) }, "would pass every value"),
            ({ () throws(LimitError) in try Limit() }, "needs low, high or both"),
            ({ () throws(LimitError) in try Limit(low: 2, high: 1) }, "greater than high"),
            ({ () throws(LimitError) in try Limit(low: 1, high: 1, comparator: .GTLT) }, "passes no value"),
            ({ () throws(LimitError) in try Limit(low: 1, comparator: .LT) }, "high only"),
            ({ () throws(LimitError) in try Limit(high: 1, comparator: .GE) }, "low only"),
            ({ () throws(LimitError) in try Limit(low: 1, high: 2, comparator: .GE) }, "low only"),
            ({ () throws(LimitError) in try Limit(low: 1, comparator: .EQ) }, "nominal only"),
            ({ () throws(LimitError) in try Limit(nominal: 1, comparator: .EQ, tolerance: -1) }, "tolerance"),
            ({ () throws(LimitError) in try Limit(low: 1, high: 2, tolerance: 0.1) }, "EQ and NE only"),
            ({ () throws(LimitError) in try Limit(low: .nan, high: 2) }, "finite"),
            ({ () throws(LimitError) in try Limit(high: .infinity) }, "finite"),
        ]
        for (make, fragment) in bad {
            do {
                let limit = try make()
                Issue.record("\(limit) must be refused (\(fragment))")
            } catch {
                #expect(error.message.contains(fragment), "\(error)")
            }
        }
    }

    @Test func conveniencesBuildTheExpectedComparators() throws {
        #expect(try Limit.between(1, 2, unit: "V").comparator == .GELE)
        #expect(try Limit.atMost(0.05).comparator == .LE)
        #expect(try Limit.atLeast(0.85).comparator == .GE)
        let eq = try Limit.equal(to: 42, tolerance: 0.5)
        #expect(eq.comparator == .EQ && eq.tolerance == 0.5)
        #expect(try Limit.between(3.135, 3.465, unit: "V").description == "GELE [3.135, 3.465] V")
    }
}
