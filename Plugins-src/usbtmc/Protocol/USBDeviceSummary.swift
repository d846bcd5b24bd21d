/// What enumeration learns about one USB device, independent of the USB library: ids,
/// strings and the interfaces of its active configuration. The plugin fills it from libusb;
/// the choice of the USBTMC interface and the resource names are pure functions of it.
public struct USBDeviceSummary: Equatable, Sendable {
    public var bus: Int
    public var address: Int
    public var vendorID: UInt16
    public var productID: UInt16
    /// The serial number string, when it could be read (nil: no serial, or no permission).
    public var serialNumber: String?
    public var manufacturer: String?
    public var product: String?
    public var interfaces: [USBInterfaceSummary]

    public init(
        bus: Int = 1, address: Int = 2, vendorID: UInt16, productID: UInt16, serialNumber: String? = nil,
        manufacturer: String? = nil, product: String? = nil, interfaces: [USBInterfaceSummary]
    ) {
        self.bus = bus
        self.address = address
        self.vendorID = vendorID
        self.productID = productID
        self.serialNumber = serialNumber
        self.manufacturer = manufacturer
        self.product = product
        self.interfaces = interfaces
    }

    /// The USBTMC interfaces (class 0xFE, subclass 3, protocol 0 or 1), first alternate setting of each.
    public var usbtmcInterfaces: [USBInterfaceSummary] {
        var seen = Set<UInt8>()
        return interfaces.filter { $0.isUSBTMC && seen.insert($0.number).inserted }
    }

    /// `0x2A8D:0x1102`.
    public var ids: String { "0x\(hex4(vendorID)):0x\(hex4(productID))" }

    /// Resources for ``USBTMCResource`` discovery: one per USBTMC interface of a device whose
    /// serial number is known.
    public var resources: [USBTMCResource] {
        guard let serial = serialNumber.map(USBTMCResource.normalizedSerialKeepingCase), !serial.isEmpty else { return [] }
        return usbtmcInterfaces.map {
            USBTMCResource(vendorID: vendorID, productID: productID, serialNumber: serial, interfaceNumber: Int($0.number))
        }
    }

    /// "Keysight DSOX1204G (USB488, bus 1 address 2)".
    public var label: String {
        let name = [manufacturer, product].compactMap { $0?.isEmpty == false ? $0 : nil }.joined(separator: " ")
        let kinds = usbtmcInterfaces.map { $0.interfaceProtocol == USBTMCProtocol.protocolUSB488 ? "USB488" : "USBTMC" }
        return (name.isEmpty ? "USB device \(ids)" : name)
            + " (\(Set(kinds).sorted().joined(separator: "/")), bus \(bus) address \(address))"
    }

    /// The USBTMC interface a resource names. The interface number must match, except that
    /// interface 0 (the default of resource strings) also selects the device's only USBTMC
    /// interface when that one has another number (composite devices).
    public func selectInterface(for resource: USBTMCResource) throws -> USBInterfaceSummary {
        let candidates = usbtmcInterfaces
        if let exact = candidates.first(where: { Int($0.number) == resource.interfaceNumber }) { return exact }
        if resource.interfaceNumber == 0 && candidates.count == 1 { return candidates[0] }
        let list = candidates.map { String($0.number) }.joined(separator: ", ")
        var fixed = resource
        fixed.interfaceNumber = Int(candidates.first?.number ?? 0)
        throw USBTMCError(
            .invalidArgument,
            "device \(ids) (bus \(bus) address \(address)) has no USBTMC interface number \(resource.interfaceNumber)"
                + (candidates.isEmpty
                    ? "; it has no USBTMC interface at all (class 0xFE subclass 3): it may need a vendor driver, "
                        + "or a mode switch on its front panel"
                    : "; its USBTMC interface(s): \(list). Use \(fixed.canonical)"))
    }
}

/// One interface (alternate setting) of a device's active configuration.
public struct USBInterfaceSummary: Equatable, Sendable {
    public var number: UInt8
    public var alternateSetting: UInt8
    public var interfaceClass: UInt8
    public var interfaceSubclass: UInt8
    public var interfaceProtocol: UInt8
    public var endpoints: [USBEndpointSummary]

