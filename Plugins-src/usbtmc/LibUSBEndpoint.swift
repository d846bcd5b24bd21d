import CLibUSB
import LitmusUSBTMCProtocol
import Synchronization

/// ``USBTMCEndpoint`` over a claimed libusb interface: bulk, control and interrupt transfers,
/// with libusb's error codes turned into ``USBTMCTransferError``.
///
/// Bulk and interrupt transfers are submitted asynchronously and waited for here (as
/// libusb's own synchronous calls do internally), so that ``cancel()``, from another thread,
/// can cancel the one in flight: the waiting call then throws
/// ``USBTMCTransferError/cancelled(transferred:data:)`` and the link runs its abort sequence.
final class LibUSBEndpoint: USBTMCEndpoint {
    let handle: OpaquePointer
    let layout: USBTMCInterfaceLayout
    private let context: OpaquePointer
    /// Set by ``cancel()``; the transfer in flight, or else the next one, consumes it.
    private let cancelRequested = Atomic<Bool>(false)

    init(handle: OpaquePointer, layout: USBTMCInterfaceLayout, context: OpaquePointer) {
        self.handle = handle
        self.layout = layout
        self.context = context
    }

    /// Cancels the bulk or interrupt transfer in flight (or the next one). Safe from any
    /// thread; returns at once.
    func cancel() {
        cancelRequested.store(true, ordering: .sequentiallyConsistent)
        libusb_interrupt_event_handler(context)
    }

    func bulkOut(_ data: [UInt8], timeoutMs: UInt32) throws {
        var buffer = data
        let (rc, sent) = buffer.withUnsafeMutableBufferPointer {
            transfer(
                endpoint: layout.bulkOutAddress, type: LIBUSB_TRANSFER_TYPE_BULK, $0.baseAddress!, Int32($0.count),
                timeoutMs: timeoutMs)
        }
        if rc != 0 { throw Self.error(rc, transferred: sent, data: []) }
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
        let (rc, got) = buffer.withUnsafeMutableBufferPointer { p in
            transfer(
                endpoint: endpoint, type: interrupt ? LIBUSB_TRANSFER_TYPE_INTERRUPT : LIBUSB_TRANSFER_TYPE_BULK,
                p.baseAddress!, Int32(p.count), timeoutMs: timeoutMs)
        }
        let n = max(0, min(got, buffer.count))
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

    /// One bulk or interrupt transfer: submitted, then waited for with the context's event
    /// handling, cancelled when ``cancel()`` asks. Returns a libusb error code (0 on success;
    /// `LIBUSB_ERROR_INTERRUPTED` when cancelled) and the bytes transferred.
    private func transfer(
        endpoint: UInt8, type: libusb_transfer_type, _ buffer: UnsafeMutablePointer<UInt8>, _ length: Int32,
        timeoutMs: UInt32
    ) -> (Int32, Int) {
        guard let t = libusb_alloc_transfer(0) else { return (LIBUSB_ERROR_NO_MEM.rawValue, 0) }
        defer { libusb_free_transfer(t) }
        let completed = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        completed.initialize(to: 0)
        defer { completed.deallocate() }
        t.pointee.dev_handle = handle
        t.pointee.endpoint = endpoint
        t.pointee.type = UInt8(type.rawValue)
        t.pointee.timeout = LibUSB.timeout(timeoutMs)
        t.pointee.buffer = buffer
        t.pointee.length = length
        t.pointee.user_data = UnsafeMutableRawPointer(completed)
        t.pointee.callback = { transfer in
            transfer?.pointee.user_data.assumingMemoryBound(to: Int32.self).pointee = 1
        }
        let rc = libusb_submit_transfer(t)
        if rc != 0 { return (rc, 0) }
        var cancelled = false
        while completed.pointee == 0 {
            if !cancelled && cancelRequested.exchange(false, ordering: .sequentiallyConsistent) {
                cancelled = true
                libusb_cancel_transfer(t)
            }
            var tv = timeval(tv_sec: 0, tv_usec: 200_000)
            let r = libusb_handle_events_timeout_completed(context, &tv, completed)
            if r < 0 && r != LIBUSB_ERROR_INTERRUPTED.rawValue {
                // As libusb's synchronous calls do: cancel, and wait for the cancellation.
                libusb_cancel_transfer(t)
                while completed.pointee == 0 {
                    if libusb_handle_events_completed(context, completed) < 0 { break }
                }
                return (r, Int(t.pointee.actual_length))
            }
        }
        let n = Int(t.pointee.actual_length)
        switch t.pointee.status {
        case LIBUSB_TRANSFER_COMPLETED: return (0, n)
        case LIBUSB_TRANSFER_TIMED_OUT: return (LIBUSB_ERROR_TIMEOUT.rawValue, n)
        case LIBUSB_TRANSFER_CANCELLED: return (cancelled ? LIBUSB_ERROR_INTERRUPTED.rawValue : LIBUSB_ERROR_IO.rawValue, n)
        case LIBUSB_TRANSFER_STALL: return (LIBUSB_ERROR_PIPE.rawValue, n)
        case LIBUSB_TRANSFER_NO_DEVICE: return (LIBUSB_ERROR_NO_DEVICE.rawValue, n)
        case LIBUSB_TRANSFER_OVERFLOW: return (LIBUSB_ERROR_OVERFLOW.rawValue, n)
        default: return (LIBUSB_ERROR_IO.rawValue, n)
        }
    }

    /// A libusb error code as a transfer error.
    static func error(_ rc: Int32, transferred: Int, data: [UInt8]) -> USBTMCTransferError {
        switch rc {
        case LIBUSB_ERROR_TIMEOUT.rawValue: .timeout(transferred: transferred, data: data)
        case LIBUSB_ERROR_INTERRUPTED.rawValue: .cancelled(transferred: transferred, data: data)
        case LIBUSB_ERROR_PIPE.rawValue: .stall
        case LIBUSB_ERROR_OVERFLOW.rawValue: .overflow
        case LIBUSB_ERROR_NO_DEVICE.rawValue: .disconnected
        default: .failed(code: rc, reason: LibUSB.errorText(rc))
        }
    }
}
