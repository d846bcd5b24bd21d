/// An error from a driver call or from the host's checks around it.
///
/// `status` tells what kind of failure it is (compare with ``DriverStatus/timeout`` and the
/// other named statuses); `message` is the driver's or the host's text, and `context` says
/// which instrument and call it came from.
///
/// ```swift
/// do { _ = try dmm.query("MEAS:VOLT?") }
/// catch let error as DriverError where error.status == .timeout { try dmm.clear() }
/// ```
public struct DriverError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    public var status: DriverStatus
    /// The instrument's or library's own code (errno, libusb code, SCPI error number), or 0.
    public var vendorCode: Int32
    /// What went wrong, from the driver or the host.
    public var message: String
    /// Where: driver id, resource and call, e.g. `mock MOCK::dmm measure_dc_voltage`.
    public var context: String

    public init(_ status: DriverStatus, _ message: String, vendorCode: Int32 = 0, context: String = "") {
        self.status = status
        self.message = message
        self.vendorCode = vendorCode
        self.context = context
    }

    public var description: String {
        var text = context.isEmpty ? "" : "\(context): "
        text += "\(status): \(message)"
        if vendorCode != 0 { text += " (vendor code \(vendorCode))" }
        return text
    }
}
