import LitmusDriverKit
import LitmusJSON

/// One session of the `sim` driver: a simulated message-based SCPI instrument, in the manner
/// of pyvisa-sim.
///
/// A write is parsed into program messages (ended by "\n" or by the end of the write), each
/// split on `;` into commands; the replies of its queries form one response message that
/// `read` returns, with the device's `eom` appended. Unknown commands push -113 to the error
/// queue; the status byte and `*ESR?` follow IEEE 488.2. Every write, read, clear, trigger and
/// status-byte read is traced.
final class SimSession: DriverSession, MockExtensionSession {
    /// A reply patch: the next `remaining` commands equal (ignoring case) to `command` answer
    /// `reply`.
    struct Patch {
        let id: UInt64
        /// Trimmed and upper-cased.
        let command: String
        let reply: String
        /// Calls it still answers; -1: until removed.
        var remaining: Int32
    }

    /// One traced call. Rendered as JSON only by ``traceJSON(at:)``.
    struct TraceEntry {
        /// The traced entry point; the raw value is the trace's "op".
        enum Call: String {
            case write, read, clear, trigger
            case readStatusByte = "read_stb"
        }
        let seq: UInt64
        let call: Call
        /// The bytes written (terminator stripped) or read; the status byte for read_stb.
        let data: [UInt8]
        let failure: DriverFailure?
    }

    /// What happened to the last program message, to explain a read with nothing to read.
    private enum LastOutcome {
        case nothingSent
        case command
        case unanswered
        case answered
        case responseRead
        case cleared
    }

    /// The IEEE 488.2 common commands and SCPI queries every device understands.
    private enum Builtin: CaseIterable {
        case identify, reset, clearStatus, operationCompleteQuery, operationComplete, eventStatusQuery
        case statusByteQuery, trigger, wait, selfTestQuery, systemError

        var pattern: String {
            switch self {
            case .identify: "*IDN?"
            case .reset: "*RST"
            case .clearStatus: "*CLS"
            case .operationCompleteQuery: "*OPC?"
            case .operationComplete: "*OPC"
            case .eventStatusQuery: "*ESR?"
            case .statusByteQuery: "*STB?"
            case .trigger: "*TRG"
            case .wait: "*WAI"
            case .selfTestQuery: "*TST?"
            case .systemError: "SYSTem:ERRor[:NEXT]?"
            }
        }

        /// The parsed patterns. They are constants of this file, so parsing cannot fail.
        static let compiled: [(pattern: SCPIPattern, builtin: Builtin)] = allCases.map { (try! SCPIPattern($0.pattern), $0) }
    }

    /// Capacity of the error queue (the newest entry becomes -350 on overflow).
    static let errorQueueCapacity = 20
    /// Unterminated input a `stream` session buffers before it reports -363 and drops it.
    static let inputBufferCapacity = 1 << 20

    private let device: SimDevice
    /// The device of a pyvisa-sim file, which answers instead of `device` (whose `eom` is the
    /// response termination of the resource's interface).
    private var pyvisaSim: PyVISASimResponder?
    private let resource: String
    private let services: HostServices
    /// The largest read (the `max_read_chunk` option).
    private let maxReadChunk: Int
    /// Byte-stream mode (the `stream` option): reads never mark the end of a message, and
    /// writes are buffered until "\n".
    private let stream: Bool

    /// Each property's value; for a selected or per-channel property, the value of every key
    /// not in `keyed`.
    private var values: [SimDevice.PropertyValue]
    /// The values of selected and per-channel properties, by key (the selector's value as
    /// text, or the channel).
    private var keyed: [[String: SimDevice.PropertyValue]]
    private var errors: [SCPIError] = []
    /// The standard event status register.
    private var eventStatus: UInt8 = 0
    private var output: [UInt8] = []
    private var outputOffset = 0
    /// Unterminated input of a `stream` session.
    private var input: [UInt8] = []
    private var lastMessage = ""
    private var lastOutcome = LastOutcome.nothingSent
    private var patches: [Patch] = []
    private var nextPatchID: UInt64 = 1
    private var trace: TraceLog<TraceEntry>

