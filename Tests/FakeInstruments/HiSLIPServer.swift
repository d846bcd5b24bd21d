import Foundation
import LitmusLANProtocol

#if canImport(Glibc)
import Glibc
#endif

/// A HiSLIP server (IVI-6.1) in front of the shared ``FakeInstrument``, for tests and benchmarks.
///
/// ```
/// litmus-fake-instruments hislip [--port N] [--max-message-size BYTES] [--overlap]
///                                [--max-sessions N] [--newline] [--verbose] [--fault NAME]...
/// ```
///
/// It speaks both channels on one port: Initialize / AsyncInitialize with session IDs (the
/// device is `hislip0`; another sub-address gets FatalError 3), AsyncMaximumMessageSize (it
/// accepts messages up to `--max-message-size`, default 1 MiB, and splits its own responses at
/// that size and at the client's maximum), Data/DataEnd into the instrument with responses
/// tagged with the request's MessageID, Trigger, AsyncStatusQuery (the instrument's status byte
/// plus MAV while a response has not been confirmed read by RMT-delivered), the device clear
/// handshake, exclusive and shared locks shared by all sessions (a session's messages wait
/// while another holds the exclusive lock), AsyncLockInfo and AsyncRemoteLocalControl. In
/// synchronized mode, a new message that arrives without RMT-delivered while a response is
/// unread gets Interrupted and AsyncInterrupted (488.2 query interrupted). Protocol violations
/// get FatalError (bad header, data before both channels are up, a second Initialize, too
/// many sessions) or Error (undefined type or control code, message too large).
///
/// Faults, for tests (`--fault` may repeat):
/// - `stale-response`: before each response, a DataEnd with an old MessageID and payload
///   `stale`
/// - `fatal`: FatalError after the first response, then the session is closed
/// - `bad-prologue`: the first response comes with a header that does not start with "HS"
/// - `oversized`: the first response declares a payload larger than the client's maximum
/// - `silent-init`: Initialize is never answered
/// - `srq`: an AsyncServiceRequest (status byte with RQS) after each response
/// - `no-clear-ack`: AsyncDeviceClear is never acknowledged
/// - `error-reply`: the first query is answered with Error (unrecognized control code) instead
///   of its response
/// - `vendor-message`: a vendor-specific message (type 200, with a payload) before each response
enum HiSLIPServer {
    static func main(_ arguments: [String]) -> Never {
        let options: Options
        do {
            options = try Options(arguments)
        } catch {
            FileHandle.standardError.write(Data("hislip: \(error)\n".utf8))
            exit(2)
        }
        let listener: Int32
        do {
            let bound = try Loopback.listen(port: UInt16(options.port), backlog: 64)
            listener = bound.fd
            FileHandle.standardOutput.write(Data("port \(bound.port)\n".utf8))
        } catch {
            fail("\(error)")
        }
        exitWhenStdinCloses()
        let server = Server(options)
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                fail("accept: \(String(cString: strerror(errno)))")
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            Thread.detachNewThread { server.serve(Connection(fd)) }
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("hislip: \(message)\n".utf8))
        exit(1)
    }

    /// Misbehaviours on request.
    enum Fault: String, CaseIterable {
        case staleResponse = "stale-response"
        case fatal
        case badPrologue = "bad-prologue"
        case oversized
        case silentInit = "silent-init"
        case srq
        case noClearAck = "no-clear-ack"
        case errorReply = "error-reply"
        case vendorMessage = "vendor-message"
    }

    /// The command line.
    struct Options {
        var port: UInt16 = 0
        /// The largest message accepted, header included (announced in AsyncMaximumMessageSize).
        var maxMessageSize: UInt64 = HiSLIP.defaultMaximumMessageSize
        var overlapped = false
        var maxSessions = 64
        /// Append "\n" to every response, as many instruments do.
        var newline = false
        var verbose = false
        var faults: Set<Fault> = []

        init(_ arguments: [String]) throws {
            var i = 0
            func value() throws -> String {
                i += 1
                guard i < arguments.count else { throw OptionError("\(arguments[i - 1]) needs a value") }
                return arguments[i]
            }
            while i < arguments.count {
                switch arguments[i] {
                case "--port":
                    guard let p = UInt16(try value()) else { throw OptionError("--port takes 0 to 65535") }
                    port = p
                case "--max-message-size":
                    guard let n = UInt64(try value()), n > UInt64(HiSLIPHeader.size) else {
                        throw OptionError("--max-message-size takes a byte count above 16")
                    }
                    maxMessageSize = n
                case "--max-sessions":
                    guard let n = Int(try value()), n >= 0 else { throw OptionError("--max-sessions takes a count") }
                    maxSessions = n
                case "--overlap": overlapped = true
                case "--newline": newline = true
                case "--verbose": verbose = true
                case "--fault":
                    let name = try value()
                    guard let fault = Fault(rawValue: name) else {
                        throw OptionError(
                            "unknown fault '\(name)'; faults: \(Fault.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    faults.insert(fault)
                default:
                    throw OptionError(
                        "unknown option '\(arguments[i])'; options: --port N --max-message-size N --max-sessions N "
                            + "--overlap --newline --verbose --fault NAME")
                }
                i += 1
            }
        }
    }

    struct OptionError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// One accepted TCP connection: blocking reads by the thread serving it, writes from any
    /// thread under a lock.
    final class Connection: @unchecked Sendable {
        let fd: Int32
        private let writeLock = NSLock()
        private var closed = false
        private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

        init(_ fd: Int32) { self.fd = fd }

        deinit { Glibc.close(fd) }

        /// Sends bytes; false when the peer is gone.
        @discardableResult
        func send(_ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBytes { raw in writeLock.withLock { !closed && sendAll(raw, more: false) } }
        }

        /// Sends a header and a payload in two pieces taken from the caller's memory (no copy),
        /// as one message: all but the last piece go with MSG_MORE so they leave together.
        @discardableResult
        func send(_ header: HiSLIPHeader, _ body: UnsafeRawBufferPointer, _ extra: UnsafeRawBufferPointer) -> Bool {
            header.bytes.withUnsafeBytes { head in
                writeLock.withLock {
                    !closed && sendAll(head, more: body.count + extra.count > 0)
                        && sendAll(body, more: extra.count > 0) && sendAll(extra, more: false)
                }
            }
        }

        private func sendAll(_ bytes: UnsafeRawBufferPointer, more: Bool) -> Bool {
            Loopback.sendAll(fd, bytes, flags: Int32(MSG_NOSIGNAL) | (more ? Int32(MSG_MORE) : 0))
        }

        @discardableResult
        func send(_ message: HiSLIPMessage) -> Bool { send(message.encoded()) }

        /// Receives into the decoder until it yields a message; nil when the connection ends.
        /// A framing violation is answered with FatalError and ends the connection.
        func next(_ decoder: inout HiSLIPMessageDecoder) -> HiSLIPMessage? {
            while true {
                do {
                    if let message = try decoder.next() { return message }
                } catch {
                    let code: HiSLIPFatalErrorCode = .poorlyFormedHeader
                    send(.fatalError(code, "server: \(error)"))
                    shutdownBoth()
                    return nil
                }
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return nil
                }
            }
        }

        /// Ends the connection; a thread blocked reading it wakes up.
        func shutdownBoth() {
            writeLock.withLock {
                if !closed {
                    closed = true
                    shutdown(fd, Int32(SHUT_RDWR))
                }
            }
        }
    }

    /// One HiSLIP session: its two channels and the state of its conversation. Guarded by the
    /// server's condition.
    final class Session {
        let id: UInt16
        let sync: Connection
        var async: Connection?
        /// The client's maximum message size (header included).
        var clientMaximum: UInt64 = HiSLIP.defaultMaximumMessageSize
        var overlapped: Bool
        /// Between AsyncDeviceClear and DeviceClearComplete: input and responses are dropped.
        var clearing = false
        /// A response was sent that no RMT-delivered has confirmed yet (MAV).
        var responseUnread = false
        var ended = false
        var responses = 0

        init(id: UInt16, sync: Connection, overlapped: Bool) {
            self.id = id
            self.sync = sync
            self.overlapped = overlapped
        }
    }

    /// The device behind all sessions: the instrument, the session table and the locks.
    final class Server: @unchecked Sendable {
        let options: Options
        let instrument = FakeInstrument(serial: "HS0001")
        /// Guards everything below; waited on for locks.
        let condition = NSCondition()
        private var sessions: [UInt16: Session] = [:]
        private var nextSessionID: UInt16 = 1
        private var exclusiveHolder: UInt16?
        private var sharedHolders: [UInt16: String] = [:]
        /// The last remote/local request, for the record.
        private var remoteLocalState: UInt8 = 0
        /// The last DATA? program message and its reply.
        private let blockCache = HiSLIPServerCache()

        init(_ options: Options) { self.options = options }

        func log(_ text: @autoclosure () -> String) {
            if options.verbose { FileHandle.standardError.write(Data("hislip: \(text())\n".utf8)) }
        }

        /// Serves one accepted connection; its first message says which channel it is.
        func serve(_ connection: Connection) {
            var decoder = HiSLIPMessageDecoder(maxPayloadLength: options.maxMessageSize)
            guard let first = connection.next(&decoder) else {
                connection.shutdownBoth()
                return
            }
            log("<- \(first)")
            switch first.type {
            case .initialize: serveSync(connection, first, decoder)
            case .asyncInitialize: serveAsync(connection, first, decoder)
            default:
                connection.send(
                    .fatalError(
                        .invalidInitializationSequence, "the first message must be Initialize or AsyncInitialize, not \(first.type)"))
                connection.shutdownBoth()
            }
        }

        // MARK: - Synchronous channel

        private func serveSync(_ connection: Connection, _ initialize: HiSLIPMessage, _ decoder: HiSLIPMessageDecoder) {
            var decoder = decoder
            if options.faults.contains(.silentInit) {
                while connection.next(&decoder) != nil {}
                return
            }
            let subaddress = String(decoding: initialize.payload, as: UTF8.self)
            guard subaddress.lowercased() == "hislip0" else {
                connection.send(
                    .fatalError(
                        .invalidInitializationSequence, "server: no device \"\(subaddress)\" here; this server has hislip0"))
                connection.shutdownBoth()
                return
            }
            let session: Session? = condition.withLock {
                guard sessions.count < options.maxSessions else { return nil }
                while sessions[nextSessionID] != nil || nextSessionID == 0 { nextSessionID &+= 1 }
                let session = Session(id: nextSessionID, sync: connection, overlapped: options.overlapped)
                sessions[session.id] = session
                nextSessionID &+= 1
                return session
            }
            guard let session else {
                connection.send(.fatalError(.tooManyClients, "server: \(options.maxSessions) sessions are open already"))
                connection.shutdownBoth()
                return
            }
            let agreed = min(initialize.version, HiSLIP.version)
            connection.send(
                .initializeResponse(
                    features: options.overlapped ? .overlapped : [], version: agreed, sessionID: session.id))
            var program: [UInt8] = []
            while let message = connection.next(&decoder) {
                log("<- sync \(message)")
                if !handleSync(message, session, &program) { break }
            }
            end(session)
        }

        /// Handles one message of the synchronous channel; false ends the session.
        private func handleSync(_ message: HiSLIPMessage, _ session: Session, _ program: inout [UInt8]) -> Bool {
            let connection = session.sync
            if let refusal = refusal(of: message) {
                connection.send(refusal)
                return true
            }
            switch message.type {
            case .data, .dataEnd, .trigger:
                let ready: Bool = condition.withLock {
                    guard session.async != nil else { return false }
                    // Another session's exclusive lock holds this one's messages back.
                    while let holder = exclusiveHolder, holder != session.id, !session.ended {
                        _ = condition.wait(until: Date().addingTimeInterval(0.1))
                    }
                    return !session.ended
                }
                guard ready else {
                    connection.send(
                        .fatalError(.channelsNotEstablished, "server: \(message.type) before the asynchronous channel is up"))
                    return false
                }
                let dropping = condition.withLock { session.clearing }
                if dropping { return true }
                checkInterruption(message, session)
                if message.type == .trigger {
                    instrument.trigger()
                    return true
                }
                program += message.payload
                if program.count > 64 << 20 {
                    program = []
                    connection.send(.error(.messageTooLarge, "server: program message over 64 MiB dropped"))
                    return true
                }
                guard message.type == .dataEnd else { return true }
                let text = program
                program = []
                return respond(to: text, messageID: message.parameter, session)
            case .deviceClearComplete:
                program = []
                let features: HiSLIPFeatures = condition.withLock {
                    session.clearing = false
                    session.responseUnread = false
                    session.overlapped = message.controlCode & HiSLIPFeatures.overlapped.rawValue != 0
                    return session.overlapped ? .overlapped : []
                }
                instrument.clear()
                connection.send(HiSLIPMessage(.deviceClearAcknowledge, controlCode: features.rawValue))
                return true
            case .fatalError:
                log("client FatalError: \(message.payloadText())")
                return false
            case .error:
                log("client Error \(message.controlCode): \(message.payloadText())")
                return true
            case .initialize:
                connection.send(.fatalError(.invalidInitializationSequence, "server: Initialize sent twice"))
                return false
            default:
                connection.send(.error(.unrecognizedMessageType, "server: \(message.type) does not belong on the synchronous channel"))
                return true
            }
        }

        /// The Error answering a message whose type or control code is undefined, or nil.
        private func refusal(of message: HiSLIPMessage) -> HiSLIPMessage? {
            do {
                try message.header.validate(maxPayloadLength: options.maxMessageSize)
                return nil
            } catch {
                return .error(error.errorCode, "server: \(error)")
            }
        }

        /// Synchronized mode: a message sent without RMT-delivered while a response is unread
        /// interrupts that response (488.2 query interrupted).
        private func checkInterruption(_ message: HiSLIPMessage, _ session: Session) {
            let delivered = message.controlCode & HiSLIP.rmtDeliveredBit != 0
            let interrupt: Bool = condition.withLock {
                defer { session.responseUnread = false }
                return !delivered && session.responseUnread && !session.overlapped
            }
            guard interrupt else { return }
            log("-> Interrupted 0x\(String(message.parameter, radix: 16))")
            session.sync.send(HiSLIPMessage(.interrupted, parameter: message.parameter))
            condition.withLock { session.async }?.send(HiSLIPMessage(.asyncInterrupted, parameter: message.parameter))
        }

        /// Runs a program message through the instrument and sends its response; false ends
        /// the session.
        private func respond(to program: [UInt8], messageID: UInt32, _ session: Session) -> Bool {
            // A repeated DATA? query reuses the block built last time (benchmarks ask for the
            // same large block over and over).
            let reply: FakeInstrument.Reply
            if let cached = blockCache.withLock({ $0?.program == program ? $0?.reply : nil }) {
                reply = cached
            } else {
                guard let fresh = instrument.handle(program) else { return true }
                reply = fresh
                if String(decoding: program.prefix(5), as: UTF8.self).uppercased() == "DATA?" {
                    blockCache.withLock { $0 = (program, fresh) }
                }
            }
            let bytes: [UInt8]
            switch reply {
            case .never: return true
            case .message(let b): bytes = b
            case .delayed(let ms, let b):
                // Sleep in slices so a device clear cuts the wait short.
                let until = Date().addingTimeInterval(Double(ms) / 1000)
                while Date() < until {
                    if condition.withLock({ session.clearing || session.ended }) { return true }
                    usleep(5000)
                }
                bytes = b
            }
            // The newline many instruments send is added while sending, not by copying a
            // (possibly large, cached) response.
            let trailer: [UInt8] = options.newline ? [0x0A] : []
            let (clientMaximum, clearing, count) = condition.withLock {
                session.responses += 1
                return (session.clientMaximum, session.clearing, session.responses)
            }
            if clearing { return true }
            let connection = session.sync
            let first = count == 1
            if first && options.faults.contains(.badPrologue) {
                var header = HiSLIPHeader(.dataEnd, parameter: messageID, payloadLength: UInt64(bytes.count + trailer.count)).bytes
                header[0] = UInt8(ascii: "X")
                connection.send(header + bytes + trailer)
                return true
            }
            if first && options.faults.contains(.oversized) {
                connection.send(HiSLIPHeader(.dataEnd, parameter: messageID, payloadLength: clientMaximum + 1 << 20).bytes)
                return true
            }
            if first && options.faults.contains(.errorReply) {
                connection.send(.error(.unrecognizedControlCode, "server: fault injected instead of the response"))
                return true
            }
            if options.faults.contains(.vendorMessage) {
                connection.send(HiSLIPMessage(HiSLIPMessageType(rawValue: 200), controlCode: 9, payload: Array("vendor".utf8)))
            }
            if options.faults.contains(.staleResponse) {
                connection.send(.data(Array("stale".utf8), messageID: messageID &- 2, end: true))
            }
            let limit = Int(min(clientMaximum, options.maxMessageSize, 1 << 30)) - HiSLIPHeader.size
            let delivered = bytes.withUnsafeBytes { raw in
                trailer.withUnsafeBytes { tail in
                    let total = raw.count + tail.count
                    var offset = 0
                    repeat {
                        let n = min(limit, total - offset)
                        let end = offset + n == total
                        let header = HiSLIPHeader(end ? .dataEnd : .data, parameter: messageID, payloadLength: UInt64(n))
                        let body = UnsafeRawBufferPointer(rebasing: raw[min(offset, raw.count)..<min(offset + n, raw.count)])
                        let extra = UnsafeRawBufferPointer(
                            rebasing: tail[max(0, offset - raw.count)..<max(0, offset + n - raw.count)])
                        guard connection.send(header, body, extra) else { return false }
                        offset += n
                    } while offset < total
                    return true
                }
            }
            guard delivered else { return false }
            condition.withLock { session.responseUnread = true }
            if options.faults.contains(.srq) {
                condition.withLock { session.async }?.send(
                    HiSLIPMessage(.asyncServiceRequest, controlCode: instrument.statusByte | 0x40))
            }
            if first && options.faults.contains(.fatal) {
                connection.send(.fatalError(.unidentified, "server: fault injected after the first response"))
                return false
            }
            return true
        }

        // MARK: - Asynchronous channel

        private func serveAsync(_ connection: Connection, _ initialize: HiSLIPMessage, _ decoder: HiSLIPMessageDecoder) {
            var decoder = decoder
            let id = initialize.sessionID
            let session: Session? = condition.withLock {
                guard let session = sessions[id], session.async == nil, !session.ended else { return nil }
                session.async = connection
                return session
            }
            guard let session else {
                connection.send(
                    .fatalError(.invalidInitializationSequence, "server: no session \(id) waiting for its asynchronous channel"))
                connection.shutdownBoth()
                return
            }
            connection.send(.asyncInitializeResponse(vendorID: "LF"))
            while let message = connection.next(&decoder) {
                log("<- async \(message)")
                if !handleAsync(message, session) { break }
            }
            end(session)
        }

        /// Handles one message of the asynchronous channel; false ends the session.
        private func handleAsync(_ message: HiSLIPMessage, _ session: Session) -> Bool {
            guard let connection = condition.withLock({ session.async }) else { return false }
            if let refusal = refusal(of: message) {
                connection.send(refusal)
                return true
            }
            switch message.type {
            case .asyncMaximumMessageSize:
                let size = message.maximumMessageSize ?? HiSLIP.defaultMaximumMessageSize
                condition.withLock { session.clientMaximum = max(size, UInt64(HiSLIPHeader.size + 1)) }
                connection.send(.maximumMessageSize(options.maxMessageSize, response: true))
            case .asyncStatusQuery:
                let unread: Bool = condition.withLock {
                    if message.controlCode & HiSLIP.rmtDeliveredBit != 0 { session.responseUnread = false }
                    return session.responseUnread
                }
                let status = instrument.statusByte | (unread ? 0x10 : 0)
                connection.send(HiSLIPMessage(.asyncStatusResponse, controlCode: status))
            case .asyncDeviceClear:
                condition.withLock {
                    session.clearing = true
                    session.responseUnread = false
                }
                if options.faults.contains(.noClearAck) { return true }
                connection.send(
                    HiSLIPMessage(.asyncDeviceClearAcknowledge, controlCode: options.overlapped ? HiSLIPFeatures.overlapped.rawValue : 0))
            case .asyncLock:
                let result =
                    message.controlCode == 1
                    ? lock(session, shared: message.payload.isEmpty ? nil : message.payloadText(), timeoutMs: message.parameter)
                    : unlock(session)
                connection.send(HiSLIPMessage(.asyncLockResponse, controlCode: result.rawValue))
            case .asyncLockInfo:
                let (exclusive, holders): (Bool, Int) = condition.withLock {
                    (exclusiveHolder != nil, Set(sharedHolders.keys).union(exclusiveHolder.map { [$0] } ?? []).count)
                }
                connection.send(HiSLIPMessage(.asyncLockInfoResponse, controlCode: exclusive ? 1 : 0, parameter: UInt32(holders)))
            case .asyncRemoteLocalControl:
                condition.withLock { remoteLocalState = message.controlCode }
                connection.send(HiSLIPMessage(.asyncRemoteLocalResponse))
            case .fatalError:
                log("client FatalError: \(message.payloadText())")
                return false
            case .error:
                log("client Error \(message.controlCode): \(message.payloadText())")
            default:
                connection.send(.error(.unrecognizedMessageType, "server: \(message.type) does not belong on the asynchronous channel"))
            }
            return true
        }

        /// Grants the exclusive lock (`shared == nil`) or a shared lock of that name, waiting up
        /// to `timeoutMs` for other sessions to release theirs.
        private func lock(_ session: Session, shared name: String?, timeoutMs: UInt32) -> HiSLIPLockResult {
            condition.withLock {
                if exclusiveHolder == session.id || sharedHolders[session.id] != nil { return .error }
                let until = Date().addingTimeInterval(Double(timeoutMs) / 1000)
                while true {
                    let others = sharedHolders.filter { $0.key != session.id }
                    let free: Bool
                    if let name {
                        free = exclusiveHolder == nil && others.values.allSatisfy { $0 == name }
                    } else {
                        free = exclusiveHolder == nil && others.isEmpty
                    }
                    if free {
                        if let name { sharedHolders[session.id] = name } else { exclusiveHolder = session.id }
                        return .success
                    }
                    if session.ended || Date() >= until { return .failure }
                    _ = condition.wait(until: min(until, Date().addingTimeInterval(0.1)))
                }
            }
        }

        private func unlock(_ session: Session) -> HiSLIPLockResult {
            condition.withLock {
                defer { condition.broadcast() }
                if exclusiveHolder == session.id {
                    exclusiveHolder = nil
                    return .success
                }
                if sharedHolders.removeValue(forKey: session.id) != nil { return .successShared }
                return .error
            }
        }

        /// Closes both channels of a session and drops its locks.
        private func end(_ session: Session) {
            condition.withLock {
                session.ended = true
                if sessions[session.id] === session { sessions[session.id] = nil }
                if exclusiveHolder == session.id { exclusiveHolder = nil }
                sharedHolders[session.id] = nil
                condition.broadcast()
            }
            session.sync.shutdownBoth()
            condition.withLock { session.async }?.shutdownBoth()
        }
    }
}

/// The last DATA? program message and its reply, behind a lock.
final class HiSLIPServerCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entry: (program: [UInt8], reply: FakeInstrument.Reply)?

    func withLock<R>(_ body: (inout (program: [UInt8], reply: FakeInstrument.Reply)?) -> R) -> R {
        lock.withLock { body(&entry) }
    }
}
