import CLibUSB
import LitmusDriverKit
import LitmusUSBTMCProtocol

/// The USBTMC interface of one device, found by vendor id, product id and serial number,
/// opened and claimed (the kernel's usbtmc driver detached first when it is bound). Releasing
/// it gives the interface back and re-attaches the kernel driver.
final class ClaimedInterface {
    let handle: OpaquePointer
    let summary: USBDeviceSummary
    let interface: USBInterfaceSummary
    let layout: USBTMCInterfaceLayout
    /// Whether the kernel driver was detached here (and must be re-attached on release).
    let detachedKernelDriver: Bool
    private var released = false

    /// Finds and claims the interface `resource` names.
    ///
    /// - Throws: `notFound` naming the ids and serial (and the serials of near misses),
    ///   `access` with a udev rule when the device node is not accessible, `busy` when another
    ///   program holds the interface.
    init(resource: USBTMCResource, detachKernelDriver: Bool, log: (String) -> Void) throws {
        let ctx = try LibUSB.context()
        let found = try ClaimedInterface.find(resource, ctx: ctx)
        let handle = found.handle
        var summary = found.summary
        let interface: USBInterfaceSummary
        let layout: USBTMCInterfaceLayout
        do {
            interface = try summary.selectInterface(for: resource)
            layout = try interface.layout()
        } catch let error as USBTMCError {
            libusb_close(handle)
            throw DriverFailure.notFound(error.message)
        }
        if interface.number != resource.interfaceNumber {
            log("resource names interface \(resource.interfaceNumber); the device's USBTMC interface is \(interface.number): using it")
        }
        let number = Int32(interface.number)
        var detached = false
        let active = libusb_kernel_driver_active(handle, number)
        if active == 1 {
            guard detachKernelDriver else {
                libusb_close(handle)
                throw DriverFailure.busy(
                    "the kernel's usbtmc driver is bound to interface \(number) of \(resource.identity) and "
                        + "detach_kernel_driver is false; allow the detach, or use the kernel driver (/dev/usbtmc*) instead")
            }
            let rc = libusb_detach_kernel_driver(handle, number)
            if rc == 0 {
                detached = true
                log("detached the kernel driver from interface \(number)")
            } else if rc != LIBUSB_ERROR_NOT_FOUND.rawValue {
                libusb_close(handle)
                if rc == LIBUSB_ERROR_ACCESS.rawValue {
                    throw DriverFailure.access(
                        "cannot detach the kernel usbtmc driver from \(resource.identity): permission denied; "
                            + LibUSB.udevHint(vendorID: resource.vendorID, productID: resource.productID), vendorCode: rc)
                }
                throw DriverFailure(
                    status: DriverFailure.busy("").status, vendorCode: rc,
                    "cannot detach the kernel driver from interface \(number) of \(resource.identity): \(LibUSB.errorText(rc)); "
                        + "unload it (`sudo modprobe -r usbtmc`) or blacklist it")
            }
        }
        let claim = libusb_claim_interface(handle, number)
        if claim != 0 {
            if detached { libusb_attach_kernel_driver(handle, number) }
            libusb_close(handle)
            switch claim {
            case LIBUSB_ERROR_BUSY.rawValue:
                throw DriverFailure(
                    status: DriverFailure.busy("").status, vendorCode: claim,
                    "interface \(number) of \(resource.identity) is claimed by another program (another VISA library, "
                        + "a second Litmus session, or a kernel driver); close it and retry")
            case LIBUSB_ERROR_ACCESS.rawValue:
                throw DriverFailure.access(
                    "permission denied claiming interface \(number) of \(resource.identity); "
                        + LibUSB.udevHint(vendorID: resource.vendorID, productID: resource.productID), vendorCode: claim)
            case LIBUSB_ERROR_NO_DEVICE.rawValue:
                throw DriverFailure.notFound("\(resource.identity) disconnected while opening it; reconnect it and retry")
            default:
                throw DriverFailure.io(
                    "cannot claim interface \(number) of \(resource.identity): \(LibUSB.errorText(claim))", vendorCode: claim)
            }
        }
        if interface.alternateSetting != 0 {
            let rc = libusb_set_interface_alt_setting(handle, number, Int32(interface.alternateSetting))
            if rc != 0 {
                log("cannot select alternate setting \(interface.alternateSetting) of interface \(number): \(LibUSB.errorText(rc))")
            }
        }
        summary.serialNumber = summary.serialNumber ?? resource.serialNumber
        self.handle = handle
        self.summary = summary
        self.interface = interface
        self.layout = layout
        self.detachedKernelDriver = detached
    }