    init(_ request: DriverDescription.OpenRequest) throws {
        let source: String
        let devices: [SimDevice]
        var pyvisaSim: PyVISASimResponder?
        if let path = request.options.string("description") {
            source = path
            switch try SimDeviceParser.load(path: path) {
            case .devices(let list): devices = list
            case .pyvisaSim(let file):
                // SIM::<a resource of the file>, e.g. SIM::ASRL1::INSTR.
                let prefix = "SIM::"
                guard request.resource.uppercased().hasPrefix(prefix), request.resource.count > prefix.count else {
                    throw DriverFailure.invalidArgument(
                        "\(JSONText.quoted(request.resource)) is not a SIM resource; open SIM::<resource of \(path)>, "
                            + "e.g. SIM::\(file.resources.first?.resource ?? "ASRL1::INSTR")")
                }
                let (found, eom) = try file.device(for: String(request.resource.dropFirst(prefix.count)))
                pyvisaSim = PyVISASimResponder(found)
                devices = [SimDevice(name: found.name, identity: "", eom: Array(eom.utf8), dialogues: [], properties: [])]
            }
        } else {
            source = BuiltinDevices.source
            devices = try BuiltinDevices.devices.get()
        }
        let name: String
        if pyvisaSim != nil {
            name = devices[0].name
        } else {
            name = try ResourceName.parse(request.resource, scheme: "SIM", example: "SIM::dmm::INSTR")
        }
        guard let device = devices.first(where: { $0.name == name }) else {
            throw DriverFailure.notFound(
                "no device \"\(name)\" in \(source); devices: \(devices.map(\.name).joined(separator: ", "))")
        }
        self.pyvisaSim = pyvisaSim
        let chunk = request.options.int("max_read_chunk") ?? Int64.max
        guard chunk >= 1 else { throw DriverFailure.invalidArgument("max_read_chunk must be 1 or more (got \(chunk))") }
        let limit = request.options.int("trace_limit") ?? Int64(TraceLog<TraceEntry>.defaultLimit)
        guard limit >= 0 else { throw DriverFailure.invalidArgument("trace_limit must be 0 or more (got \(limit))") }

        self.device = device
        resource = request.resource
        services = request.services
        maxReadChunk = Int(clamping: chunk)
        stream = request.options.bool("stream") ?? false
        values = device.properties.map(\.defaultValue)
        keyed = Array(repeating: [:], count: device.properties.count)
        trace = TraceLog(limit: Int(clamping: limit))
    }

    // MARK: - I/O

    func write(_ data: UnsafeRawBufferPointer) throws -> Int {
        let bytes = Array(data)
        record(.write, data: Array(stripTerminator(bytes[...])))
        if stream {
            input += bytes
            while let newline = input.firstIndex(of: 0x0A) {
                let message = input[..<newline]
                input.removeSubrange(...newline)
                try process(stripTerminator(message))
            }
            if input.count > Self.inputBufferCapacity {
                input.removeAll()
                push(.inputBufferOverrun)
            }
        } else {
            for message in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
                try process(stripTerminator(message))
            }
        }
        return bytes.count
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadOutcome {
        guard outputOffset < output.count else {
            let failure = DriverFailure.timeout(noResponseMessage())
            record(.read, data: [], failure: failure)
            throw failure
        }
        let count = min(buffer.count, maxReadChunk, output.count - outputOffset)
        let chunk = Array(output[outputOffset..<(outputOffset + count)])
        buffer.copyBytes(from: chunk)
        outputOffset += count
        record(.read, data: chunk)
        let finished = outputOffset == output.count
        if finished {
            output.removeAll(keepingCapacity: true)
            outputOffset = 0
            lastOutcome = .responseRead
        }
        if stream && count > 0 { return ReadOutcome(count: count, end: .partial) }
        return ReadOutcome(count: count, end: finished ? .endOfMessage : .bufferFull)
    }

    func clear() throws {
        if outputOffset < output.count { lastOutcome = .cleared }
        output.removeAll()
        outputOffset = 0
        input.removeAll()
        record(.clear, data: [])
    }

    func readStatusByte() throws -> UInt8 {
        let stb = statusByte()
        record(.readStatusByte, data: [stb])
        return stb
    }

    /// Reads never wait, so the timeout bounds nothing; any value is accepted.
    func setTimeout(milliseconds: UInt32) throws {}

