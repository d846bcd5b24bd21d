/// A VISA resource string, parsed and checked: what a driver plugin opens.
///
/// ```swift
/// let name = try ResourceName(parsing: "tcpip::10.0.0.5::5025::socket")
/// name.canonical   // "TCPIP0::10.0.0.5::5025::SOCKET"
/// name.scheme      // "TCPIP"
/// if case .tcpip(let host, .socket(let port)) = name.interface { print(host, port) }
/// ```
///
/// Two names are equal, and hash alike, when their ``canonical`` forms are equal, so
/// `USB0::6833::1230::x::INSTR` and `usb::0x1AB1::0x04CE::x::0::instr` are the same resource
/// for locks and caches.
///
/// The rules, where VISA and its implementations leave room:
/// - Leading and trailing whitespace is ignored; whitespace, control and format characters
///   inside are rejected. At most ``maximumLength`` Unicode scalars.
/// - Keywords are ASCII case-insensitive: the interface type, the resource class (`INSTR`,
///   `SOCKET`, `RAW`, `INTFC`, `BACKPLANE`, `SERVANT`, `MEMACC`) and the LAN device keywords
///   `inst`, `hislip`, `gpib`, `usb`. Host names, serial numbers, device paths, other LAN
///   device names and the parts of other schemes keep their case.
/// - A resource class is recognised only as the last part: `TCPIP::h::instr` is class INSTR
///   with device `inst0`; a device literally named `instr` is `TCPIP::h::instr::INSTR`.
/// - `[...]` is one token wherever it appears: bracketed IPv6 hosts
///   (`TCPIP::[fe80::1%eth0]::INSTR`) and VXI-11 USB gateway names (`usb0[...]`). IPv6
///   literals are normalized (RFC 5952: lower-case hex, longest zero run as `::`); the zone
///   keeps its case. An unbracketed IPv6 address is an error that shows the bracketed form.
/// - The interface type is letters, digits, `-` and `_` starting with a letter; trailing
///   digits are the board (0...``maximumBoard``): `SIM0` is scheme `SIM`, board 0.
/// - TCPIP: the host is a dotted-quad IPv4 address (no leading zeros), a host name
///   (`A-Z a-z 0-9 . - _`) or a bracketed IPv6 literal. pyvisa-py's `host,port` is rejected.
///   A LAN device name starting with `hislip` is HiSLIP, with `,port` defaulting to 4880;
///   the canonical form always spells the port. Any other device name is VXI-11 and starts
///   with a letter; `gpibN,primary[,secondary]` gateway names are checked like GPIB addresses.
/// - USB: vendor and product ids are decimal or `0x` hex, 0...0xFFFF; the interface number is
///   0...255 (default 0); the class is INSTR (default) or RAW.
/// - ASRL: the text after `ASRL` is the port. All digits: a port number, kept as ``board``;
///   anything else (`COM3`, `/dev/ttyUSB0`, `loop://`): a device name kept as given, board 0.
///   Only `::INSTR` may follow, and it is optional.
/// - GPIB: primary address 0...30, secondary address 0...30 as in VISA resource strings. The
///   96...126 bus encoding (0x60 + n) of NI-488.2 is rejected with the VISA number to write
///   instead. Secondary address 0 is not the same as none.
/// - Other schemes (`SIM`, `MOCK`, `EXAMPLE`, `PRLGX-TCPIP`...) are kept generic: the scheme,
///   the board, the `::`-separated parts as given, and a resource class when the last part
///   is one. They need at least one `::`; there is no implied `::INSTR`.
/// - A string with no `::` that is not a VISA interface (`dmm`, `COM3`) is not a resource:
///   there are no aliases here; station files map role names to resources.
public struct ResourceName: Hashable, Sendable, CustomStringConvertible {
    /// The VISA resource class, the last part of a resource string.
    public enum ResourceClass: String, Hashable, Sendable, CaseIterable {
        case instr = "INSTR"
        case socket = "SOCKET"
        case raw = "RAW"
        case intfc = "INTFC"
        case backplane = "BACKPLANE"
        case servant = "SERVANT"
        case memacc = "MEMACC"
    }

    /// What a TCPIP resource connects to on its host.
    public enum TCPIPEndpoint: Hashable, Sendable {
        /// VXI-11: the LAN device name, e.g. `inst0`, or a gateway name such as `gpib0,5`.
        case vxi11(device: String)
        /// HiSLIP: the sub-address, e.g. `hislip0`, and the TCP port (4880 unless given).
        case hislip(device: String, port: Int)
        /// A raw socket on this TCP port.
        case socket(port: Int)
    }

    /// The interface and the address on it.
    public enum Interface: Hashable, Sendable {
        /// A LAN instrument. `host` is a host name, an IPv4 address or an IPv6 address
        /// (without brackets, with its `%zone` if any).
        case tcpip(host: String, endpoint: TCPIPEndpoint)
        /// A USBTMC device (class INSTR) or a raw USB device (class RAW).
        case usb(vendorID: UInt16, productID: UInt16, serialNumber: String, interfaceNumber: Int)
        /// A serial port: `device` is nil for a numbered port (`ASRL1`, the number is the
        /// board), else the device as given (`COM3`, `/dev/ttyUSB0`).
        case asrl(device: String?)
        /// A GPIB instrument.
        case gpib(primary: Int, secondary: Int?)
        /// A LeCroy VICP instrument.
        case vicp(host: String)
        /// Any other scheme: the upper-case scheme and the parts after it, as given, without
        /// the resource class.
        case other(scheme: String, parts: [String])
    }

    /// The interface and the address on it.
    public let interface: Interface
    /// The board number (default 0). For a numbered serial port (`ASRL3`) it is the port.
    public let board: Int
    /// The resource class; nil only for other schemes whose string names none.
    public let resourceClass: ResourceClass?
    /// Every default filled in, keywords upper-case (LAN device keywords lower-case, as VISA
    /// writes `inst0` and `hislip0`), USB ids as `0x%04X`: the key for locks and caches.
    public let canonical: String

    /// The HiSLIP port when the LAN device name gives none.
    public static let defaultHiSLIPPort = 4880
    /// The VXI-11 LAN device name when the string gives none.
    public static let defaultLANDevice = "inst0"
    /// The longest accepted resource string, in Unicode scalars (VISA's own buffers hold 256).
    public static let maximumLength = 1024
    /// The largest board number.
    public static let maximumBoard = 65535

