import Testing

@testable import Litmus

/// VISA resource-string parsing: the grammar of transports.md section 1, case rules,
/// canonical form, IPv6, USB ids, errors, and a fuzz run.
@Suite struct ResourceNameTests {
    struct Valid: Sendable, CustomTestStringConvertible {
        var input: String
        var canonical: String
        var testDescription: String { "\(input.debugDescription) -> \(canonical)" }
    }

    struct Invalid: Sendable, CustomTestStringConvertible {
        var input: String
        var kind: ResourceNameError.Kind
        /// Text the message must contain.
        var says: String
        var testDescription: String { "\(input.debugDescription): \(kind)" }
    }

    static let valid: [Valid] = [
        // TCPIP INSTR (VXI-11), defaults and case
        Valid(input: "TCPIP::1.2.3.4", canonical: "TCPIP0::1.2.3.4::inst0::INSTR"),
        Valid(input: "TCPIP0::1.2.3.4::inst0::INSTR", canonical: "TCPIP0::1.2.3.4::inst0::INSTR"),
        Valid(input: "TcPiP2::MyScope.lab::INSTR", canonical: "TCPIP2::MyScope.lab::inst0::INSTR"),
        Valid(input: "tcpip::1.2.3.4::instr", canonical: "TCPIP0::1.2.3.4::inst0::INSTR"),
        Valid(input: "TCPIP::10.0.0.5::INST0", canonical: "TCPIP0::10.0.0.5::inst0::INSTR"),
        Valid(input: "TCPIP::10.0.0.5::COM1::INSTR", canonical: "TCPIP0::10.0.0.5::COM1::INSTR"),
        Valid(input: "TCPIP::h::instr::INSTR", canonical: "TCPIP0::h::instr::INSTR"),
        Valid(input: "TCPIP65535::h", canonical: "TCPIP65535::h::inst0::INSTR"),
        Valid(input: "TCPIP00::h", canonical: "TCPIP0::h::inst0::INSTR"),
        // HiSLIP, with and without port
        Valid(input: "TCPIP::10.0.0.5::hislip0::INSTR", canonical: "TCPIP0::10.0.0.5::hislip0,4880::INSTR"),
        Valid(input: "TCPIP::10.0.0.5::HiSLIP1,5000::instr", canonical: "TCPIP0::10.0.0.5::hislip1,5000::INSTR"),
        Valid(input: "TCPIP::10.0.0.5::hislip0,4880", canonical: "TCPIP0::10.0.0.5::hislip0,4880::INSTR"),
        Valid(input: "TCPIP::h::HISLIP0,1::INSTR", canonical: "TCPIP0::h::hislip0,1::INSTR"),
        // Gateways
        Valid(input: "TCPIP::10.0.0.5::gpib0,5::INSTR", canonical: "TCPIP0::10.0.0.5::gpib0,5::INSTR"),
        Valid(input: "TCPIP::10.0.0.5::GPIB0,05,3", canonical: "TCPIP0::10.0.0.5::gpib0,5,3::INSTR"),
        Valid(
            input: "TCPIP::10.0.0.5::USB0[0x1AB1::0x04CE::SN1::0]::INSTR",
            canonical: "TCPIP0::10.0.0.5::usb0[0x1AB1::0x04CE::SN1::0]::INSTR"),
        // IPv6
        Valid(input: "TCPIP::[fe80::1%eth0]::INSTR", canonical: "TCPIP0::[fe80::1%eth0]::inst0::INSTR"),
        Valid(input: "TCPIP0::[::1]::5025::SOCKET", canonical: "TCPIP0::[::1]::5025::SOCKET"),
        Valid(input: "TCPIP::[FE80:0:0:0:0:0:0:1]::hislip0", canonical: "TCPIP0::[fe80::1]::hislip0,4880::INSTR"),
        Valid(input: "TCPIP::[2001:DB8:0:0:1:0:0:1]", canonical: "TCPIP0::[2001:db8::1:0:0:1]::inst0::INSTR"),
        Valid(input: "TCPIP::[::FFFF:10.0.0.5]::5025::SOCKET", canonical: "TCPIP0::[::ffff:10.0.0.5]::5025::SOCKET"),
        Valid(input: "TCPIP::[fe80::0001%Wlan_0]", canonical: "TCPIP0::[fe80::1%Wlan_0]::inst0::INSTR"),
        // Sockets
        Valid(input: "tcpip::h::5025::socket", canonical: "TCPIP0::h::5025::SOCKET"),
        Valid(input: "TCPIP::h::65535::SOCKET", canonical: "TCPIP0::h::65535::SOCKET"),
        Valid(input: "TCPIP::h::1::SOCKET", canonical: "TCPIP0::h::1::SOCKET"),
        Valid(input: "TCPIP3::my_host-1.local::05025::Socket", canonical: "TCPIP3::my_host-1.local::5025::SOCKET"),
        // USB, decimal and hex ids
        Valid(input: "USB::0x1AB1::0x04CE::SN::INSTR", canonical: "USB0::0x1AB1::0x04CE::SN::0::INSTR"),
        Valid(input: "USB0::6833::1230::EMU0001::0::INSTR", canonical: "USB0::0x1AB1::0x04CE::EMU0001::0::INSTR"),
        Valid(input: "usb1::0x1ab1::0X04ce::ds1zA::instr", canonical: "USB1::0x1AB1::0x04CE::ds1zA::0::INSTR"),
        Valid(input: "USB::0x0957::0x1796::MY123::1::RAW", canonical: "USB0::0x0957::0x1796::MY123::1::RAW"),
        Valid(input: "USB::1::2::sn::raw", canonical: "USB0::0x0001::0x0002::sn::0::RAW"),
        Valid(input: "USB::0x1AB1::0x04CE::SN", canonical: "USB0::0x1AB1::0x04CE::SN::0::INSTR"),
        Valid(input: "USB::0xFFFF::0::SN::255::INSTR", canonical: "USB0::0xFFFF::0x0000::SN::255::INSTR"),
        Valid(input: "USB::0x00001AB1::65535::x", canonical: "USB0::0x1AB1::0xFFFF::x::0::INSTR"),
        // ASRL
        Valid(input: "ASRL1::INSTR", canonical: "ASRL1::INSTR"),
        Valid(input: "ASRL1", canonical: "ASRL1::INSTR"),
        Valid(input: "asrlCOM3::instr", canonical: "ASRLCOM3::INSTR"),
        Valid(input: "ASRL/dev/ttyUSB0", canonical: "ASRL/dev/ttyUSB0::INSTR"),
        Valid(
            input: "ASRL/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0::INSTR",
            canonical: "ASRL/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0::INSTR"),
        Valid(
            input: "ASRL/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0::instr",
            canonical: "ASRL/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0::INSTR"),
        Valid(input: "ASRL::INSTR", canonical: "ASRL0::INSTR"),
        Valid(input: "ASRL007", canonical: "ASRL7::INSTR"),
        Valid(input: "ASRLloop://::INSTR", canonical: "ASRLloop://::INSTR"),
        Valid(input: "ASRLsocket://[::1]:5025::INSTR", canonical: "ASRLsocket://[::1]:5025::INSTR"),
        // GPIB
        Valid(input: "GPIB::5", canonical: "GPIB0::5::INSTR"),
        Valid(input: "GPIB1::0::INSTR", canonical: "GPIB1::0::INSTR"),
        Valid(input: "gpib0::30::30::instr", canonical: "GPIB0::30::30::INSTR"),
        Valid(input: "GPIB0::5::0", canonical: "GPIB0::5::0::INSTR"),
        // VICP
        Valid(input: "VICP::10.0.0.5", canonical: "VICP0::10.0.0.5::INSTR"),
        Valid(input: "vicp1::[fe80::2]::instr", canonical: "VICP1::[fe80::2]::INSTR"),
        // Other schemes: generic
        Valid(input: "SIM::dmm::INSTR", canonical: "SIM0::dmm::INSTR"),
        Valid(input: "sim0::dmm::instr", canonical: "SIM0::dmm::INSTR"),
        Valid(input: "MOCK::dmm", canonical: "MOCK0::dmm"),
        Valid(input: "EXAMPLE::dmm0::INSTR", canonical: "EXAMPLE0::dmm0::INSTR"),
        Valid(input: "OOT3::counter::Ch_A::instr", canonical: "OOT3::counter::Ch_A::INSTR"),
        Valid(input: "PRLGX-TCPIP::10.0.0.5::1234::intfc", canonical: "PRLGX-TCPIP0::10.0.0.5::1234::INTFC"),
        Valid(input: "GPIB-VXI0::9::memacc", canonical: "GPIB-VXI0::9::MEMACC"),
        Valid(input: "SIM::INSTR", canonical: "SIM0::INSTR"),
        Valid(input: "SIM::Ünïcödé-名前::INSTR", canonical: "SIM0::Ünïcödé-名前::INSTR"),
        // Whitespace around the string is trimmed
        Valid(input: "  TCPIP::h::5025::SOCKET \n", canonical: "TCPIP0::h::5025::SOCKET"),
        Valid(input: "\tUSB::1::2::x\r\n", canonical: "USB0::0x0001::0x0002::x::0::INSTR"),
    ]

