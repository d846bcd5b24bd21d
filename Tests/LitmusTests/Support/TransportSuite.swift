import Testing

@testable import Litmus

/// Helpers shared by the transport suites (HiSLIP, VXI-11), which talk to the fake instruments.
protocol TransportSuite {}

extension TransportSuite {
    /// The bytes `DATA? n` answers with: byte i = i % 256.
    static func pattern(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0) } }

    /// The error `body` throws, as a DriverError (records an issue when it throws nothing, or
    /// something else).
    static func failure(_ body: () throws -> Void) -> DriverError? {
        do {
            try body()
        } catch let error as DriverError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
        Issue.record("expected an error")
        return nil
    }
}