    /// Parses a resource string.
    ///
    /// - Throws: ``ResourceNameError`` naming the input, the part at fault and its column,
    ///   what was expected and a valid example. Never traps, whatever the input.
    public init(parsing text: String) throws(ResourceNameError) {
        self = try ResourceNameParser(text).parse()
    }

    init(interface: Interface, board: Int, resourceClass: ResourceClass?) {
        self.interface = interface
        self.board = board
        self.resourceClass = resourceClass
        self.canonical = Self.format(interface, board: board, resourceClass: resourceClass)
    }

    /// The upper-case interface type without the board: `TCPIP`, `USB`, `ASRL`, `GPIB`,
    /// `VICP`, or another scheme such as `SIM`. Drivers are chosen by it.
    public var scheme: String {
        switch interface {
        case .tcpip: "TCPIP"
        case .usb: "USB"
        case .asrl: "ASRL"
        case .gpib: "GPIB"
        case .vicp: "VICP"
        case .other(let scheme, _): scheme
        }
    }

    /// The host of a TCPIP or VICP resource (IPv6 without brackets).
    public var host: String? {
        switch interface {
        case .tcpip(let host, _), .vicp(let host): host
        default: nil
        }
    }

    /// The TCP port of a SOCKET or HiSLIP resource.
    public var port: Int? {
        switch interface {
        case .tcpip(_, .socket(let port)), .tcpip(_, .hislip(_, let port)): port
        default: nil
        }
    }

    public var description: String { canonical }

    public static func == (lhs: ResourceName, rhs: ResourceName) -> Bool { lhs.canonical == rhs.canonical }

    public func hash(into hasher: inout Hasher) { hasher.combine(canonical) }

    static func format(_ interface: Interface, board: Int, resourceClass: ResourceClass?) -> String {
        var parts: [String]
        switch interface {
        case .tcpip(let host, let endpoint):
            let address = hostText(host)
            switch endpoint {
            case .vxi11(let device): parts = ["TCPIP\(board)", address, device]
            case .hislip(let device, let port): parts = ["TCPIP\(board)", address, "\(device),\(port)"]
            case .socket(let port): parts = ["TCPIP\(board)", address, String(port)]
            }
        case .usb(let vendor, let product, let serial, let number):
            parts = ["USB\(board)", hex4(vendor), hex4(product), serial, String(number)]
        case .asrl(let device):
            parts = ["ASRL" + (device ?? String(board))]
        case .gpib(let primary, let secondary):
            parts = ["GPIB\(board)", String(primary)] + (secondary.map { [String($0)] } ?? [])
        case .vicp(let host):
            parts = ["VICP\(board)", hostText(host)]
        case .other(let scheme, let rest):
            parts = ["\(scheme)\(board)"] + rest
        }
        if let resourceClass { parts.append(resourceClass.rawValue) }
        return parts.joined(separator: "::")
    }

    /// A host as written in a resource string: IPv6 in brackets.
    static func hostText(_ host: String) -> String {
        host.unicodeScalars.contains(":") ? "[\(host)]" : host
    }

    /// `0x%04X`.
    static func hex4(_ value: UInt16) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// Why a string is not a resource name: the input, the column and part at fault, what was
/// expected and a valid example.
///
/// ```
/// TCPIP::10.0.0.5::SOCKET: a SOCKET resource needs a port: TCPIP[board]::host::port::SOCKET, e.g. TCPIP0::10.0.0.5::5025::SOCKET
/// TCPIP::h::70000::SOCKET: at column 11: port '70000' is out of range 1...65535: TCPIP[board]::host::port::SOCKET, e.g. TCPIP0::10.0.0.5::5025::SOCKET
/// ```
public struct ResourceNameError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of problem it is.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Nothing but whitespace.
        case empty
        /// Longer than ``ResourceName/maximumLength``.
        case tooLong
        /// Whitespace, a control or a format character inside the string.
        case invalidCharacter
        /// A `[` never closed, or a `]` never opened.
        case unbalancedBracket
        /// A bare name, a host or a device path: not a resource string (no aliases).
        case notAResource
        /// The interface type or the board number is malformed.
        case invalidInterface
        /// A required part is missing.
        case missingPart
        /// An empty part: `::` twice in a row, or a trailing `::`.
        case emptyPart
        /// More parts than the resource has.
        case unexpectedPart
        /// A number that is malformed or out of range.
        case invalidNumber
        /// A host that is not a host name, an IPv4 address or a bracketed IPv6 address.
        case invalidHost
        /// A LAN device name or a serial device that is malformed.
        case invalidDeviceName
        /// A resource class the interface does not have (here).
        case unsupportedResourceClass
    }

    public var kind: Kind
    /// The string given to ``ResourceName/init(parsing:)``, untrimmed.
    public var input: String
    /// The part at fault, when there is one.
    public var part: String?
    /// Where the fault starts in ``input``, as a Unicode-scalar offset from 0.
    public var offset: Int?
    /// What is wrong.
    public var problem: String
    /// The valid form, e.g. `TCPIP[board]::host::port::SOCKET`.
    public var expected: String
    /// A valid resource string of that form.
    public var example: String

    public init(
        _ kind: Kind, input: String, part: String? = nil, offset: Int? = nil, problem: String, expected: String,
        example: String
    ) {
        self.kind = kind
        self.input = input
        self.part = part
        self.offset = offset
        self.problem = problem
        self.expected = expected
        self.example = example
    }

    public var description: String {
        var text = Self.display(input) + ": "
        if let offset { text += "at column \(offset + 1): " }
        return text + "\(problem): \(expected), e.g. \(example)"
    }

    /// Text fit for a message: invisible characters escaped, quoted when empty, when it starts
    /// or ends with a space or ends with ':', cut after 120 characters.
    static func display(_ text: String, limit: Int = 120, quoting: Bool = true) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                out += "…"
                break
            }
            count += 1
            if scalar == " " || !ResourceNameParser.isForbidden(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        let quote =
            quoting
            && (text.isEmpty || text.unicodeScalars.first == " " || text.unicodeScalars.last == " "
                || text.unicodeScalars.last == ":")
        return quote ? "\"\(out)\"" : out
    }
}

/// The valid form of a resource and an example, for messages.
private struct ResourceForm {
    var syntax: String
    var example: String

