import ArgumentParser
import Foundation
import Litmus

/// `litmus discover`: asks every loaded driver that can discover which resources it could open
/// now (USB instruments, serial ports, simulated devices...) and lists them.
///
/// Read-only: drivers enumerate, they never open a session. A driver whose discovery fails
/// is reported as a warning and the others are still listed.
struct DiscoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "List the resources the loaded drivers can open now.",
        discussion: """
            Every driver plugin that supports discovery is asked which resources it can open; \
            resources are printed in canonical VISA form. A driver whose discovery fails prints a \
            warning and does not fail the command.

            LAN (VXI-11) instruments are looked for only when asked: --lan <address> sends one \
            UDP datagram (an ONC RPC portmapper GETPORT for the VXI-11 core program) to port 111 of \
            that address, usually a broadcast address such as 255.255.255.255 or 192.168.1.255, and \
            lists every host that answers within a second (LITMUS_LAN_DISCOVER_MS changes the \
            window). It sets LITMUS_LAN_DISCOVER, which the lan driver reads; without it the lan \
            driver sends nothing.

            Open a listed resource with: litmus scpi <resource>
            """)

    @OptionGroup var search: DriversCommand.SearchOptions
    @Option(name: .customLong("driver"), help: "Ask only these drivers (repeatable), e.g. --driver usbtmc.")
    var driverIDs: [String] = []
    @Flag(help: "Print a JSON array of {driver, resource, description} instead of a table.") var json = false
    @Option(
        name: .customLong("lan"),
        help: ArgumentHelp(
            "Also find VXI-11 instruments by sending a UDP broadcast (portmapper GETPORT, port 111) to this IPv4 address, "
                + "e.g. 255.255.255.255 or 192.168.1.255; comma-separate several. Sets LITMUS_LAN_DISCOVER.",
            valueName: "address"))
    var lan: String?

    func run() throws {
        if let lan {
            // The lan driver reads it at discovery; it validates the address and reports problems.
            setenv("LITMUS_LAN_DISCOVER", lan, 1)
        }
        let registry = search.loadRegistry()
        for problem in registry.diagnostics {
            printError("warning: \(problem)")
        }
        var drivers = registry.drivers
        if !driverIDs.isEmpty {
            var chosen: [DriverInfo] = []
            for id in driverIDs {
                do {
                    chosen.append(try registry.driver(id: id))
                } catch {
                    printError("error: \(error)")
                    throw ExitCode.failure
                }
            }
            drivers = chosen
        }
        let capable = drivers.filter { $0.supports.contains(.discover) }
        if !driverIDs.isEmpty {
            for d in drivers where !d.supports.contains(.discover) {
                printError("warning: driver \(d.id) cannot discover resources (its plugin has no discover entry)")
            }
        }

        var found: [DiscoveredResource] = []
        var failed: [String] = []
        for driver in capable {
            do {
                found += try driver.discover().map(Self.canonical)
            } catch {
                failed.append(driver.id)
                printError("warning: driver \(driver.id) could not discover resources: \(error)")
            }
        }

        if json {
            let rows: [[String: String]] = found.map {
                ["driver": $0.driverID, "resource": $0.resource, "description": $0.description]
            }
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if found.isEmpty {
            if capable.isEmpty {
                print("No loaded driver can discover resources. Drivers: \(drivers.map(\.id).joined(separator: ", ").ifEmpty("none"))")
            } else {
                print("No resources found (asked: \(capable.map(\.id).joined(separator: ", "))).")
            }
            return
        }
        print(TextTable.render(
            header: ["DRIVER", "RESOURCE", "DESCRIPTION"],
            rows: found.map { [$0.driverID, $0.resource, $0.description] }))
        if failed.isEmpty, let first = found.first {
            printError("Open one with: litmus scpi \(first.resource)")
        }
    }

    /// The resource in canonical VISA form when it parses as one of the VISA interfaces
    /// (TCPIP, USB, ASRL, GPIB, VICP), else as the driver reported it: other schemes (`SIM::dmm::INSTR`)
    /// reach their driver as written, so that is the form that opens. Descriptions lose line
    /// breaks so a table row stays one line.
    static func canonical(_ found: DiscoveredResource) -> DiscoveredResource {
        var result = found
        if let name = try? ResourceName(parsing: found.resource) {
            if case .other = name.interface {} else { result.resource = name.canonical }
        }
        result.description = found.description.split(whereSeparator: \.isNewline).joined(separator: " ")
        return result
    }
}

extension String {
    /// `replacement` when the string is empty.
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
