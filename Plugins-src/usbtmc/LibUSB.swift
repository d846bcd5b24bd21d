import CLibUSB
import Foundation
import LitmusDriverKit
import LitmusUSBTMCProtocol

/// The plugin's libusb context and its enumeration helpers.
///
/// One context is shared by every session and by discovery (libusb's synchronous API is
/// thread-safe on one context); it is created on first use under a lock and never freed,
/// like the plugin itself.
enum LibUSB {
    private static let lock = NSLock()
    private nonisolated(unsafe) static var shared: OpaquePointer?

    /// The shared context, created on first use.
    static func context() throws -> OpaquePointer {
        try lock.withLock {
            if let shared { return shared }
            var ctx: OpaquePointer?
            let rc = libusb_init(&ctx)
            guard rc == 0, let ctx else {
                throw DriverFailure.io(
                    "cannot start libusb: \(errorText(rc)); USB instruments are unavailable on this machine", vendorCode: rc)
            }
            shared = ctx
            return ctx
        }
    }

    /// `LIBUSB_ERROR_ACCESS (Access denied (insufficient permissions))`.
    static func errorText(_ code: Int32) -> String {
        let name = String(cString: libusb_error_name(code))
        let text = String(cString: libusb_strerror(code))
        return "\(name) (\(text))"
    }

    /// A libusb timeout argument: 0 means forever.
    static func timeout(_ ms: UInt32) -> UInt32 { ms == .max ? 0 : max(1, ms) }

    /// The devices libusb sees, each with a reference the caller must release through
    /// `libusb_free_device_list` (see ``withDevices(_:_:)``).
    static func withDevices<R>(_ ctx: OpaquePointer, _ body: ([OpaquePointer]) throws -> R) throws -> R {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let n = libusb_get_device_list(ctx, &list)
        guard n >= 0, let list else {
            let code = Int32(truncatingIfNeeded: n)
            throw DriverFailure.io("cannot list USB devices: \(errorText(code))", vendorCode: code)
        }
        defer { libusb_free_device_list(list, 1) }
        var devices: [OpaquePointer] = []
        for i in 0..<n {
            if let d = list[i] { devices.append(d) }
        }
        return try body(devices)
    }

    /// The device descriptor, or nil.
    static func deviceDescriptor(_ device: OpaquePointer) -> libusb_device_descriptor? {
        var desc = libusb_device_descriptor()
        return libusb_get_device_descriptor(device, &desc) == 0 ? desc : nil
    }

    /// The interfaces of the device's active configuration (or of its first one when it is
    /// not configured), read from the descriptors libusb caches; no I/O to the device.
    static func interfaces(_ device: OpaquePointer) -> [USBInterfaceSummary] {
        var config: UnsafeMutablePointer<libusb_config_descriptor>?
        if libusb_get_active_config_descriptor(device, &config) != 0 || config == nil {
            config = nil
            if libusb_get_config_descriptor(device, 0, &config) != 0 { return [] }
        }
        guard let config else { return [] }
        defer { libusb_free_config_descriptor(config) }
        var result: [USBInterfaceSummary] = []
        let c = config.pointee
        for i in 0..<Int(c.bNumInterfaces) {
            guard let interfaces = c.interface else { break }
            let interface = interfaces[i]
            for a in 0..<Int(max(0, interface.num_altsetting)) {
                guard let alts = interface.altsetting else { break }
                let alt = alts[a]
                var endpoints: [USBEndpointSummary] = []
                for e in 0..<Int(alt.bNumEndpoints) {
                    guard let eps = alt.endpoint else { break }
                    let ep = eps[e]
                    endpoints.append(
                        USBEndpointSummary(address: ep.bEndpointAddress, attributes: ep.bmAttributes, maxPacketSize: ep.wMaxPacketSize))
                }
                result.append(
                    USBInterfaceSummary(
                        number: alt.bInterfaceNumber, alternateSetting: alt.bAlternateSetting,
                        interfaceClass: alt.bInterfaceClass, interfaceSubclass: alt.bInterfaceSubClass,
                        interfaceProtocol: alt.bInterfaceProtocol, endpoints: endpoints))
            }
        }
        return result
    }

    /// A string descriptor through an open handle, or nil.
    static func string(_ handle: OpaquePointer, index: UInt8) -> String? {
        guard index != 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = libusb_get_string_descriptor_ascii(handle, index, &buffer, Int32(buffer.count))
        guard n >= 0 else { return nil }
        return String(decoding: buffer.prefix(Int(n)), as: UTF8.self)
    }

    /// The serial number from sysfs (`/sys/bus/usb/devices/<bus>-<ports>/serial`), readable
    /// without permission on the device node; nil when unavailable.
    static func sysfsSerial(_ device: OpaquePointer) -> String? {
        var ports = [UInt8](repeating: 0, count: 8)
        let n = libusb_get_port_numbers(device, &ports, Int32(ports.count))
        guard n > 0 else { return nil }
        let bus = libusb_get_bus_number(device)
        let name = "\(bus)-" + ports.prefix(Int(n)).map(String.init).joined(separator: ".")
        guard let data = FileManager.default.contents(atPath: "/sys/bus/usb/devices/\(name)/serial") else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// Summaries of every device with a USBTMC interface, reading strings where the device
    /// can be opened (discovery).
    static func usbtmcDevices() throws -> [USBDeviceSummary] {
        let ctx = try context()
        return try withDevices(ctx) { devices in
            devices.compactMap { device -> USBDeviceSummary? in
                guard let desc = deviceDescriptor(device) else { return nil }
                let interfaces = interfaces(device)
                guard interfaces.contains(where: \.isUSBTMC) else { return nil }
                var summary = USBDeviceSummary(
                    bus: Int(libusb_get_bus_number(device)), address: Int(libusb_get_device_address(device)),
                    vendorID: desc.idVendor, productID: desc.idProduct, interfaces: interfaces)
                var handle: OpaquePointer?
                if libusb_open(device, &handle) == 0, let handle {
                    summary.serialNumber = string(handle, index: desc.iSerialNumber)
                    summary.manufacturer = string(handle, index: desc.iManufacturer)
                    summary.product = string(handle, index: desc.iProduct)
                    libusb_close(handle)
                } else {
                    summary.serialNumber = sysfsSerial(device)
                }
                return summary
            }
        }
    }

    /// The udev rule that gives users access to a vendor's devices.
    static func udevHint(vendorID: UInt16, productID: UInt16) -> String {
        let v = String(format: "%04x", vendorID), p = String(format: "%04x", productID)
        return "add a udev rule such as /etc/udev/rules.d/99-litmus-usbtmc.rules containing "
            + "SUBSYSTEM==\"usb\", ATTR{idVendor}==\"\(v)\", ATTR{idProduct}==\"\(p)\", MODE=\"0666\" "
            + "(or MODE=\"0660\", GROUP=\"plugdev\" with your user in plugdev), then run "
            + "`sudo udevadm control --reload-rules && sudo udevadm trigger` and replug the instrument"
    }
}