    func trigger() throws {
        record(.trigger, data: [])
    }

    // MARK: - Command processing

    /// One program message: its commands run in order and the replies of its queries, joined
    /// with ';', become the pending response. A pyvisa-sim device answers as pyvisa-sim does
    /// (``processPyVISASim(_:)``).
    private func process(_ bytes: ArraySlice<UInt8>) throws {
        let message = String(decoding: bytes, as: UTF8.self)
        guard !message.allSatisfy(\.isSCPIWhitespace) else { return }
        if pyvisaSim != nil { return try processPyVISASim(message) }
        if outputOffset < output.count && !stream {
            // IEEE 488.2: a new message before the response was read interrupts the query.
            push(.queryInterrupted)
            output.removeAll()
            outputOffset = 0
        }
        lastMessage = message
        var replies: [SimDevice.Reply] = []
        var sawQuery = false
        for command in SCPICommand.split(message) where !command.allSatisfy(\.isSCPIWhitespace) {
            let parsed = SCPICommand(command)
            sawQuery = sawQuery || parsed.isQuery
            if let reply = execute(command, parsed) { replies.append(reply) }
        }
        guard !replies.isEmpty else {
            lastOutcome = sawQuery ? .unanswered : .command
            return
        }
        var response: [UInt8] = []
        var endsRaw = false
        for (i, reply) in replies.enumerated() {
            if i > 0 { response.append(UInt8(ascii: ";")) }
            switch reply {
            case .message(let bytes): response += bytes; endsRaw = false
            case .raw(let bytes): response += bytes; endsRaw = true
            }
        }
        if !endsRaw { response += device.eom }
        if outputOffset == output.count {
            output.removeAll(keepingCapacity: true)
            outputOffset = 0
        }
        output += response
        lastOutcome = .answered
    }

    /// A message to a pyvisa-sim device: each of its queries is answered on its own, each reply
    /// ended by the interface's response termination; replies not yet read stay queued (no
    /// IEEE 488.2 interruption, as in pyvisa-sim). A reply patch answers first.
    private func processPyVISASim(_ message: String) throws {
        lastMessage = message
        let replies: [String]
        if let patched = patchedReply(message) {
            replies = [patched]
        } else {
            replies = try pyvisaSim!.respond(to: message)
        }
        guard !replies.isEmpty else {
            lastOutcome = .command
            return
        }
        if outputOffset == output.count {
            output.removeAll(keepingCapacity: true)
            outputOffset = 0
        }
        for reply in replies { output += Array(reply.utf8) + device.eom }
        lastOutcome = .answered
    }

    /// The reply of a patch for this command, counting the call.
    private func patchedReply(_ text: Substring) -> String? {
        let key = text.trimmingSCPIWhitespace().uppercased()
        guard let i = patches.lastIndex(where: { $0.command == key }) else { return nil }
        let reply = patches[i].reply
        if patches[i].remaining > 0 {
            patches[i].remaining -= 1
            if patches[i].remaining == 0 { patches.remove(at: i) }
        }
        return reply
    }

    private func patchedReply(_ text: String) -> String? { patchedReply(text[...]) }

    /// Runs one command; returns its reply, or nil (a command, or an error was queued).
    /// Patches answer first, then the device's file: its dialogues, then its properties; the
    /// built-in commands last. The file wins: a dialogue (or a property getter) for a built-in
    /// command such as `*IDN?` gives the reply, while the built-in's effect on the device's
    /// state (`*RST` resets the properties, `*CLS` clears the error queue) still happens.
    private func execute(_ text: Substring, _ command: SCPICommand) -> SimDevice.Reply? {
        if let reply = patchedReply(text) { return .message(Array(reply.utf8)) }
        // The built-in's effect happens first, so the file's answer sees the state after it.
        let builtin = Builtin.compiled.first(where: { $0.pattern.matches(command) }).map { run($0.builtin) }
        if let dialogue = device.dialogues.first(where: { $0.pattern.matches(command) }) {
            return dialogue.reply
        }
        if case .handled(let reply) = runProperties(command) { return reply }
        if let builtin { return builtin }
        push(.undefinedHeader)
        return nil
    }

