import CLibUSB
import LitmusUSBTMCProtocol

/// ``USBTMCEndpoint`` over a claimed libusb interface: synchronous bulk, control and
/// interrupt transfers, with libusb's error codes turned into ``USBTMCTransferError``.
final class LibUSBEndpoint: USBTMCEndpoint {
    let handle: OpaquePointer
    let layout: USBTMCInterfaceLayout

    init(handle: OpaquePointer, layout: USBTMCInterfaceLayout) {
        self.handle = handle
        self.layout = layout
    }

    func bulkOut(_ data: [UInt8], timeoutMs: UInt32) throws {
        var buffer = data
        var sent: Int32 = 0
        let rc = buffer.withUnsafeMutableBufferPointer {
            libusb_bulk_transfer(
                handle, layout.bulkOutAddress, $0.baseAddress, Int32($0.count), &sent, LibUSB.timeout(timeoutMs))
        }
        if rc != 0 { throw Self.error(rc, transferred: Int(sent), data: []) }
        if Int(sent) != data.count {
            throw USBTMCTransferError.failed(
                code: Int32(LIBUSB_ERROR_IO.rawValue), reason: "Bulk-OUT sent \(sent) of \(data.count) bytes")
        }
    }

    func bulkIn(maxLength: Int, timeoutMs: UInt32) throws -> [UInt8] {
        try inTransfer(endpoint: layout.bulkInAddress, maxLength: maxLength, timeoutMs: timeoutMs, interrupt: false)
    }

    func interruptIn(maxLength: Int, timeoutMs: UInt32) throws -> [UInt8] {
        guard let address = layout.interruptInAddress else {
            throw USBTMCTransferError.failed(code: Int32(LIBUSB_ERROR_NOT_SUPPORTED.rawValue), reason: "no interrupt-IN endpoint")
        }
        return try inTransfer(endpoint: address, maxLength: maxLength, timeoutMs: timeoutMs, interrupt: true)
    }

    private func inTransfer(endpoint: UInt8, maxLength: Int, timeoutMs: UInt32, interrupt: Bool) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(1, maxLength))
        var got: Int32 = 0
        let rc = buffer.withUnsafeMutableBufferPointer { p in
            interrupt
                ? libusb_interrupt_transfer(handle, endpoint, p.baseAddress, Int32(p.count), &got, LibUSB.timeout(timeoutMs))
                : libusb_bulk_transfer(handle, endpoint, p.baseAddress, Int32(p.count), &got, LibUSB.timeout(timeoutMs))
        }
        let n = max(0, min(Int(got), buffer.count))
        if rc != 0 { throw Self.error(rc, transferred: n, data: Array(buffer.prefix(n))) }
        buffer.removeSubrange(n...)
        return buffer
    }

    func controlIn(
        requestType: UInt8, request: UInt8, value: UInt16, index: UInt16, length: Int, timeoutMs: UInt32
    ) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(1, length))
        let rc = buffer.withUnsafeMutableBufferPointer {
            libusb_control_transfer(
                handle, requestType, request, value, index, $0.baseAddress, UInt16(clamping: length), LibUSB.timeout(timeoutMs))
        }
        if rc < 0 { throw Self.error(rc, transferred: 0, data: []) }
        return Array(buffer.prefix(Int(rc)))
    }

    func controlOut(
        requestType: UInt8, request: UInt8, value: UInt16, index: UInt16, data: [UInt8], timeoutMs: UInt32
    ) throws {
        var buffer = data
        let rc = buffer.withUnsafeMutableBufferPointer {
            libusb_control_transfer(
                handle, requestType, request, value, index, $0.baseAddress, UInt16(clamping: $0.count), LibUSB.timeout(timeoutMs))
        }
        if rc < 0 { throw Self.error(rc, transferred: 0, data: []) }
    }

    func clearHalt(_ pipe: USBTMCPipe) throws {
        let address: UInt8
        switch pipe {
        case .bulkOut: address = layout.bulkOutAddress
        case .bulkIn: address = layout.bulkInAddress
        case .interruptIn:
            guard let a = layout.interruptInAddress else { return }
            address = a
        }
        let rc = libusb_clear_halt(handle, address)
        if rc != 0 { throw Self.error(rc, transferred: 0, data: []) }
    }

    /// A libusb error code as a transfer error.
    static func error(_ rc: Int32, transferred: Int, data: [UInt8]) -> USBTMCTransferError {
        switch rc {
        case LIBUSB_ERROR_TIMEOUT.rawValue: .timeout(transferred: transferred, data: data)
        case LIBUSB_ERROR_PIPE.rawValue: .stall
        case LIBUSB_ERROR_OVERFLOW.rawValue: .overflow
        case LIBUSB_ERROR_NO_DEVICE.rawValue: .disconnected
        default: .failed(code: rc, reason: LibUSB.errorText(rc))
        }
    }
}