    static let invalid: [Invalid] = [
        // Empty, aliases, not resources
        Invalid(input: "", kind: .empty, says: "empty resource string"),
        Invalid(input: "   ", kind: .empty, says: "only whitespace"),
        Invalid(input: "::", kind: .missingPart, says: "missing interface type"),
        Invalid(input: ":::", kind: .missingPart, says: "missing interface type"),
        Invalid(
            input: "dmm", kind: .notAResource,
            says: "not a VISA resource string; station files map role names to resources"),
        Invalid(input: "SIM", kind: .notAResource, says: "aliases are not supported"),
        Invalid(input: "COM3", kind: .notAResource, says: "e.g. ASRL3::INSTR"),
        Invalid(input: "10.0.0.5", kind: .notAResource, says: "e.g. TCPIP0::10.0.0.5::inst0::INSTR"),
        Invalid(input: "10.0.0.5:5025", kind: .notAResource, says: "e.g. TCPIP0::10.0.0.5::5025::SOCKET"),
        Invalid(input: "/dev/ttyUSB0", kind: .notAResource, says: "e.g. ASRL/dev/ttyUSB0::INSTR"),
        Invalid(input: "TCPIP:10.0.0.5:5025:SOCKET", kind: .notAResource, says: "e.g. TCPIP::10.0.0.5::5025::SOCKET"),
        // Interface type and board
        Invalid(input: "10.0.0.5::5025::SOCKET", kind: .invalidInterface, says: "e.g. TCPIP0::10.0.0.5::5025::SOCKET"),
        Invalid(input: "1TCPIP::h", kind: .invalidInterface, says: "interface type '1TCPIP'"),
        Invalid(input: "TCPİP::h", kind: .invalidInterface, says: "interface type"),
        Invalid(input: "ÜSB::1::2::x", kind: .invalidInterface, says: "interface type"),
        Invalid(input: "TCPIP99999999999999999999::h", kind: .invalidNumber, says: "board number"),
        Invalid(input: "TCPIP65536::h", kind: .invalidNumber, says: "out of range 0...65535"),
        // Characters and brackets
        Invalid(input: "TCP IP::h", kind: .invalidCharacter, says: "whitespace (U+20)"),
        Invalid(input: "TCPIP:: h::INSTR", kind: .invalidCharacter, says: "at column 8"),
        Invalid(input: "TCPIP\u{0}::h", kind: .invalidCharacter, says: "U+0"),
        Invalid(input: "\u{FEFF}TCPIP::h", kind: .invalidCharacter, says: "U+FEFF"),
        Invalid(input: "TCPIP::h\u{200B}::INSTR", kind: .invalidCharacter, says: "U+200B"),
        Invalid(input: "ASRL1:", kind: .invalidCharacter, says: "a part may not end with a colon"),
        Invalid(input: "ASRL1:::INSTR", kind: .unexpectedPart, says: "unexpected part ':INSTR'"),
        Invalid(input: "USB::1::2::sn:", kind: .invalidCharacter, says: "'sn:' ends with ':'"),
        Invalid(input: String(repeating: "A", count: 2000) + "::x", kind: .tooLong, says: "at most 1024"),
        Invalid(input: "[", kind: .unbalancedBracket, says: "never closed"),
        Invalid(input: "]", kind: .unbalancedBracket, says: "without a matching"),
        Invalid(input: "TCPIP::[fe80::1::INSTR", kind: .unbalancedBracket, says: "at column 8"),
        Invalid(input: "TCPIP::fe80::1]::INSTR", kind: .unbalancedBracket, says: "']' without a matching '['"),
        // Empty parts
        Invalid(input: "TCPIP::h::inst0::INSTR::", kind: .emptyPart, says: "trailing '::'"),
        Invalid(input: "TCPIP::h::::INSTR", kind: .emptyPart, says: "twice in a row"),
        Invalid(input: "SIM::", kind: .emptyPart, says: "trailing '::'"),
        Invalid(input: "SIM::::dmm", kind: .emptyPart, says: "twice in a row"),
        Invalid(input: "ASRL1::", kind: .emptyPart, says: "trailing '::'"),
        // TCPIP hosts, IPv6
        Invalid(input: "TCPIP", kind: .missingPart, says: "needs a host"),
        Invalid(input: "TCPIP::fe80::1::INSTR", kind: .invalidHost, says: "e.g. TCPIP0::[fe80::1]::INSTR"),
        Invalid(input: "TCPIP0::::1::5025::SOCKET", kind: .invalidHost, says: "e.g. TCPIP0::[::1]::5025::SOCKET"),
        Invalid(input: "TCPIP::1:2:3:4:5:6:7:8", kind: .invalidHost, says: "must be in brackets"),
        Invalid(input: "TCPIP::[myhost]::INSTR", kind: .invalidHost, says: "not an IPv6 address"),
        Invalid(input: "TCPIP::[fe80::1%]::INSTR", kind: .invalidHost, says: "not an IPv6 address"),
        Invalid(input: "TCPIP::[1.2.3.4]::INSTR", kind: .invalidHost, says: "not an IPv6 address"),
        Invalid(input: "TCPIP::[fe80::1::2]::INSTR", kind: .invalidHost, says: "not an IPv6 address"),
        Invalid(input: "TCPIP::[]::INSTR", kind: .invalidHost, says: "not an IPv6 address"),
        Invalid(input: "TCPIP::[::1]x::INSTR", kind: .invalidHost, says: "after the bracketed host"),
        Invalid(
            input: "TCPIP::10.0.0.5:5025::SOCKET", kind: .invalidHost, says: "e.g. TCPIP0::10.0.0.5::5025::SOCKET"),
        Invalid(input: "TCPIP::10.0.0.5,1024::INSTR", kind: .invalidHost, says: "host,port is not supported"),
        Invalid(input: "TCPIP::10.0.0.256::INSTR", kind: .invalidHost, says: "not an IPv4 address"),
        Invalid(input: "TCPIP::010.0.0.5", kind: .invalidHost, says: "without leading zeros"),
        Invalid(input: "TCPIP::my..host", kind: .invalidHost, says: "empty label"),
        Invalid(input: "TCPIP::-host", kind: .invalidHost, says: "must start with a letter or a digit"),
        Invalid(input: "TCPIP::hôte::INSTR", kind: .invalidHost, says: "'ô'"),
        // Sockets
        Invalid(input: "TCPIP::SOCKET", kind: .missingPart, says: "needs a host and a port"),
        Invalid(input: "TCPIP::10.0.0.5::SOCKET", kind: .missingPart, says: "a SOCKET resource needs a port"),
        Invalid(input: "TCPIP::h::0::SOCKET", kind: .invalidNumber, says: "port '0' is out of range 1...65535"),
        Invalid(input: "TCPIP::h::70000::SOCKET", kind: .invalidNumber, says: "port '70000' is out of range 1...65535"),
        Invalid(
            input: "TCPIP::h::99999999999999999999999999::SOCKET", kind: .invalidNumber,
            says: "out of range 1...65535"),
        Invalid(input: "TCPIP::h::50x::SOCKET", kind: .invalidNumber, says: "not a decimal number"),
        Invalid(input: "TCPIP::h::-1::SOCKET", kind: .invalidNumber, says: "not a decimal number"),
        Invalid(input: "TCPIP::h::+5025::SOCKET", kind: .invalidNumber, says: "not a decimal number"),
        Invalid(input: "TCPIP::h::٥٠٢٥::SOCKET", kind: .invalidNumber, says: "not a decimal number"),
        Invalid(input: "TCPIP::h::5025::socket::INSTR", kind: .unexpectedPart, says: "unexpected part 'socket'"),
        Invalid(input: "TCPIP::h::1::2::SOCKET", kind: .unexpectedPart, says: "unexpected part '2'"),
        Invalid(input: "TCPIP::h::5025::ſocket", kind: .unexpectedPart, says: "unexpected part 'ſocket'"),
        // LAN device names
        Invalid(input: "TCPIP::h::5025", kind: .invalidDeviceName, says: "e.g. TCPIP0::h::5025::SOCKET"),
        Invalid(input: "TCPIP::h::5025::INSTR", kind: .invalidDeviceName, says: "needs ::SOCKET"),
        Invalid(input: "TCPIP::h::hislip0,::INSTR", kind: .invalidNumber, says: "missing HiSLIP port"),
        Invalid(input: "TCPIP::h::hislip0,0::INSTR", kind: .invalidNumber, says: "out of range 1...65535"),
        Invalid(input: "TCPIP::h::hislip0,65536", kind: .invalidNumber, says: "HiSLIP port '65536'"),
        Invalid(input: "TCPIP::h::hislipX", kind: .invalidDeviceName, says: "HiSLIP device name"),
        Invalid(input: "TCPIP::h::gpib0,31::INSTR", kind: .invalidNumber, says: "gateway GPIB primary address '31'"),
        Invalid(input: "TCPIP::h::gpib0,5,96", kind: .invalidNumber, says: "e.g. TCPIP0::10.0.0.5::gpib0,5,0::INSTR"),
        Invalid(input: "TCPIP::h::gpib0,5,6,7", kind: .invalidDeviceName, says: "gpib<board>,<primary>[,<secondary>]"),
        Invalid(input: "TCPIP::h::inst0/a::INSTR", kind: .invalidDeviceName, says: "'/'"),
        Invalid(input: "TCPIP::h::RAW", kind: .unsupportedResourceClass, says: "class RAW are not supported"),
        // USB
        Invalid(input: "USB::0x1AB1::0x04CE::INSTR", kind: .missingPart, says: "needs a serial number"),
        Invalid(input: "USB0::1::2::INSTR", kind: .missingPart, says: "needs a serial number"),
        Invalid(input: "USB::0x1AB1::INSTR", kind: .missingPart, says: "needs a product id and a serial number"),
        Invalid(input: "USB", kind: .missingPart, says: "needs a vendor id"),
        Invalid(input: "USB::0x10000::1::sn", kind: .invalidNumber, says: "out of range 0...0xFFFF"),
        Invalid(input: "USB::65536::1::sn", kind: .invalidNumber, says: "vendor id '65536' is out of range"),
        Invalid(input: "USB::1AB1::0x04CE::sn", kind: .invalidNumber, says: "hexadecimal needs 0x, e.g. 0x1AB1"),
        Invalid(input: "USB::0x::0x04CE::sn", kind: .invalidNumber, says: "neither decimal nor 0x hexadecimal"),
        Invalid(input: "USB::1::0xG::sn", kind: .invalidNumber, says: "product id '0xG'"),
        Invalid(input: "USB::1::2::sn::256", kind: .invalidNumber, says: "USB interface number '256'"),
        Invalid(input: "USB::1::2::sn::0::SOCKET", kind: .unsupportedResourceClass, says: "INSTR (USBTMC) or RAW"),
        Invalid(input: "USB::1::2::sn::0::x::INSTR", kind: .unexpectedPart, says: "unexpected part 'x'"),
        // ASRL
        Invalid(input: "ASRL1::RAW", kind: .unsupportedResourceClass, says: "INSTR only"),
        Invalid(input: "ASRL1::foo", kind: .unexpectedPart, says: "only ::INSTR may follow"),
        Invalid(input: "ASRL1::INSTR::INSTR", kind: .unexpectedPart, says: "only ::INSTR may follow"),
        Invalid(input: "ASRL99999999999999999999", kind: .invalidNumber, says: "serial port number"),
        // GPIB
        Invalid(input: "GPIB0", kind: .missingPart, says: "needs a primary address"),
        Invalid(input: "GPIB0::31::INSTR", kind: .invalidNumber, says: "primary address '31' is out of range 0...30"),
        Invalid(input: "GPIB0::5::31", kind: .invalidNumber, says: "secondary address '31' is out of range 0...30"),
        Invalid(input: "GPIB0::5::96::INSTR", kind: .invalidNumber, says: "so write 0: "),
        Invalid(input: "GPIB2::5::126", kind: .invalidNumber, says: "e.g. GPIB2::5::30::INSTR"),
        Invalid(input: "GPIB0::x::INSTR", kind: .invalidNumber, says: "primary address 'x' is not a decimal number"),
        Invalid(input: "GPIB0::INTFC", kind: .unsupportedResourceClass, says: "class INTFC are not supported"),
        Invalid(input: "GPIB0::1::2::3", kind: .unexpectedPart, says: "unexpected part '3'"),
        // VICP
        Invalid(input: "VICP", kind: .missingPart, says: "needs a host"),
        Invalid(input: "VICP::h::x", kind: .unexpectedPart, says: "has only a host"),
        Invalid(input: "VICP::h::SOCKET", kind: .unsupportedResourceClass, says: "INSTR only"),
    ]

