import CLitmusDriverABI
import LitmusDriverKit
import LitmusUSBTMCProtocol

/// One open USBTMC / USB488 instrument: the claimed interface plus the protocol state
/// machine (``USBTMCLink``) running over libusb.
final class USBTMCSession: CancellableSession {
    let resource: USBTMCResource
    let services: HostServices
    private var claimed: ClaimedInterface?
    private let link: USBTMCLink
    private let usb: LibUSBEndpoint
    private let component: String
    /// The departures from USBTMC this session tolerates, and where they came from.
    private let quirks: USBTMCQuirks
    private let quirkSource: String

    init(_ request: DriverDescription.OpenRequest) throws {
        let resource: USBTMCResource
        do { resource = try USBTMCResource(parsing: request.resource) } catch let e as USBTMCError {
            throw DriverFailure.invalidArgument(e.message)
        }
        let options = try USBTMCOptions(request.options)
        self.resource = resource
        self.services = request.services
        let component = "usbtmc \(resource.canonical)"
        self.component = component
        let services = request.services
        let log: (String) -> Void = { services.log(.debug, component: component, $0) }

        let claimed = try ClaimedInterface(resource: resource, detachKernelDriver: options.detachKernelDriver, log: log)
        let quirks: USBTMCQuirks
        let quirkSource: String
        let entry = USBTMCQuirkTable.entry(vendorID: resource.vendorID, productID: resource.productID)
        if let given = options.quirks {
            quirks = given
            quirkSource = "the quirks open option"
        } else if let entry, entry.verified {
            quirks = entry.quirks
            quirkSource = "the quirk table's entry for \(entry.model)"
        } else {
            quirks = .none
            quirkSource = ""
            if let entry {
                // Unverified: a quirk the device does not have breaks it, so it is opt-in.
                services.log(
                    .info, component: component,
                    "\(entry.ids) (\(entry.model)) is reported to need quirks \(entry.quirks) (\(entry.note)); they are "
                        + "off. If long replies time out or arrive garbled, open with quirks=\(entry.quirks)")
            }
        }
        self.quirks = quirks
        self.quirkSource = quirkSource
        if !quirks.isNone {
            services.log(.debug, component: component, "active quirks: \(quirks) (from \(quirkSource))")
        }
        let configuration = USBTMCLink.Configuration(
            layout: claimed.layout, quirks: quirks, timeoutMs: USBTMCDriver.defaultTimeoutMs,
            abortBudgetMs: options.abortBudgetMs, termChar: options.termChar)
        let usb = LibUSBEndpoint(handle: claimed.handle, layout: claimed.layout, context: try LibUSB.context())
        let link = USBTMCLink(endpoint: usb, configuration: configuration)
        link.log = log
        do {
            let caps = try link.fetchCapabilities()
            log("opened \(claimed.summary.label), interface \(claimed.layout.interfaceNumber); \(caps.summary); quirks \(quirks)")
        } catch let e as USBTMCError {
            claimed.release()
            throw Self.failure(e, quirks: quirks, source: quirkSource)
        }
        if options.termChar != nil && !link.capabilities.termChar {
            services.log(.info, component: component, "the device does not support TermChar; termchar is ignored")
        }
        self.claimed = claimed
        self.link = link
        self.usb = usb
    }

    func write(_ data: UnsafeRawBufferPointer) throws -> Int {
        try run { try link.write(data) }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadOutcome {
        let result = try run { try link.read(into: buffer) }
        switch result.end {
        case .endOfMessage: return ReadOutcome(count: result.count, end: .endOfMessage)
        case .bufferFull: return ReadOutcome(count: result.count, end: .bufferFull)
        case .termChar: return ReadOutcome(count: result.count, end: .partial)
        }
    }

    func clear() throws { try run { try link.clear() } }

    func readStatusByte() throws -> UInt8 { try run { try link.readStatusByte() } }

    func setTimeout(milliseconds: UInt32) throws { link.timeoutMs = milliseconds }

    func trigger() throws { try run { try link.trigger() } }

    func invoke(operation index: Int, arguments: Arguments) throws -> DriverValue {
        guard index >= 0, index < USBTMCDriver.Operation.allCases.count else {
            throw DriverFailure.notFound("usbtmc has no operation number \(index)")
        }
        switch USBTMCDriver.Operation.allCases[index] {
        case .remote:
            try run { try link.remoteEnable(true) }
        case .local:
            try run { try link.goToLocal() }
        case .lockout:
            try run {
                try link.remoteEnable(true)
                try link.localLockout()
            }
        case .indicatorPulse:
            try run { try link.indicatorPulse() }
        case .capabilities:
            return .string(link.capabilities.summary)
        }
        return .void
    }

    func close() {
        claimed?.release()
        claimed = nil
    }

    /// From another thread, while a call may be blocked (`litmus.cancel.v1`): cancels the
    /// transfer in flight; the blocked call aborts it on the device (INITIATE_ABORT_BULK_IN or
    /// _OUT) and fails.
    func cancel() { usb.cancel() }

    /// Runs a protocol call, turning its errors into driver failures.
    private func run<R>(_ body: () throws -> R) throws -> R {
        guard claimed != nil else { throw DriverFailure.closed("the USBTMC session is closed") }
        do {
            return try body()
        } catch let e as USBTMCError {
            throw Self.failure(e, quirks: quirks, source: quirkSource)
        }
    }

    /// `e` as a driver failure. With quirks active, an error they could explain (a timeout, a
    /// protocol violation, an I/O error) names them: a quirk the device does not have makes a
    /// compliant device look broken.
    static func failure(_ e: USBTMCError, quirks: USBTMCQuirks = .none, source: String = "") -> DriverFailure {
        var message = e.message
        if !quirks.isNone && [.timeout, .protocolViolation, .io].contains(e.kind) {
            message += " [active USBTMC quirks: \(quirks), from \(source); if the instrument follows the USBTMC "
                + "specification, open it with quirks=none]"
        }
        switch e.kind {
        case .timeout: return .timeout(message)
        case .protocolViolation: return .protocolViolation(message)
        case .io: return .io(message, vendorCode: e.vendorCode)
        case .disconnected: return .closed(message)
        case .unsupported: return .unsupported(message)
        case .instrument: return .instrument(message, vendorCode: e.vendorCode)
        case .busy: return .busy(message)
        case .invalidArgument: return .invalidArgument(message)
        case .interrupted: return .failed(message)
        }
    }
}

/// The open options of a USBTMC session.
struct USBTMCOptions {
    /// Quirks replacing the quirk table's entry (nil: use the table).
    var quirks: USBTMCQuirks?
    var termChar: UInt8?
    var detachKernelDriver = true
    var abortBudgetMs: UInt32 = 300

    init(_ options: OpenOptions) throws {
        if let text = options.string("quirks") {
            do { quirks = try USBTMCQuirks(parsing: text) } catch let e as USBTMCError {
                throw DriverFailure.invalidArgument(e.message)
            }
        }
        if let v = options.int("termchar") { termChar = UInt8(clamping: v) }
        if let v = options.bool("detach_kernel_driver") { detachKernelDriver = v }
        if let v = options.int("abort_budget_ms") { abortBudgetMs = UInt32(clamping: v) }
    }
}

/// The plugin's `litmus.cancel.v1` table (``LITMUS_CANCEL_EXTENSION_V1``): the host calls it on
/// SIGINT/SIGTERM so a read blocked on the device ends with an abort, and the session can be
/// closed (interface released, kernel driver re-attached).
nonisolated(unsafe) let usbtmcCancelTable = SessionBox.makeCancelTable()