    public init(
        number: UInt8, alternateSetting: UInt8 = 0, interfaceClass: UInt8 = USBTMCProtocol.interfaceClass,
        interfaceSubclass: UInt8 = USBTMCProtocol.interfaceSubclass, interfaceProtocol: UInt8 = USBTMCProtocol.protocolUSB488,
        endpoints: [USBEndpointSummary]
    ) {
        self.number = number
        self.alternateSetting = alternateSetting
        self.interfaceClass = interfaceClass
        self.interfaceSubclass = interfaceSubclass
        self.interfaceProtocol = interfaceProtocol
        self.endpoints = endpoints
    }

    /// Class 0xFE, subclass 3, protocol 0 (USBTMC) or 1 (USB488).
    public var isUSBTMC: Bool {
        interfaceClass == USBTMCProtocol.interfaceClass && interfaceSubclass == USBTMCProtocol.interfaceSubclass
            && interfaceProtocol <= USBTMCProtocol.protocolUSB488
    }

    /// The endpoints as a ``USBTMCInterfaceLayout``: the first bulk-OUT, bulk-IN and
    /// interrupt-IN endpoints. Throws when a bulk endpoint is missing.
    public func layout() throws -> USBTMCInterfaceLayout {
        let bulkOut = endpoints.first { $0.transferType == .bulk && !$0.isIn }
        let bulkIn = endpoints.first { $0.transferType == .bulk && $0.isIn }
        let interrupt = endpoints.first { $0.transferType == .interrupt && $0.isIn }
        guard let bulkOut, let bulkIn else {
            throw USBTMCError(
                .protocolViolation,
                "USBTMC interface \(number) lacks a \(bulkOut == nil ? "Bulk-OUT" : "Bulk-IN") endpoint "
                    + "(endpoints: \(endpoints.map(\.description).joined(separator: ", ")))")
        }
        return USBTMCInterfaceLayout(
            interfaceNumber: number, interfaceProtocol: interfaceProtocol, bulkOutAddress: bulkOut.address,
            bulkInAddress: bulkIn.address, interruptInAddress: interrupt?.address,
            bulkOutMaxPacket: bulkOut.maxPacketSize, bulkInMaxPacket: bulkIn.maxPacketSize,
            interruptInMaxPacket: interrupt?.maxPacketSize ?? 8)
    }
}

/// One endpoint descriptor.
public struct USBEndpointSummary: Equatable, Sendable, CustomStringConvertible {
    public enum TransferType: UInt8, Sendable {
        case control = 0, isochronous = 1, bulk = 2, interrupt = 3
    }

    /// bEndpointAddress: bit 7 set for IN.
    public var address: UInt8
    public var transferType: TransferType
    /// wMaxPacketSize (bits 0-10).
    public var maxPacketSize: Int

    public init(address: UInt8, transferType: TransferType, maxPacketSize: Int) {
        self.address = address
        self.transferType = transferType
        self.maxPacketSize = maxPacketSize
    }

    /// From raw descriptor fields: bmAttributes bits 0-1 give the type.
    public init(address: UInt8, attributes: UInt8, maxPacketSize: UInt16) {
        self.init(
            address: address, transferType: TransferType(rawValue: attributes & 0x03) ?? .bulk,
            maxPacketSize: Int(maxPacketSize & 0x07FF))
    }

    public var isIn: Bool { address & 0x80 != 0 }

    public var description: String {
        "0x\(hex(address)) \(transferType) \(isIn ? "IN" : "OUT") \(maxPacketSize)"
    }
}

extension USBTMCResource {
    /// A serial number trimmed of padding but in its own case (resource strings keep case).
    static func normalizedSerialKeepingCase(_ s: String) -> String {
        var t = Substring(s)
        while let c = t.first, c == " " || c == "\0" || c == "\t" { t.removeFirst() }
        while let c = t.last, c == " " || c == "\0" || c == "\t" { t.removeLast() }
        return String(t)
    }
}