    static let any = ResourceForm(
        syntax: "INTERFACE[board]::address[::RESOURCE CLASS]", example: "TCPIP0::10.0.0.5::inst0::INSTR")
    static let tcpip = ResourceForm(
        syntax: "TCPIP[board]::host[::LAN device name][::INSTR]", example: "TCPIP0::10.0.0.5::inst0::INSTR")
    static let hislip = ResourceForm(
        syntax: "TCPIP[board]::host::hislip<n>[,port]::INSTR", example: "TCPIP0::10.0.0.5::hislip0,4880::INSTR")
    static let gateway = ResourceForm(
        syntax: "TCPIP[board]::host::gpib<board>,<primary>[,<secondary>]::INSTR",
        example: "TCPIP0::10.0.0.5::gpib0,5::INSTR")
    static let socket = ResourceForm(
        syntax: "TCPIP[board]::host::port::SOCKET", example: "TCPIP0::10.0.0.5::5025::SOCKET")
    static let usb = ResourceForm(
        syntax: "USB[board]::vendor id::product id::serial number[::interface number][::INSTR]",
        example: "USB0::0x1AB1::0x04CE::DS1ZA000000001::0::INSTR")
    static let usbRaw = ResourceForm(
        syntax: "USB[board]::vendor id::product id::serial number[::interface number]::RAW",
        example: "USB0::0x1AB1::0x04CE::DS1ZA000000001::0::RAW")
    static let asrl = ResourceForm(
        syntax: "ASRL<port number or device>[::INSTR]", example: "ASRL/dev/ttyUSB0::INSTR")
    static let gpib = ResourceForm(
        syntax: "GPIB[board]::primary address[::secondary address][::INSTR]", example: "GPIB0::5::INSTR")
    static let vicp = ResourceForm(syntax: "VICP[board]::host[::INSTR]", example: "VICP0::10.0.0.5::INSTR")
    static let other = ResourceForm(
        syntax: "SCHEME[board]::part[::part...][::RESOURCE CLASS]", example: "SIM0::dmm::INSTR")

    func with(example: String) -> ResourceForm { ResourceForm(syntax: syntax, example: example) }
}

/// The parser behind ``ResourceName/init(parsing:)``. Works on Unicode scalars, so offsets
/// are scalar offsets and only ASCII is ever taken for a keyword, a digit or a separator.
struct ResourceNameParser {
    /// One `::`-separated part and where it starts in the input.
    struct Part {
        var text: String
        var offset: Int
        var scalars: [Unicode.Scalar] { Array(text.unicodeScalars) }
    }

    let input: String
    let scalars: [Unicode.Scalar]
    /// The trimmed range of `scalars`.
    let start: Int
    let end: Int

    init(_ input: String) {
        self.input = input
        let scalars = Array(input.unicodeScalars)
        var start = 0
        var end = scalars.count
        while start < end, scalars[start].properties.isWhitespace { start += 1 }
        while end > start, scalars[end - 1].properties.isWhitespace { end -= 1 }
        self.scalars = scalars
        self.start = start
        self.end = end
    }

    private static let knownInterfaces: Set<String> = ["TCPIP", "USB", "GPIB", "VICP"]

    func parse() throws(ResourceNameError) -> ResourceName {
        guard start < end else {
            throw failure(
                .empty, input.isEmpty ? "empty resource string" : "the resource string is only whitespace", .any)
        }
        guard end - start <= ResourceName.maximumLength else {
            throw failure(
                .tooLong,
                "the resource string is \(end - start) characters long; "
                    + "at most \(ResourceName.maximumLength) are accepted",
                .any)
        }
        for index in start..<end where Self.isForbidden(scalars[index]) {
            let scalar = scalars[index]
            let name = "U+" + String(scalar.value, radix: 16, uppercase: true)
            let problem =
                scalar.properties.isWhitespace
                ? "whitespace (\(name)) inside a resource string; only leading and trailing whitespace is ignored"
                : "invisible character \(name) inside a resource string"
            throw failure(.invalidCharacter, problem, offset: index, .any)
        }
        let parts = try split()
        let first = parts[0]
        if Self.hasPrefix(first.scalars, "ASRL") { return try parseASRL(parts) }

        if parts.count == 1 {
            if let (name, digits) = Self.splitInterface(first.scalars), Self.knownInterfaces.contains(Self.upper(name))
            {
                let board = try boardNumber(digits, offset: first.offset + name.unicodeScalars.count)
                return try dispatch(Self.upper(name), board: board, middle: [], resourceClass: nil)
            }
            throw notAResource(first)
        }

        let (type, board) = try interfaceType(first)
        var middle = Array(parts.dropFirst())
        let resourceClass = ResourceName.ResourceClass(rawValue: Self.upper(parts[parts.count - 1].text))
        if resourceClass != nil { middle.removeLast() }
        guard type == "TCPIP" || type == "VICP" else {
            try requireNonEmpty(Array(parts.dropFirst()), form(for: type, resourceClass))
            return try dispatch(type, board: board, middle: middle, resourceClass: resourceClass)
        }
        do {
            try requireNonEmpty(Array(parts.dropFirst()), form(for: type, resourceClass))
            return try dispatch(type, board: board, middle: middle, resourceClass: resourceClass)
        } catch {
            if let hint = unbracketedIPv6(type, board: board, middle: middle, resourceClass: resourceClass) {
                throw hint
            }
            throw error
        }
    }

    private func dispatch(
        _ type: String, board: Int, middle: [Part], resourceClass: ResourceName.ResourceClass?
    ) throws(ResourceNameError) -> ResourceName {
        switch type {
        case "TCPIP": try parseTCPIP(board: board, middle: middle, resourceClass: resourceClass)
        case "USB": try parseUSB(board: board, middle: middle, resourceClass: resourceClass)
        case "GPIB": try parseGPIB(board: board, middle: middle, resourceClass: resourceClass)
        case "VICP": try parseVICP(board: board, middle: middle, resourceClass: resourceClass)
        default:
            ResourceName(
                interface: .other(scheme: type, parts: middle.map(\.text)), board: board, resourceClass: resourceClass)
        }
    }

    private func form(for type: String, _ resourceClass: ResourceName.ResourceClass?) -> ResourceForm {
        switch type {
        case "TCPIP": resourceClass == .socket ? .socket : .tcpip
        case "USB": resourceClass == .raw ? .usbRaw : .usb
        case "GPIB": .gpib
        case "VICP": .vicp
        default: .other
        }
    }

