/// A USBTMC resource: `USB[board]::<vendor id>::<product id>::<serial>[::<interface>][::INSTR]`.
///
/// The host hands drivers the canonical form (`USB0::0x2A8D::0x1102::MY59001234::0::INSTR`);
/// parsing also accepts decimal ids, lower case keywords and the optional parts left out, so
/// the type can be used on strings a user typed.
public struct USBTMCResource: Equatable, Sendable, CustomStringConvertible {
    public var board: Int
    public var vendorID: UInt16
    public var productID: UInt16
    /// The serial number, as the device reports it in its string descriptor.
    public var serialNumber: String
    public var interfaceNumber: Int

    public init(board: Int = 0, vendorID: UInt16, productID: UInt16, serialNumber: String, interfaceNumber: Int = 0) {
        self.board = board
        self.vendorID = vendorID
        self.productID = productID
        self.serialNumber = serialNumber
        self.interfaceNumber = interfaceNumber
    }

    public init(parsing text: String) throws {
        func bad(_ why: String) -> USBTMCError {
            USBTMCError(
                .invalidArgument,
                "\"\(text)\" is not a USBTMC resource (\(why)); write USB0::<vendor id>::<product id>::<serial>::<interface>::INSTR, "
                    + "for example USB0::0x2A8D::0x1102::MY59001234::0::INSTR")
        }
        var parts = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, first.uppercased().hasPrefix("USB") else { throw bad("it does not start with USB") }
        let boardText = first.dropFirst(3)
        guard boardText.isEmpty || boardText.allSatisfy(\.isNumber), let board = boardText.isEmpty ? 0 : Int(boardText) else {
            throw bad("the board number after USB must be a number")
        }
        parts.removeFirst()
        if let last = parts.last?.uppercased() {
            if last == "RAW" { throw bad("::RAW resources are raw USB devices, not USBTMC; use ::INSTR") }
            if last == "INSTR" { parts.removeLast() }
        }
        guard parts.count == 3 || parts.count == 4 else {
            throw bad(parts.count < 3 ? "vendor id, product id and serial number are required" : "too many parts")
        }
        guard let vendor = Self.parseID(parts[0]) else { throw bad("vendor id \"\(parts[0])\" is not 0...0xFFFF") }
        guard let product = Self.parseID(parts[1]) else { throw bad("product id \"\(parts[1])\" is not 0...0xFFFF") }
        guard !parts[2].isEmpty else { throw bad("empty serial number") }
        var interface = 0
        if parts.count == 4 {
            guard let n = Int(parts[3]), (0...255).contains(n) else {
                throw bad("interface number \"\(parts[3])\" is not 0...255")
            }
            interface = n
        }
        self.init(board: board, vendorID: vendor, productID: product, serialNumber: parts[2], interfaceNumber: interface)
    }

    /// `0x1AB1`, `0x1ab1` or `6833`.
    static func parseID(_ text: String) -> UInt16? {
        if text.lowercased().hasPrefix("0x") { return UInt16(text.dropFirst(2), radix: 16) }
        return UInt16(text)
    }

    /// `USB0::0x2A8D::0x1102::MY59001234::0::INSTR`.
    public var canonical: String {
        "USB\(board)::0x\(hex4(vendorID))::0x\(hex4(productID))::\(serialNumber)::\(interfaceNumber)::INSTR"
    }

    public var description: String { canonical }

    /// `0x2A8D:0x1102 serial MY59001234`, for messages.
    public var identity: String { "0x\(hex4(vendorID)):0x\(hex4(productID)) serial \(serialNumber)" }

    /// Whether `serial` (as read from a device) is this resource's serial number: equal after
    /// trimming spaces and NULs some devices pad it with, ignoring case.
    public func matchesSerial(_ serial: String) -> Bool {
        Self.normalizedSerial(serial) == Self.normalizedSerial(serialNumber)
    }

    static func normalizedSerial(_ s: String) -> String {
        var t = Substring(s)
        while let c = t.first, c == " " || c == "\0" || c == "\t" { t.removeFirst() }
        while let c = t.last, c == " " || c == "\0" || c == "\t" { t.removeLast() }
        return t.uppercased()
    }
}
