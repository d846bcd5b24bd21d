import Litmus
@testable import LitmusRunner
import Testing

/// What the operator reads in the progress line and the verdict.
@Suite struct RunProgressTests {
    /// A spec limit narrowed by a guardband is computed in binary (0.005 x 0.9 is
    /// 0.0045000000000000005): it must read as the number it stands for.
    @Test func limitsAndValuesReadAsWrittenNotAsBinaryNoise() {
        let view = RunProgress.MeasurementView(
            step: "quiescent", name: "iq", value: 0.0021, unit: "A", outcome: .passed, limitLow: nil,
            limitHigh: 0.005 * 0.9, comparator: nil, pin: nil, instrument: nil, attempt: 1, vectorIndex: nil)
        #expect(view.limitText == "<= 0.0045")
        #expect(view.valueText == "0.0021 A")
        #expect(RunProgress.format(3.3012) == "3.3012")
        #expect(RunProgress.format(1e-9) == "1e-09")
        #expect(RunProgress.format(-5.001) == "-5.001")
        #expect(RunProgress.format(.infinity) == "inf")
        #expect(RunProgress.format(12) == "12")
    }
}