    // MARK: Splitting

    /// Splits the trimmed input at `::` outside brackets.
    private func split() throws(ResourceNameError) -> [Part] {
        var parts: [Part] = []
        var open: [Int] = []
        var partStart = start
        var index = start
        while index < end {
            let scalar = scalars[index]
            if scalar == "[" {
                open.append(index)
            } else if scalar == "]" {
                guard open.popLast() != nil else {
                    throw failure(.unbalancedBracket, "']' without a matching '['", offset: index, .any)
                }
            } else if scalar == ":", open.isEmpty, index + 1 < end, scalars[index + 1] == ":" {
                parts.append(part(partStart, index))
                index += 2
                partStart = index
                continue
            }
            index += 1
        }
        if let unclosed = open.last {
            throw failure(
                .unbalancedBracket, "'[' is never closed with ']'", offset: unclosed,
                ResourceForm.tcpip.with(example: "TCPIP0::[fe80::1%eth0]::INSTR"))
        }
        parts.append(part(partStart, end))
        if parts.count > 1, parts[0].text.isEmpty {
            throw failure(.missingPart, "missing interface type before the first '::'", offset: start, .any)
        }
        // "a:" then "::" reads back as "a" and ":...": a part may not end with a colon.
        for part in parts where part.text.unicodeScalars.last == ":" {
            throw failure(
                .invalidCharacter,
                "part \(Self.quote(part.text)) ends with ':', and ':::' is ambiguous: a part may not end with a colon",
                offset: part.offset + part.text.unicodeScalars.count - 1, .any)
        }
        return parts
    }