    /// Whether the device's properties knew a command, and their reply.
    private enum Handling {
        case handled(SimDevice.Reply?)
        case unhandled
    }

    /// Runs a command against the device's properties: getters, setters and actions.
    private func runProperties(_ command: SCPICommand) -> Handling {
        for (i, property) in device.properties.enumerated() {
            if property.perChannel {
                if property.getters.contains(where: { $0.matchesHeader(command) }) {
                    guard let channels = channelList(command) else { return .handled(nil) }
                    let answer = channels.map { (keyed[i][$0] ?? values[i]).text }.joined(separator: ",")
                    return .handled(.message(Array(answer.utf8)))
                }
            } else if property.getters.contains(where: { $0.matches(command) }) {
                return .handled(.message(Array(value(of: i).text.utf8)))
            }
            if let setter = property.setter, setter.matchesHeader(command) {
                if command.parameters.isEmpty {
                    push(.missingParameter)
                } else {
                    switch property.parse(command.parameters) {
                    case .success(let value): store(value, in: i)
                    case .failure(let error): push(error)
                    }
                }
                return .handled(nil)
            }
            for action in property.actions {
                if action.pattern.takesChannelList {
                    guard action.pattern.matchesHeader(command) else { continue }
                    guard let channels = channelList(command) else { return .handled(nil) }
                    for channel in channels { keyed[i][channel] = action.value }
                } else {
                    guard action.pattern.matches(command) else { continue }
                    if property.perChannel {
                        values[i] = action.value
                        keyed[i].removeAll()
                    } else {
                        store(action.value, in: i)
                    }
                }
                return .handled(nil)
            }
        }
        return .unhandled
    }

    /// The value a getter of property `i` answers: for a selected property, the value of the
    /// key its selector holds now.
    private func value(of i: Int) -> SimDevice.PropertyValue {
        guard let selector = device.properties[i].selector else { return values[i] }
        return keyed[i][values[selector].text] ?? values[i]
    }

    /// Stores a value in property `i` (for a selected property, under the selected key).
    private func store(_ value: SimDevice.PropertyValue, in i: Int) {
        if let selector = device.properties[i].selector {
            keyed[i][values[selector].text] = value
        } else {
            values[i] = value
        }
    }

    /// The channels of the command's channel list; nil after queueing -109 (no parameter) or
    /// -224 (not a channel list).
    private func channelList(_ command: SCPICommand) -> [String]? {
        if command.parameters.isEmpty {
            push(.missingParameter)
            return nil
        }
        guard let channels = SCPIChannelList.parse(command.parameters) else {
            push(.illegalParameterValue)
            return nil
        }
        return channels
    }

    private func run(_ builtin: Builtin) -> SimDevice.Reply? {
        func text(_ s: String) -> SimDevice.Reply { .message(Array(s.utf8)) }
        switch builtin {
        case .identify: return text(device.identity)
        case .reset:
            values = device.properties.map(\.defaultValue)
            keyed = Array(repeating: [:], count: device.properties.count)
        case .clearStatus:
            errors.removeAll()
            eventStatus = 0
        case .operationCompleteQuery: return text("1")
        case .operationComplete: eventStatus |= 0x01
        case .eventStatusQuery:
            defer { eventStatus = 0 }
            return text(String(eventStatus))
        case .statusByteQuery: return text(String(statusByte()))
        case .trigger, .wait: break
        case .selfTestQuery: return text("0")
        case .systemError: return text(errors.isEmpty ? SCPIError.noError.text : errors.removeFirst().text)
        }
        return nil
    }

    /// Queues an error and sets its event status bit.
    private func push(_ error: SCPIError) {
        eventStatus |= error.eventStatusBit
        if errors.count < Self.errorQueueCapacity {
            errors.append(error)
        } else {
            errors[errors.count - 1] = .queueOverflow
        }
    }

    /// Bit 4 MAV (a response is pending), bit 2 EAV (the error queue is not empty), bit 5 ESB
    /// (the event status register is not zero).
    private func statusByte() -> UInt8 {
        var stb: UInt8 = 0
        if outputOffset < output.count { stb |= 0x10 }
        if !errors.isEmpty { stb |= 0x04 }
        if eventStatus != 0 { stb |= 0x20 }
        return stb
    }

