import LitmusDriverKit
import LitmusUSBTMCProtocol

/// One open USBTMC / USB488 instrument: the claimed interface plus the protocol state
/// machine (``USBTMCLink``) running over libusb.
final class USBTMCSession: DriverSession {
    let resource: USBTMCResource
    let services: HostServices
    private var claimed: ClaimedInterface?
    private let link: USBTMCLink
    private let component: String

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
        if let given = options.quirks {
            quirks = given
        } else if let entry = USBTMCQuirkTable.entry(vendorID: resource.vendorID, productID: resource.productID) {
            quirks = entry.quirks
            services.log(
                .info, component: component,
                "using quirks \(entry.quirks) for \(entry.model) (\(entry.note)); open with quirks=none to turn them off")
        } else {
            quirks = .none
        }
        let configuration = USBTMCLink.Configuration(
            layout: claimed.layout, quirks: quirks, timeoutMs: USBTMCDriver.defaultTimeoutMs,
            abortBudgetMs: options.abortBudgetMs, termChar: options.termChar)
        let link = USBTMCLink(endpoint: LibUSBEndpoint(handle: claimed.handle, layout: claimed.layout), configuration: configuration)
        link.log = log
        do {
            let caps = try link.fetchCapabilities()
            log("opened \(claimed.summary.label), interface \(claimed.layout.interfaceNumber); \(caps.summary); quirks \(quirks)")
        } catch let e as USBTMCError {
            claimed.release()
            throw Self.failure(e)
        }
        if options.termChar != nil && !link.capabilities.termChar {
            services.log(.info, component: component, "the device does not support TermChar; termchar is ignored")
        }
        self.claimed = claimed
        self.link = link
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

    /// Runs a protocol call, turning its errors into driver failures.
    private func run<R>(_ body: () throws -> R) throws -> R {
        guard claimed != nil else { throw DriverFailure.closed("the USBTMC session is closed") }
        do {
            return try body()
        } catch let e as USBTMCError {
            throw Self.failure(e)
        }
    }

    static func failure(_ e: USBTMCError) -> DriverFailure {
        switch e.kind {
        case .timeout: .timeout(e.message)
        case .protocolViolation: .protocolViolation(e.message)
        case .io: .io(e.message, vendorCode: e.vendorCode)
        case .disconnected: .closed(e.message)
        case .unsupported: .unsupported(e.message)
        case .instrument: .instrument(e.message, vendorCode: e.vendorCode)
        case .busy: .busy(e.message)
        case .invalidArgument: .invalidArgument(e.message)
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