    /// Releases the interface, re-attaches the kernel driver if it was detached, closes the handle.
    func release() {
        guard !released else { return }
        released = true
        let number = Int32(interface.number)
        libusb_release_interface(handle, number)
        if detachedKernelDriver { libusb_attach_kernel_driver(handle, number) }
        libusb_close(handle)
    }

    deinit { release() }

    /// The open handle of the device `resource` names, and what enumeration learnt about it.
    private static func find(_ resource: USBTMCResource, ctx: OpaquePointer) throws -> (
        handle: OpaquePointer, summary: USBDeviceSummary
    ) {
        try LibUSB.withDevices(ctx) { devices in
            var deviceCount = 0
            var otherSerials: [String] = []
            var denied: [(bus: Int, address: Int, serial: String?)] = []
            var openFailures: [String] = []
            var usbtmcElsewhere: [String] = []
            for device in devices {
                guard let desc = LibUSB.deviceDescriptor(device) else { continue }
                deviceCount += 1
                let bus = Int(libusb_get_bus_number(device)), address = Int(libusb_get_device_address(device))
                guard desc.idVendor == resource.vendorID && desc.idProduct == resource.productID else {
                    if LibUSB.interfaces(device).contains(where: \.isUSBTMC) {
                        usbtmcElsewhere.append(String(format: "0x%04X:0x%04X", desc.idVendor, desc.idProduct))
                    }
                    continue
                }
                var handle: OpaquePointer?
                let rc = libusb_open(device, &handle)
                guard rc == 0, let handle else {
                    let serial = LibUSB.sysfsSerial(device)
                    if rc == LIBUSB_ERROR_ACCESS.rawValue {
                        denied.append((bus, address, serial))
                    } else {
                        openFailures.append("bus \(bus) address \(address): \(LibUSB.errorText(rc))")
                    }
                    continue
                }
                let serial = LibUSB.string(handle, index: desc.iSerialNumber)
                guard let serial, resource.matchesSerial(serial) else {
                    otherSerials.append(serial ?? "(no serial number)")
                    libusb_close(handle)
                    continue
                }
                let summary = USBDeviceSummary(
                    bus: bus, address: address, vendorID: desc.idVendor, productID: desc.idProduct, serialNumber: serial,
                    manufacturer: LibUSB.string(handle, index: desc.iManufacturer),
                    product: LibUSB.string(handle, index: desc.iProduct), interfaces: LibUSB.interfaces(device))
                return (handle, summary)
            }
            let ids = String(format: "0x%04X:0x%04X", resource.vendorID, resource.productID)
            let lsusb = String(format: "lsusb -d %04x:%04x", resource.vendorID, resource.productID)
            if let match = denied.first(where: { $0.serial.map(resource.matchesSerial) ?? false }) ?? denied.first {
                let which =
                    match.serial.map { "\(ids) serial \($0)" } ?? "\(ids) (serial number unreadable without permission)"
                throw DriverFailure.access(
                    "found \(which) on bus \(match.bus) address \(match.address), but cannot open it: permission denied on "
                        + String(format: "/dev/bus/usb/%03d/%03d; ", match.bus, match.address)
                        + LibUSB.udevHint(vendorID: resource.vendorID, productID: resource.productID),
                    vendorCode: Int32(LIBUSB_ERROR_ACCESS.rawValue))
            }
            var text = "no USB device \(ids) with serial number \(resource.serialNumber) is connected"
            if !otherSerials.isEmpty {
                text += "; connected \(ids) device(s) have serial number(s) \(otherSerials.joined(separator: ", "))"
            } else if !openFailures.isEmpty {
                text += "; \(ids) device(s) could not be opened: \(openFailures.joined(separator: "; "))"
            } else if deviceCount == 0 {
                text += " (libusb sees no USB device at all on this machine: no USB bus, or no access to /dev/bus/usb)"
            } else {
                text += " (libusb sees \(deviceCount) USB device(s), none with these ids"
                    + (usbtmcElsewhere.isEmpty ? "" : "; USBTMC devices present: \(usbtmcElsewhere.joined(separator: ", "))") + ")"
            }
            text += ". Check the cable and power, that the instrument's USB port is in USBTMC mode, and `\(lsusb)`"
            throw DriverFailure.notFound(text)
        }
    }
}