    // MARK: The table

    @Test(arguments: valid)
    func parsesToCanonicalForm(_ item: Valid) throws {
        let name = try ResourceName(parsing: item.input)
        #expect(name.canonical == item.canonical)
        #expect(name.description == item.canonical)
        // Round trip: the canonical form parses back to the same resource, field by field.
        let again = try ResourceName(parsing: name.canonical)
        #expect(again == name)
        #expect(again.canonical == name.canonical)
        #expect(again.interface == name.interface)
        #expect(again.board == name.board)
        #expect(again.resourceClass == name.resourceClass)
        #expect(again.hashValue == name.hashValue)
    }

    @Test(arguments: invalid)
    func rejectsWithMessage(_ item: Invalid) {
        let error = #expect(throws: ResourceNameError.self) { try ResourceName(parsing: item.input) }
        guard let error else { return }
        #expect(error.kind == item.kind, "\(error)")
        #expect(error.description.contains(item.says), "\(error)")
        #expect(error.input == item.input)
        #expect(!error.expected.isEmpty && !error.example.isEmpty)
        if let offset = error.offset { #expect((0...item.input.unicodeScalars.count).contains(offset)) }
        // The example a message offers is itself valid.
        #expect(throws: Never.self, "\(error.example)") { try ResourceName(parsing: error.example) }
    }

    @Test func tableIsLargeEnough() {
        #expect(Self.valid.count + Self.invalid.count >= 50)
        #expect(Set(Self.invalid.map(\.kind)) == Set(ResourceNameError.Kind.allCases))
    }

    // MARK: Fields

    @Test func tcpipFields() throws {
        let socket = try ResourceName(parsing: "tcpip::Lab-Scope::5025::socket")
        #expect(socket.interface == .tcpip(host: "Lab-Scope", endpoint: .socket(port: 5025)))
        #expect(socket.scheme == "TCPIP")
        #expect(socket.board == 0)
        #expect(socket.resourceClass == .socket)
        #expect(socket.host == "Lab-Scope")
        #expect(socket.port == 5025)

        let vxi = try ResourceName(parsing: "TCPIP1::10.0.0.5")
        #expect(vxi.interface == .tcpip(host: "10.0.0.5", endpoint: .vxi11(device: "inst0")))
        #expect(vxi.board == 1)
        #expect(vxi.resourceClass == .instr)
        #expect(vxi.port == nil)

        let hislip = try ResourceName(parsing: "TCPIP::[fe80::1%eth0]::hislip0")
        #expect(hislip.interface == .tcpip(host: "fe80::1%eth0", endpoint: .hislip(device: "hislip0", port: 4880)))
        #expect(hislip.host == "fe80::1%eth0")
        #expect(hislip.port == ResourceName.defaultHiSLIPPort)

        let gateway = try ResourceName(parsing: "TCPIP::gw::gpib0,5::INSTR")
        #expect(gateway.interface == .tcpip(host: "gw", endpoint: .vxi11(device: "gpib0,5")))
    }

    @Test func otherInterfaceFields() throws {
        let usb = try ResourceName(parsing: "USB0::6833::0x04ce::DS1ZA000000001::RAW")
        #expect(
            usb.interface
                == .usb(vendorID: 0x1AB1, productID: 0x04CE, serialNumber: "DS1ZA000000001", interfaceNumber: 0))
        #expect(usb.resourceClass == .raw)
        #expect(usb.scheme == "USB")

        let numbered = try ResourceName(parsing: "asrl3")
        #expect(numbered.interface == .asrl(device: nil))
        #expect(numbered.board == 3)
        #expect(numbered.scheme == "ASRL")
        let path = try ResourceName(parsing: "ASRL/dev/ttyUSB0::instr")
        #expect(path.interface == .asrl(device: "/dev/ttyUSB0"))
        #expect(path.board == 0)

        #expect(try ResourceName(parsing: "GPIB2::7::3").interface == .gpib(primary: 7, secondary: 3))
        #expect(try ResourceName(parsing: "GPIB2::7").interface == .gpib(primary: 7, secondary: nil))
        #expect(try ResourceName(parsing: "VICP::scope").interface == .vicp(host: "scope"))

        let sim = try ResourceName(parsing: "sim2::Bench::DMM::instr")
        #expect(sim.interface == .other(scheme: "SIM", parts: ["Bench", "DMM"]))
        #expect(sim.scheme == "SIM")
        #expect(sim.board == 2)
        #expect(sim.resourceClass == .instr)
        let mock = try ResourceName(parsing: "MOCK::dmm")
        #expect(mock.interface == .other(scheme: "MOCK", parts: ["dmm"]))
        #expect(mock.resourceClass == nil)
    }