    private func part(_ from: Int, _ to: Int) -> Part {
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars[from..<to])
        return Part(text: text, offset: from)
    }

    private func requireNonEmpty(_ parts: [Part], _ form: ResourceForm) throws(ResourceNameError) {
        for (index, part) in parts.enumerated() where part.text.isEmpty {
            let problem =
                index == parts.count - 1
                ? "trailing '::' with nothing after it" : "empty part: '::' twice in a row"
            throw failure(.emptyPart, problem, offset: max(start, part.offset - 2), form)
        }
    }

    // MARK: Interface type

    /// `TCPIP0` -> (`TCPIP`, `0`); nil when it is not letters, digits, `-`, `_` from a letter.
    private static func splitInterface(_ scalars: [Unicode.Scalar]) -> (String, String)? {
        var digitsStart = scalars.count
        while digitsStart > 0, isDigit(scalars[digitsStart - 1]) { digitsStart -= 1 }
        guard digitsStart > 0, isLetter(scalars[0]) else { return nil }
        for scalar in scalars[..<digitsStart]
        where !(isLetter(scalar) || isDigit(scalar) || scalar == "-" || scalar == "_") {
            return nil
        }
        return (string(scalars[..<digitsStart]), string(scalars[digitsStart...]))
    }

    private func interfaceType(_ first: Part) throws(ResourceNameError) -> (String, Int) {
        guard !first.text.isEmpty else {
            throw failure(.missingPart, "missing interface type before the first '::'", offset: first.offset, .any)
        }
        guard let (name, digits) = Self.splitInterface(first.scalars) else {
            if Self.looksLikeHost(first.text) {
                let rest = string(scalars[start..<end])
                throw failure(
                    .invalidInterface,
                    "\(Self.quote(first.text)) is a host, not an interface type: "
                        + "a resource string starts with its interface",
                    at: first, ResourceForm.any.with(example: "TCPIP0::" + rest))
            }
            throw failure(
                .invalidInterface,
                "interface type \(Self.quote(first.text)) must be a letter, then letters, digits, '-' or '_', "
                    + "then an optional board number (TCPIP0, USB, ASRL1, GPIB0, SIM)",
                at: first, .any)
        }
        let board = try boardNumber(digits, offset: first.offset + name.unicodeScalars.count)
        return (Self.upper(name), board)
    }

    /// The digits after the interface type: none means board 0.
    private func boardNumber(_ digits: String, offset: Int) throws(ResourceNameError) -> Int {
        digits.isEmpty
            ? 0 : try number(Part(text: digits, offset: offset), 0...ResourceName.maximumBoard, "board number", .any)
    }

    /// The message for a string without `::` that is not a VISA interface.
    private func notAResource(_ only: Part) -> ResourceNameError {
        let text = only.text
        let scalars = only.scalars
        if let colon = scalars.lastIndex(of: ":"), scalars.first != "[" {
            let host = string(scalars[..<colon])
            let port = string(scalars[(colon + 1)...])
            if Self.hostProblem(host) == nil, let value = Self.decimal(port), (1...65535).contains(value) {
                return failure(
                    .notAResource, "\(Self.quote(text)) is host:port, not a VISA resource string",
                    ResourceForm.socket.with(example: "TCPIP0::\(host)::\(value)::SOCKET"))
            }
            let fixed = text.split(separator: ":", omittingEmptySubsequences: true).joined(separator: "::")
            return failure(
                .notAResource, "not a VISA resource string: parts are separated by '::' (two colons), not ':'",
                ResourceForm.any.with(example: fixed))
        }
        if Self.looksLikeHost(text) {
            return failure(
                .notAResource, "\(Self.quote(text)) is a host, not a VISA resource string",
                ResourceForm.tcpip.with(example: "TCPIP0::\(text)::inst0::INSTR"))
        }
        if scalars.first == "/" {
            return failure(
                .notAResource, "\(Self.quote(text)) is a device path, not a VISA resource string",
                ResourceForm.asrl.with(example: "ASRL\(text)::INSTR"))
        }
        if scalars.count > 3, Self.hasPrefix(scalars, "COM"), scalars[3...].allSatisfy(Self.isDigit),
            let number = Self.decimal(string(scalars[3...]))
        {
            return failure(
                .notAResource,
                "\(Self.quote(text)) is a serial-port alias, not a VISA resource string; aliases are not supported",
                ResourceForm.asrl.with(example: "ASRL\(number)::INSTR"))
        }
        return failure(
            .notAResource,
            "not a VISA resource string; station files map role names to resources, and aliases are not supported here",
            .any)
    }

    // MARK: TCPIP and VICP

    private func parseTCPIP(
        board: Int, middle: [Part], resourceClass: ResourceName.ResourceClass?
    ) throws(ResourceNameError) -> ResourceName {
        switch resourceClass ?? .instr {
        case .socket:
            guard middle.count >= 1 else {
                throw failure(.missingPart, "a SOCKET resource needs a host and a port", .socket)
            }
            let host = try parseHost(middle[0], .socket)
            guard middle.count >= 2 else {
                throw failure(
                    .missingPart, "a SOCKET resource needs a port",
                    ResourceForm.socket.with(
                        example: "TCPIP\(board)::\(ResourceName.hostText(host))::5025::SOCKET"))
            }
            if middle.count > 2 {
                throw failure(
                    .unexpectedPart,
                    "unexpected part \(Self.quote(middle[2].text)): a SOCKET resource has a host and a port",
                    at: middle[2], .socket)
            }
            let port = try number(middle[1], 1...65535, "port", .socket)
            return ResourceName(
                interface: .tcpip(host: host, endpoint: .socket(port: port)), board: board, resourceClass: .socket)
        case .instr:
            guard middle.count >= 1 else {
                throw failure(.missingPart, "a TCPIP resource needs a host", .tcpip)
            }
            let host = try parseHost(middle[0], .tcpip)
            if middle.count > 2 {
                throw failure(
                    .unexpectedPart,
                    "unexpected part \(Self.quote(middle[2].text)): "
                        + "a TCPIP INSTR resource has a host and a LAN device name",
                    at: middle[2], .tcpip)
            }
            let endpoint =
                middle.count == 2
                ? try parseLANDevice(middle[1], board: board, host: host)
                : .vxi11(device: ResourceName.defaultLANDevice)
            return ResourceName(interface: .tcpip(host: host, endpoint: endpoint), board: board, resourceClass: .instr)
        case let other:
            throw failure(
                .unsupportedResourceClass,
                "TCPIP resources of class \(other.rawValue) are not supported: use INSTR (VXI-11, HiSLIP) or SOCKET",
                at: Part(text: other.rawValue, offset: classOffset()), .tcpip)
        }
    }

    private func parseVICP(
        board: Int, middle: [Part], resourceClass: ResourceName.ResourceClass?
    ) throws(ResourceNameError) -> ResourceName {
        if let resourceClass, resourceClass != .instr {
            throw failure(
                .unsupportedResourceClass, "VICP resources are INSTR only, not \(resourceClass.rawValue)",
                at: Part(text: resourceClass.rawValue, offset: classOffset()), .vicp)
        }
        guard let first = middle.first else { throw failure(.missingPart, "a VICP resource needs a host", .vicp) }
        let host = try parseHost(first, .vicp)
        if middle.count > 1 {
            throw failure(
                .unexpectedPart, "unexpected part \(Self.quote(middle[1].text)): a VICP resource has only a host",
                at: middle[1], .vicp)
        }
        return ResourceName(interface: .vicp(host: host), board: board, resourceClass: .instr)
    }

    /// Where the resource class (the last part) starts.
    private func classOffset() -> Int {
        var index = end
        while index > start, !(scalars[index - 1] == ":" && index - 2 >= start && scalars[index - 2] == ":") {
            index -= 1
        }
        return index
    }

    /// A host name, an IPv4 address or a bracketed IPv6 literal; IPv6 is returned normalized
    /// and without brackets.
    private func parseHost(_ part: Part, _ form: ResourceForm) throws(ResourceNameError) -> String {
        let scalars = part.scalars
        if scalars.first == "[" {
            guard scalars.count >= 2, scalars.last == "]" else {
                throw failure(
                    .invalidHost, "text after the bracketed host \(Self.quote(part.text))", at: part,
                    form.with(example: "TCPIP0::[fe80::1%eth0]::INSTR"))
            }
            let inner = string(scalars[1..<(scalars.count - 1)])
            guard let normalized = Self.normalizedIPv6(inner) else {
                throw failure(
                    .invalidHost,
                    "\(Self.quote(part.text)) is not an IPv6 address; only IPv6 literals go in brackets, "
                        + "optionally with a zone such as %eth0",
                    at: part, form.with(example: "TCPIP0::[fe80::1%eth0]::INSTR"))
            }
            return normalized
        }
        if let problem = Self.hostProblem(part.text) {
            var form = form
            if let colon = scalars.lastIndex(of: ":"), Self.normalizedIPv6(part.text) == nil,
                let port = Self.decimal(string(scalars[(colon + 1)...]))
            {
                form = ResourceForm.socket.with(example: "TCPIP0::\(string(scalars[..<colon]))::\(port)::SOCKET")
            } else if Self.normalizedIPv6(part.text) != nil {
                form = form.with(example: "TCPIP0::[\(part.text)]::INSTR")
            }
            throw failure(.invalidHost, problem, at: part, form)
        }
        return part.text
    }

    /// Why `host` is not a host name or IPv4 address, or nil.
    static func hostProblem(_ host: String) -> String? {
        let scalars = Array(host.unicodeScalars)
        let shown = quote(host)
        guard !scalars.isEmpty else { return "empty host" }
        if scalars.contains(",") {
            return "host \(shown) has a ','; pyvisa-py's host,port is not supported: "
                + "use ::port::SOCKET for a raw socket, or hislip0,port for HiSLIP"
        }
        if scalars.contains(":") {
            if normalizedIPv6(host) != nil { return "IPv6 address \(shown) must be in brackets" }
            return "host \(shown) has a ':'; parts are separated by '::', and IPv6 addresses go in brackets"
        }
        for scalar in scalars
        where !(isLetter(scalar) || isDigit(scalar) || scalar == "." || scalar == "-" || scalar == "_") {
            return
                "host \(shown) has \(quote(String(Character(scalar)))); "
                + "a host name has only A-Z, a-z, 0-9, '.', '-' and '_'"
        }
        guard isLetter(scalars[0]) || isDigit(scalars[0]) else {
            return "host \(shown) must start with a letter or a digit"
        }
        if scalars.count > 254 { return "host \(shown) is longer than 253 characters" }
        if host.contains("..") { return "host \(shown) has an empty label ('..')" }
        if scalars.allSatisfy({ isDigit($0) || $0 == "." }), ipv4(scalars[...]) == nil {
            return "host \(shown) is not an IPv4 address: four numbers 0...255 without leading zeros, e.g. 10.0.0.5"
        }
        return nil
    }

    /// A host name with a dot, an IPv4 address or a bracketed IPv6 address.
    static func looksLikeHost(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        if scalars.count >= 2, scalars.first == "[", scalars.last == "]" {
            return normalizedIPv6(string(scalars[1..<(scalars.count - 1)])) != nil
        }
        return scalars.contains(".") && hostProblem(text) == nil
    }

    /// `hislip0[,port]` -> HiSLIP; anything else -> a VXI-11 device name.
    private func parseLANDevice(_ part: Part, board: Int, host: String) throws(ResourceNameError)
        -> ResourceName.TCPIPEndpoint
    {
        let scalars = part.scalars
        if Self.hasPrefix(scalars, "hislip") {
            var index = 6
            while index < scalars.count, Self.isDigit(scalars[index]) { index += 1 }
            let device = "hislip" + string(scalars[6..<index])
            if index == scalars.count { return .hislip(device: device, port: ResourceName.defaultHiSLIPPort) }
            guard scalars[index] == "," else {
                throw failure(
                    .invalidDeviceName,
                    "HiSLIP device name \(Self.quote(part.text)) must be hislip, a number, "
                        + "then optionally ',' and a port",
                    at: part, .hislip)
            }
            let port = try number(
                Part(text: string(scalars[(index + 1)...]), offset: part.offset + index + 1), 1...65535, "HiSLIP port",
                .hislip)
            return .hislip(device: device, port: port)
        }
        guard let first = scalars.first, Self.isLetter(first) else {
            if let port = Self.decimal(part.text), (1...65535).contains(port) {
                throw failure(
                    .invalidDeviceName,
                    "LAN device name \(Self.quote(part.text)) must start with a letter; a raw socket on port \(port) "
                        + "needs ::SOCKET",
                    at: part,
                    ResourceForm.socket.with(example: "TCPIP\(board)::\(ResourceName.hostText(host))::\(port)::SOCKET"))
            }
            throw failure(
                .invalidDeviceName, "LAN device name \(Self.quote(part.text)) must start with a letter", at: part,
                .tcpip)
        }
        var depth = 0
        for scalar in scalars {
            if scalar == "[" { depth += 1 } else if scalar == "]" { depth -= 1 }
            if depth == 0, scalar != "]",
                !(Self.isLetter(scalar) || Self.isDigit(scalar) || scalar == "," || scalar == "_" || scalar == "-"
                    || scalar == ".")
            {
                throw failure(
                    .invalidDeviceName,
                    "LAN device name \(Self.quote(part.text)) has \(Self.quote(String(Character(scalar)))); "
                        + "it has only letters, digits, ',', '_', '-', '.' and a [...] group",
                    at: part, .tcpip)
            }
        }
        for keyword in ["inst", "gpib", "usb"]
        where Self.hasPrefix(scalars, keyword) && scalars.count > keyword.count && Self.isDigit(scalars[keyword.count])
        {
            let rest = Array(scalars[keyword.count...])
            if keyword == "gpib", rest.contains(",") {
                return .vxi11(device: try gpibGateway(rest, part))
            }
            return .vxi11(device: keyword + string(rest[...]))
        }
        return .vxi11(device: part.text)
    }

    /// `gpib<board>,<primary>[,<secondary>]` with the addresses checked, numbers normalized.
    private func gpibGateway(_ rest: [Unicode.Scalar], _ part: Part) throws(ResourceNameError) -> String {
        let fields = rest.split(separator: ",", omittingEmptySubsequences: false).map { string($0) }
        guard fields.count == 2 || fields.count == 3 else {
            throw failure(
                .invalidDeviceName,
                "GPIB gateway name \(Self.quote(part.text)) must be gpib<board>,<primary>[,<secondary>]", at: part,
                .gateway)
        }
        let board = try number(
            Part(text: fields[0], offset: part.offset + 4), 0...ResourceName.maximumBoard, "gateway GPIB board",
            .gateway)
        let primaryOffset = part.offset + 4 + fields[0].unicodeScalars.count + 1
        let primary = try number(
            Part(text: fields[1], offset: primaryOffset), 0...30, "gateway GPIB primary address", .gateway)
        var name = "gpib\(board),\(primary)"
        if fields.count == 3 {
            let secondary = try secondaryAddress(
                Part(text: fields[2], offset: primaryOffset + fields[1].unicodeScalars.count + 1), .gateway,
                example: { "TCPIP0::10.0.0.5::gpib\(board),\(primary),\($0)::INSTR" })
            name += ",\(secondary)"
        }
        return name
    }

    /// When a TCPIP or VICP string failed, and some of its first parts joined by `::` form an
    /// IPv6 address, the error that shows the bracketed form.
    private func unbracketedIPv6(
        _ type: String, board: Int, middle: [Part], resourceClass: ResourceName.ResourceClass?
    ) -> ResourceNameError? {
        guard middle.count >= 2 else { return nil }
        for count in stride(from: middle.count, through: 2, by: -1) {
            let joined = middle[..<count].map(\.text).joined(separator: "::")
            guard Self.normalizedIPv6(joined) != nil else { continue }
            let rest = middle[count...].map(\.text) + (resourceClass.map { [$0.rawValue] } ?? [])
            let fixed = (["\(type)\(board)", "[\(joined)]"] + rest).joined(separator: "::")
            return failure(
                .invalidHost,
                "IPv6 address \(Self.quote(joined)) must be in brackets, or its '::' splits it into parts",
                at: middle[0],
                form(for: type, resourceClass).with(example: fixed))
        }
        return nil
    }

    // MARK: USB, ASRL, GPIB

    private func parseUSB(
        board: Int, middle: [Part], resourceClass: ResourceName.ResourceClass?
    ) throws(ResourceNameError) -> ResourceName {
        let resourceClass = resourceClass ?? .instr
        let form: ResourceForm = resourceClass == .raw ? .usbRaw : .usb
        guard resourceClass == .instr || resourceClass == .raw else {
            throw failure(
                .unsupportedResourceClass,
                "USB resources are INSTR (USBTMC) or RAW, not \(resourceClass.rawValue)",
                at: Part(text: resourceClass.rawValue, offset: classOffset()), form)
        }
        let missing = [
            "a vendor id, a product id and a serial number", "a product id and a serial number", "a serial number",
        ]
        guard middle.count >= 3 else {
            throw failure(.missingPart, "a USB resource needs \(missing[middle.count])", form)
        }
        if middle.count > 4 {
            throw failure(
                .unexpectedPart,
                "unexpected part \(Self.quote(middle[4].text)) after the USB interface number", at: middle[4], form)
        }
        let vendor = try usbID(middle[0], "vendor id", form)
        let product = try usbID(middle[1], "product id", form)
        let interfaceNumber = middle.count == 4 ? try number(middle[3], 0...255, "USB interface number", form) : 0
        return ResourceName(
            interface: .usb(
                vendorID: vendor, productID: product, serialNumber: middle[2].text, interfaceNumber: interfaceNumber),
            board: board, resourceClass: resourceClass)
    }

    /// A USB vendor or product id: decimal or `0x` hex, 0...0xFFFF.
    private func usbID(_ part: Part, _ what: String, _ form: ResourceForm) throws(ResourceNameError) -> UInt16 {
        let scalars = part.scalars
        let value: Int?
        if scalars.count >= 2, scalars[0] == "0", scalars[1] == "x" || scalars[1] == "X" {
            value = Self.hexadecimal(scalars[2...])
        } else {
            value = Self.decimal(part.text)
        }
        guard let value else {
            let hint =
                Self.hexadecimal(scalars[...]) != nil
                ? "; hexadecimal needs 0x, e.g. 0x\(Self.displayed(part.text))" : ""
            throw failure(
                .invalidNumber, "\(what) \(Self.quote(part.text)) is neither decimal nor 0x hexadecimal\(hint)",
                at: part, form)
        }
        guard value <= 0xFFFF else {
            throw failure(.invalidNumber, "\(what) \(Self.quote(part.text)) is out of range 0...0xFFFF", at: part, form)
        }
        return UInt16(value)
    }

    private func parseASRL(_ parts: [Part]) throws(ResourceNameError) -> ResourceName {
        let first = parts[0]
        let device = Array(first.scalars.dropFirst(4))
        var board = 0
        var name: String?
        if !device.isEmpty {
            if device.allSatisfy(Self.isDigit) {
                board = try number(
                    Part(text: string(device[...]), offset: first.offset + 4), 0...ResourceName.maximumBoard,
                    "serial port number", .asrl)
            } else {
                name = string(device[...])
            }
        }
        try requireNonEmpty(Array(parts.dropFirst()), .asrl)
        if parts.count > 1 {
            let last = parts[parts.count - 1]
            if let resourceClass = ResourceName.ResourceClass(rawValue: Self.upper(last.text)), resourceClass != .instr
            {
                throw failure(
                    .unsupportedResourceClass, "ASRL resources are INSTR only, not \(resourceClass.rawValue)", at: last,
                    .asrl)
            }
            if parts.count > 2 || ResourceName.ResourceClass(rawValue: Self.upper(last.text)) == nil {
                let extra = parts[1]
                throw failure(
                    .unexpectedPart,
                    "unexpected part \(Self.quote(extra.text)): only ::INSTR may follow the serial port",
                    at: extra, .asrl)
            }
        }
        return ResourceName(interface: .asrl(device: name), board: board, resourceClass: .instr)
    }

    private func parseGPIB(
        board: Int, middle: [Part], resourceClass: ResourceName.ResourceClass?
    ) throws(ResourceNameError) -> ResourceName {
        if let resourceClass, resourceClass != .instr {
            throw failure(
                .unsupportedResourceClass,
                "GPIB resources of class \(resourceClass.rawValue) are not supported; only INSTR",
                at: Part(text: resourceClass.rawValue, offset: classOffset()), .gpib)
        }
        guard let first = middle.first else {
            throw failure(.missingPart, "a GPIB resource needs a primary address", .gpib)
        }
        if middle.count > 2 {
            throw failure(
                .unexpectedPart,
                "unexpected part \(Self.quote(middle[2].text)): a GPIB resource has a primary and a secondary address",
                at: middle[2], .gpib)
        }
        let primary = try number(first, 0...30, "primary address", .gpib)
        let secondary =
            middle.count == 2
            ? try secondaryAddress(middle[1], .gpib, example: { "GPIB\(board)::\(primary)::\($0)::INSTR" }) : nil
        return ResourceName(
            interface: .gpib(primary: primary, secondary: secondary), board: board, resourceClass: .instr)
    }

    /// A secondary address 0...30; the 96...126 bus encoding is refused with the number to write.
    private func secondaryAddress(
        _ part: Part, _ form: ResourceForm, example: (Int) -> String
    ) throws(ResourceNameError) -> Int {
        if let value = Self.decimal(part.text), (96...126).contains(value) {
            throw failure(
                .invalidNumber,
                "secondary address \(value) is the 96...126 bus encoding (0x60 + n); resource strings use 0...30, "
                    + "so write \(value - 96)",
                at: part, form.with(example: example(value - 96)))
        }
        return try number(part, 0...30, "secondary address", form)
    }

    // MARK: Numbers

    private func number(
        _ part: Part, _ range: ClosedRange<Int>, _ what: String, _ form: ResourceForm
    ) throws(ResourceNameError) -> Int {
        guard let value = Self.decimal(part.text) else {
            let problem =
                part.text.isEmpty
                ? "missing \(what) (\(range.lowerBound)...\(range.upperBound))"
                : "\(what) \(Self.quote(part.text)) is not a decimal number \(range.lowerBound)...\(range.upperBound)"
            throw failure(.invalidNumber, problem, at: part, form)
        }
        guard range.contains(value) else {
            throw failure(
                .invalidNumber,
                "\(what) \(Self.quote(part.text)) is out of range \(range.lowerBound)...\(range.upperBound)", at: part,
                form)
        }
        return value
    }

    /// ASCII decimal digits as a number, saturating at `Int.max`; nil when empty or not digits.
    static func decimal(_ text: String) -> Int? {
        var value = 0
        var any = false
        for scalar in text.unicodeScalars {
            guard isDigit(scalar) else { return nil }
            any = true
            value = value > 100_000_000_000_000 ? Int.max : value * 10 + Int(scalar.value - 48)
        }
        return any ? value : nil
    }

    /// ASCII hex digits as a number, saturating at `Int.max`; nil when empty or not hex.
    static func hexadecimal(_ scalars: ArraySlice<Unicode.Scalar>) -> Int? {
        var value = 0
        for scalar in scalars {
            guard let digit = hexDigit(scalar) else { return nil }
            value = value > 0xFFFF_FFFF_FFFF ? Int.max : value * 16 + digit
        }
        return scalars.isEmpty ? nil : value
    }

    static func hexDigit(_ scalar: Unicode.Scalar) -> Int? {
        switch scalar.value {
        case 48...57: Int(scalar.value - 48)
        case 65...70: Int(scalar.value - 55)
        case 97...102: Int(scalar.value - 87)
        default: nil
        }
    }

    // MARK: IP addresses

    /// A dotted-quad IPv4 address, four numbers 0...255 without leading zeros.
    static func ipv4(_ scalars: ArraySlice<Unicode.Scalar>) -> [UInt8]? {
        let fields = scalars.split(separator: ".", omittingEmptySubsequences: false)
        guard fields.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for field in fields {
            guard (1...3).contains(field.count), field.allSatisfy(isDigit), field.count == 1 || field.first != "0",
                let value = decimal(string(field)), value <= 255
            else { return nil }
            bytes.append(UInt8(value))
        }
        return bytes
    }

    /// An IPv6 address with an optional `%zone`, normalized (RFC 5952); nil when invalid.
    static func normalizedIPv6(_ text: String) -> String? {
        let all = Array(text.unicodeScalars)
        guard all.count <= 100 else { return nil }
        var address = all[...]
        var zone = ""
        if let percent = all.firstIndex(of: "%") {
            let zoneScalars = all[(percent + 1)...]
            guard !zoneScalars.isEmpty,
                zoneScalars.allSatisfy({ isLetter($0) || isDigit($0) || $0 == "." || $0 == "_" || $0 == "-" })
            else { return nil }
            zone = "%" + string(zoneScalars)
            address = all[..<percent]
        }
        guard let groups = ipv6Groups(address) else { return nil }
        return formatIPv6(groups) + zone
    }

    static func ipv6Groups(_ scalars: ArraySlice<Unicode.Scalar>) -> [UInt16]? {
        guard !scalars.isEmpty else { return nil }
        var doubleColon: Int?
        var index = scalars.startIndex
        while index + 1 < scalars.endIndex {
            if scalars[index] == ":" && scalars[index + 1] == ":" {
                if doubleColon != nil { return nil }
                doubleColon = index
                index += 2
            } else {
                index += 1
            }
        }
        func groups(_ piece: ArraySlice<Unicode.Scalar>, ipv4Tail: Bool) -> [UInt16]? {
            if piece.isEmpty { return [] }
            let fields = piece.split(separator: ":", omittingEmptySubsequences: false)
            var out: [UInt16] = []
            for (number, field) in fields.enumerated() {
                if ipv4Tail, number == fields.count - 1, field.contains(".") {
                    guard let bytes = ipv4(field) else { return nil }
                    out += [UInt16(bytes[0]) << 8 | UInt16(bytes[1]), UInt16(bytes[2]) << 8 | UInt16(bytes[3])]
                } else {
                    guard (1...4).contains(field.count), let value = hexadecimal(field) else { return nil }
                    out.append(UInt16(value))
                }
            }
            return out
        }
        if let doubleColon {
            guard let head = groups(scalars[scalars.startIndex..<doubleColon], ipv4Tail: false),
                let tail = groups(scalars[(doubleColon + 2)...], ipv4Tail: true), head.count + tail.count <= 7
            else { return nil }
            return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard let all = groups(scalars, ipv4Tail: true), all.count == 8 else { return nil }
        return all
    }

    /// RFC 5952: lower-case hex without leading zeros, the longest run of two or more zero
    /// groups (the first of equals) as `::`, IPv4-mapped addresses as `::ffff:a.b.c.d`.
    static func formatIPv6(_ groups: [UInt16]) -> String {
        if groups[0..<5].allSatisfy({ $0 == 0 }), groups[5] == 0xFFFF {
            return "::ffff:\(groups[6] >> 8).\(groups[6] & 0xFF).\(groups[7] >> 8).\(groups[7] & 0xFF)"
        }
        var best = (start: -1, length: 0)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var stop = index
            while stop < 8, groups[stop] == 0 { stop += 1 }
            if stop - index > best.length { best = (index, stop - index) }
            index = stop
        }
        let hex = { (slice: ArraySlice<UInt16>) in slice.map { String($0, radix: 16) }.joined(separator: ":") }
        guard best.length >= 2 else { return hex(groups[...]) }
        return hex(groups[..<best.start]) + "::" + hex(groups[(best.start + best.length)...])
    }

    // MARK: Characters

    /// Whitespace, control and format characters: never inside a resource string.
    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.isWhitespace { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .spaceSeparator, .surrogate: return true
        default: return false
        }
    }

    static func isDigit(_ scalar: Unicode.Scalar) -> Bool { (48...57).contains(scalar.value) }

    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        (65...90).contains(scalar.value) || (97...122).contains(scalar.value)
    }

    /// ASCII-only upper case: `ı` and `ſ` are not `I` and `S` here.
    static func upper(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if (97...122).contains(scalar.value), let upper = Unicode.Scalar(scalar.value - 32) {
                out.unicodeScalars.append(upper)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Whether `scalars` starts with the ASCII `prefix`, ignoring ASCII case.
    static func hasPrefix(_ scalars: [Unicode.Scalar], _ prefix: String) -> Bool {
        let wanted = Array(upper(prefix).unicodeScalars)
        guard scalars.count >= wanted.count else { return false }
        for (scalar, want) in zip(scalars, wanted) {
            let folded = (97...122).contains(scalar.value) ? scalar.value - 32 : scalar.value
            if folded != want.value { return false }
        }
        return true
    }

    static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars)
        return text
    }

    private func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String { Self.string(scalars) }

    static func displayed(_ text: String) -> String { ResourceNameError.display(text, limit: 40, quoting: false) }

    static func quote(_ text: String) -> String { "'\(displayed(text))'" }

    // MARK: Errors

    private func failure(
        _ kind: ResourceNameError.Kind, _ problem: String, at part: Part, _ form: ResourceForm
    ) -> ResourceNameError {
        ResourceNameError(
            kind, input: input, part: part.text, offset: part.offset, problem: problem, expected: form.syntax,
            example: form.example)
    }

    private func failure(
        _ kind: ResourceNameError.Kind, _ problem: String, offset: Int? = nil, _ form: ResourceForm
    ) -> ResourceNameError {
        ResourceNameError(
            kind, input: input, offset: offset, problem: problem, expected: form.syntax, example: form.example)
    }
}
