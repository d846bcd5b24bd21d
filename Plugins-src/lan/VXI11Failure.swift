import CLitmusDriverABI
import LitmusDriverKit
import LitmusLANProtocol

/// Turns a VXI-11 error code from the instrument into a ``DriverFailure`` with the Litmus
/// status a caller can act on (timeout, busy, not found, ...), the code as vendor code, and a
/// message that names the operation, the peer, the link and what to do.
enum VXI11Failure {
    /// - Parameters:
    ///   - operation: the procedure and what it was for ("device_read", "create_link").
    ///   - context: where: peer, link, device ("127.0.0.1:40123, link 3, device inst0").
    ///   - detail: what had happened so far ("412 bytes received before"), or empty.
    ///   - abortedByClient: the client sent device_abort itself after its deadline, so error
    ///     23 means the operation timed out.
    static func make(
        _ error: VXI11Error, operation: String, context: String, detail: String = "", abortedByClient: Bool = false
    ) -> DriverFailure {
        var text = "\(operation) (\(context)) failed: \(error)"
        if !detail.isEmpty { text += ", \(detail)" }
        let advice: String
        if error == .abort && abortedByClient {
            advice = "the instrument did not answer within the timeout, so the call was aborted with device_abort; the link is still usable. Raise the timeout if the instrument needs longer"
        } else {
            advice = error.advice
        }
        if !advice.isEmpty { text += "; \(advice)" }
        let status: Int32
        switch error {
        case .syntaxError, .parameterError: status = Int32(LITMUS_E_INVALID_ARGUMENT)
        case .deviceNotAccessible, .invalidAddress:
            status = operation.hasPrefix("create_link") ? Int32(LITMUS_E_NOT_FOUND) : Int32(LITMUS_E_IO)
        case .operationNotSupported: status = Int32(LITMUS_E_UNSUPPORTED)
        case .outOfResources, .deviceLockedByAnotherLink: status = Int32(LITMUS_E_BUSY)
        case .ioTimeout: status = Int32(LITMUS_E_TIMEOUT)
        case .abort: status = abortedByClient ? Int32(LITMUS_E_TIMEOUT) : Int32(LITMUS_E_IO)
        case .invalidLinkIdentifier, .ioError: status = Int32(LITMUS_E_IO)
        default: status = Int32(LITMUS_E_FAILED)
        }
        return DriverFailure(status: status, vendorCode: Int32(bitPattern: error.rawValue), text)
    }
}