    // MARK: Equality

    @Test func equalResourcesCompareEqual() throws {
        let decimal = try ResourceName(parsing: "USB0::6833::1230::x::INSTR")
        let hex = try ResourceName(parsing: "usb::0x1AB1::0x04CE::x::0::instr")
        #expect(decimal == hex)
        #expect(decimal.hashValue == hex.hashValue)

        let spellings = [
            "TCPIP::1.2.3.4", "tcpip0::1.2.3.4::INST0", "TCPIP0::1.2.3.4::inst0::INSTR", " TCPIP::1.2.3.4::instr ",
        ]
        #expect(Set(try spellings.map { try ResourceName(parsing: $0) }).count == 1)
        #expect(
            try ResourceName(parsing: "TCPIP::h::hislip0") == ResourceName(parsing: "TCPIP0::h::HISLIP0,4880::INSTR"))
        #expect(
            try ResourceName(parsing: "TCPIP::[FE80::0:1]::5025::SOCKET")
                == ResourceName(parsing: "TCPIP::[fe80::1]::5025::SOCKET"))
    }

    @Test(arguments: [
        ("TCPIP::MyHost", "TCPIP::myhost"),  // host names keep their case
        ("USB::1::2::SN", "USB::1::2::sn"),  // serial numbers keep their case
        ("ASRL/dev/ttyUSB0", "ASRL/dev/ttyusb0"),  // device paths keep their case
        ("GPIB::5::0", "GPIB::5"),  // secondary address 0 is not none
        ("TCPIP::h::hislip0,4880", "TCPIP::h::hislip0,4881"),
        ("TCPIP::h::inst0", "TCPIP::h::inst1"),
        ("TCPIP0::h", "TCPIP1::h"),
        ("USB::1::2::x::INSTR", "USB::1::2::x::RAW"),
        ("MOCK::dmm", "MOCK::dmm::INSTR"),  // other schemes have no implied class
        ("SIM::Dmm::INSTR", "SIM::dmm::INSTR"),  // other schemes' parts keep their case
        ("TCPIP::[fe80::1%eth0]", "TCPIP::[fe80::1%ETH0]"),  // zones keep their case
    ])
    func differentResourcesDiffer(_ a: String, _ b: String) throws {
        #expect(try ResourceName(parsing: a) != ResourceName(parsing: b))
    }

    // MARK: Messages

    @Test func messagesNameInputPlaceFormAndExample() throws {
        func message(_ text: String) -> String {
            do {
                _ = try ResourceName(parsing: text)
                return "parsed"
            } catch {
                return error.description
            }
        }
        #expect(
            message("TCPIP::10.0.0.5::SOCKET")
                == "TCPIP::10.0.0.5::SOCKET: a SOCKET resource needs a port: TCPIP[board]::host::port::SOCKET, "
                + "e.g. TCPIP0::10.0.0.5::5025::SOCKET")
        #expect(
            message("TCPIP::h::70000::SOCKET")
                == "TCPIP::h::70000::SOCKET: at column 11: port '70000' is out of range 1...65535: "
                + "TCPIP[board]::host::port::SOCKET, e.g. TCPIP0::10.0.0.5::5025::SOCKET")
        #expect(
            message("dmm")
                == "dmm: not a VISA resource string; station files map role names to resources, and aliases are not "
                + "supported here: INTERFACE[board]::address[::RESOURCE CLASS], e.g. TCPIP0::10.0.0.5::inst0::INSTR")
        #expect(
            message("TCPIP::fe80::1%eth0::INSTR")
                == "TCPIP::fe80::1%eth0::INSTR: at column 8: IPv6 address 'fe80::1%eth0' must be in brackets, or its "
                + "'::' splits it into parts: TCPIP[board]::host[::LAN device name][::INSTR], "
                + "e.g. TCPIP0::[fe80::1%eth0]::INSTR")
        // Columns count the untrimmed input; invisible characters are escaped; spaces quoted.
        #expect(message("  GPIB0::31").hasPrefix("\"  GPIB0::31\": at column 10: primary address '31'"))
        #expect(
            message("TCPIP::h\u{7}::INSTR").hasPrefix("TCPIP::h\\u{7}::INSTR: at column 9: invisible character U+7"))
        #expect(message("").hasPrefix("\"\": empty resource string"))
        #expect(message("ASRL1:").hasPrefix("\"ASRL1:\": at column 6: part 'ASRL1:' ends with ':'"))
        // A huge input is cut in the message.
        let huge = "TCPIP::h::" + String(repeating: "9", count: 900) + "::SOCKET"
        #expect(message(huge).count < 400)
    }

    @Test func whitespaceIsTrimmedAroundAndRejectedInside() throws {
        #expect(try ResourceName(parsing: "\n\t TCPIP::h \r\n").canonical == "TCPIP0::h::inst0::INSTR")
        #expect(try ResourceName(parsing: "\u{A0}ASRL1\u{2028}").canonical == "ASRL1::INSTR")
        for inside in ["TCPIP::h ::INSTR", "TCPIP::h::5025 ::SOCKET", "USB::1::2::S N", "SIM::a\tb", "ASRL/dev/tty S0"]
        {
            let error = #expect(throws: ResourceNameError.self) { try ResourceName(parsing: inside) }
            #expect(error?.kind == .invalidCharacter)
        }
    }

    // MARK: Robustness

    @Test(arguments: [
        "", " ", "::", ":::", "::::", ":", "[", "]", "[[", "]]", "[]", "[::]", "[::1]", "::INSTR", "INSTR", "0",
        "TCPIP::", "TCPIP::::", "TCPIP::[", "TCPIP::]", "TCPIP::[::1", "TCPIP::[[::1]]::INSTR", "TCPIP::h::[]::INSTR",
        "USB::[::]::1::2", "ASRL[", "ASRL]", "ASRL[]::INSTR", "GPIB::99999999999999999999999999999999999",
        "USB::0x99999999999999999999999999::1::x", "TCPIP::h::hislip99999999999999999999,1", "🙂", "🙂::🙂",
        "TCPIP::🙂::INSTR", "SIM::🙂::INSTR", "\u{301}::\u{301}", "TCPIP:\u{301}:h", "ＴＣＰＩＰ::h", "\u{10FFFF}::x",
        "TCPIP::h::\u{301}", "TCPIP::[fe80::1%eth0\u{301}]", "USB::0x\u{661}::1::x", "TCPIP::h::5025::SOCKET::",
        "TCPIP::[fe80::1]]::INSTR", "TCPIP::[[fe80::1]::INSTR", String(repeating: ":", count: 5000),
        String(repeating: "[", count: 1024), String(repeating: "a::", count: 341),
    ])
    func oddInputsNeverCrash(_ text: String) {
        check(text)
    }

    /// 20,000 random and mutated strings: each parses (and then round-trips through its
    /// canonical form) or throws with a non-empty message.
    @Test func fuzz() {
        var random = SplitMix64(seed: 0x5EED_1AB1_04CE)
        let seeds = Self.valid.map(\.input) + Self.invalid.map(\.input).filter { $0.unicodeScalars.count < 200 }
        let tokens = [
            "TCPIP", "tcpip0", "USB", "usb1", "ASRL", "asrl", "GPIB", "VICP", "SIM", "MOCK", "PRLGX-TCPIP", "INSTR",
            "instr", "SOCKET", "RAW", "INTFC", "MEMACC", "hislip0", "HISLIP1,4880", "inst0", "gpib0,5", "usb0[",
            "0x1AB1",
            "0X04ce", "6833", "0x", "5025", "70000", "65535", "99999999999999999999999", "0", "30", "96", "126", "[",
            "]", "[::1]", "[fe80::1%eth0]", "fe80", "::", "::", "::", ":", ",", "%", "/dev/ttyUSB0", "10.0.0.5",
            "256.1.1.1", "h", "é", "名", "🙂", "\u{0}", "\u{301}", " ", "\t", "\n", "\u{FEFF}", "ı", "ſ", "-", "_", ".",
            "COM3", "dmm", "", "ffff", "1.2.3.4", "::ffff:", "%25",
        ]
        var failures: [String] = []
        var parsed = 0
        for round in 0..<20_000 {
            var text: String
            if round % 2 == 0 {
                text = seeds[Int(random.next() % UInt64(seeds.count))]
                for _ in 0..<(1 + random.next() % 4) { text = mutate(text, tokens, &random) }
            } else {
                text = (0..<(1 + random.next() % 8)).map { _ in tokens[Int(random.next() % UInt64(tokens.count))] }
                    .joined(separator: random.next() % 3 == 0 ? "" : "::")
            }
            if let problem = check(text, record: false) { failures.append(problem) }
            if (try? ResourceName(parsing: text)) != nil { parsed += 1 }
        }
        #expect(failures.isEmpty, "\(failures.prefix(10))")
        // Both outcomes are exercised.
        #expect(parsed > 1000 && parsed < 19_000, "\(parsed) of 20000 parsed")
    }

    /// Parses `text`: a success must round-trip through its canonical form, a failure must
    /// explain itself. Returns the problem, or records it as a test issue.
    @discardableResult
    func check(_ text: String, record: Bool = true) -> String? {
        var problem: String?
        do {
            let name = try ResourceName(parsing: text)
            do {
                let again = try ResourceName(parsing: name.canonical)
                if again != name || again.canonical != name.canonical || again.interface != name.interface
                    || again.board != name.board || again.resourceClass != name.resourceClass
                {
                    problem = "\(text.debugDescription): canonical \(name.canonical) parses to \(again.canonical)"
                }
            } catch {
                problem = "\(text.debugDescription): canonical \(name.canonical) does not parse: \(error)"
            }
        } catch {
            if error.description.isEmpty || error.problem.isEmpty || error.input != text {
                problem = "\(text.debugDescription): bad error \(error)"
            } else if let offset = error.offset, !(0...text.unicodeScalars.count).contains(offset) {
                problem = "\(text.debugDescription): offset \(offset) outside the input"
            }
        }
        if record, let problem { Issue.record(Comment(rawValue: problem)) }
        return problem
    }

    fileprivate func mutate(_ text: String, _ tokens: [String], _ random: inout SplitMix64) -> String {
        var scalars = Array(text.unicodeScalars)
        let at = scalars.isEmpty ? 0 : Int(random.next() % UInt64(scalars.count + 1))
        switch random.next() % 7 {
        case 0:  // insert a token
            scalars.insert(contentsOf: tokens[Int(random.next() % UInt64(tokens.count))].unicodeScalars, at: at)
        case 1:  // delete a run
            let length = Int(random.next() % 4)
            scalars.removeSubrange(at..<min(scalars.count, at + length))
        case 2:  // replace one scalar with a random one, ASCII mostly
            if at < scalars.count {
                let value = random.next() % 5 == 0 ? UInt32(random.next() % 0x2FFFF) : UInt32(32 + random.next() % 95)
                scalars[at] = Unicode.Scalar(value) ?? "?"
            }
        case 3:  // truncate
            scalars.removeSubrange(at...)
        case 4:  // flip ASCII case of everything
            scalars = scalars.map { scalar in
                guard scalar.isASCII, let flipped = Unicode.Scalar(scalar.value ^ 0x20),
                    (65...90).contains(scalar.value) || (97...122).contains(scalar.value)
                else { return scalar }
                return flipped
            }
        case 5:  // duplicate the string around "::"
            scalars += "::".unicodeScalars + scalars
        default:  // a huge number
            scalars.insert(contentsOf: String(repeating: "9", count: 30).unicodeScalars, at: at)
        }
        var out = ""
        out.unicodeScalars.append(contentsOf: scalars)
        return out
    }
}