    /// Why a read found nothing to read.
    private func noResponseMessage() -> String {
        let sent = lastMessage.count > 80 ? String(lastMessage.prefix(80)) + "..." : lastMessage
        switch lastOutcome {
        case .nothingSent:
            return "no response pending: nothing was sent yet"
        case .command:
            return "no response pending: the last command was not a query (sent: \(sent))"
        case .unanswered:
            let reason = errors.first.map { "; SYSTem:ERRor? reports \($0.text)" } ?? ""
            return "no response pending: the instrument did not answer (sent: \(sent))\(reason)"
        case .answered, .responseRead:
            return "no response pending: the response was already read (sent: \(sent))"
        case .cleared:
            return "no response pending: a device clear discarded the response (sent: \(sent))"
        }
    }

    /// The message without one trailing "\n" or "\r\n".
    private func stripTerminator(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var end = bytes.endIndex
        if end > bytes.startIndex, bytes[end - 1] == 0x0A { end -= 1 }
        if end > bytes.startIndex, bytes[end - 1] == 0x0D { end -= 1 }
        return bytes[bytes.startIndex..<end]
    }

    private func record(_ call: TraceEntry.Call, data: [UInt8], failure: DriverFailure? = nil) {
        let firstDrop = trace.record { TraceEntry(seq: $0, call: call, data: data, failure: failure) }
        if firstDrop {
            services.log(
                .warning, component: "litmus-mock",
                "\(resource): the trace reached trace_limit \(trace.limit); later calls are counted, not recorded")
        }
    }

    // MARK: - Extension

    func invokeNamed(_ name: String, arguments: Arguments) throws -> DriverValue {
        throw DriverFailure.unsupported(
            "invoke_named runs mock operations (MOCK::...); \(resource) is a simulated SCPI session: write SCPI commands")
    }

    /// On a SIM session the target is a command and the behaviour a JSON string: the reply.
    func patch(_ target: String, behavior: [UInt8], times: Int32) throws -> UInt64 {
        let json: JSONValue
        do {
            json = try JSONValue.parse(behavior)
        } catch {
            throw DriverFailure.invalidArgument("patch for \(JSONText.quoted(target)): the reply is not valid JSON: \(error)")
        }
        guard case .string(let reply) = json else {
            throw DriverFailure.invalidArgument(
                "patch for \(JSONText.quoted(target)): a SIM session answers commands with text, so the behaviour "
                    + "must be a JSON string such as \"5.0\" (got \(json.kindDescription)); or use patch_reply")
        }
        return try patchReply(command: target, reply: reply, times: times)
    }

    func patchReply(command: String, reply: String, times: Int32) throws -> UInt64 {
        let key = command.trimmingSCPIWhitespace().uppercased()
        guard !key.isEmpty else { throw DriverFailure.invalidArgument("a reply patch needs a command") }
        try checkPatchTimes(times)
        let id = nextPatchID
        nextPatchID += 1
        patches.append(Patch(id: id, command: key, reply: reply, remaining: times))
        return id
    }

    func unpatch(_ id: UInt64) {
        patches.removeAll { $0.id == id }
    }

    func resetPatches() {
        patches.removeAll()
    }

    var traceCount: Int { trace.entries.count }

    func clearTrace() { trace.clear() }

    /// `{"seq":0,"op":"write","data":"MEAS:VOLT:DC?"}`; bytes that are not UTF-8 appear as
    /// `"hex:..."`, a status-byte read as `"result":16`, a failed call with its status and error.
    func traceJSON(at index: Int) throws -> String {
        let entry = try trace.entry(at: index)
        var json = "{\"seq\":\(entry.seq),\"op\":\"\(entry.call.rawValue)\""
        switch entry.call {
        case .write: json += ",\"data\":" + JSONWriter.bytesAsText(entry.data)
        case .read where entry.failure == nil: json += ",\"data\":" + JSONWriter.bytesAsText(entry.data)
        case .readStatusByte: json += ",\"result\":\(entry.data.first ?? 0)"
        default: break
        }
        if let failure = entry.failure {
            json += ",\"status\":\(failure.status),\"error\":\(JSONText.quoted(failure.message))"
        }
        return json + "}"
    }
}
