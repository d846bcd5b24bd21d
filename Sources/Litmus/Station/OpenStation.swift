import Foundation

/// A station whose roles are open: the instruments by role, what was found while opening
/// them (identity, calibration), and the inventory a run records.
///
/// Close it when done (``close()``): roles close in reverse order and their resource locks are
/// released. A role that fails to open closes every role opened before it.
public final class OpenStation: @unchecked Sendable {
    public let configuration: StationConfiguration
    /// One entry per role, in opening order.
    public let roles: [OpenRole]
    /// Warnings found while opening (identity mismatches, calibration due), located in the
    /// station file.
    public let report: ConfigReport

    private let lock = NSLock()
    private var closed = false

    /// An opened role.
    public struct OpenRole: Sendable {
        public let role: String
        public let instrument: Instrument
        public let resolved: ResolvedInstrument
        /// The identity read from the instrument (`*IDN?` or its identify operation); for a
        /// mock, the identity it was given.
        public let identity: InstrumentIdentity?
        public let calibration: Calibration.Status
        let lease: ResourceLease?
    }

    /// Options for ``StationConfiguration/open(_:)``.
    public struct Options: Sendable {
        /// Identity mismatches and expired or due calibration fail the open instead of warning.
        public var strict: Bool
        /// Cross-process resource locks; nil to take none.
        public var locks: ResourceLocks?
        /// The station id, role and process recorded in a lock; how long to wait for a busy one
        /// (0: fail at once).
        public var lockTimeout: Double
        /// Query identities and compare them with the station file.
        public var identify: Bool
        /// The date calibration is judged against.
        public var today: ConfigDate

        public init(strict: Bool = false, locks: ResourceLocks? = nil, lockTimeout: Double = 0, identify: Bool = true, today: ConfigDate = .today()) {
            self.strict = strict
            self.locks = locks
            self.lockTimeout = lockTimeout
            self.identify = identify
            self.today = today
        }
    }

    init(configuration: StationConfiguration, roles: [OpenRole], report: ConfigReport) {
        self.configuration = configuration
        self.roles = roles
        self.report = report
    }

    deinit { close() }

    /// The instrument of `role`.
    ///
    /// - Throws: ``DriverError`` (`.notFound`) naming the roles that exist.
    public func instrument(_ role: String) throws -> Instrument {
        if let r = roles.first(where: { $0.role == role }) { return r.instrument }
        let names = roles.map(\.role)
        let hint = Suggest.closest(to: role, in: names).map { " Did you mean '\($0)'?" } ?? ""
        throw DriverError(
            .notFound, "station \(configuration.station.id) has no role '\(role)'.\(hint) Roles: \(names.joined(separator: ", "))",
            context: "station \(configuration.station.id)")
    }

    /// Whether any role is mocked. A run on such a bench cannot claim to be production.
    public var anyMocked: Bool { roles.contains { $0.resolved.mocked } }

    /// The roles that are mocked, in the station's order.
    public var mockedRoles: [String] { roles.filter(\.resolved.mocked).map(\.role) }

    /// The test phase a run may record: `requested`, except that `production` becomes
    /// `development` when any role is mocked (every other phase is kept).
    /// ``RunIdentity/apply(_:)`` records the demotion and ``TestRunLogger`` warns about it.
    public func effectivePhase(_ requested: String) -> String {
        anyMocked && requested.lowercased() == "production" ? "development" : requested
    }

    /// The run's instrument inventory: one record per role, with mocking, identity and
    /// calibration, ready to emit as events.
    public var inventory: [InstrumentConnected] {
        roles.map { r in
            let cal = r.resolved.config.calibration
            return InstrumentConnected(
                role: r.role, driver: r.resolved.mocked ? "mock" : (r.resolved.driver?.id ?? "mock"),
                resource: r.resolved.canonicalResource, mocked: r.resolved.mocked,
                manufacturer: r.identity?.manufacturer, model: r.identity?.model, serial: r.identity?.serial,
                firmware: r.identity?.firmware, calibrationDue: cal?.due?.description, calibrationLast: cal?.last?.description,
                calibrationCertificate: cal?.certificate, calibrationLab: cal?.lab)
        }
    }

    /// Closes every role in reverse order and releases their locks. Safe to call twice.
    public func close() {
        let first = lock.withLock {
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        for r in roles.reversed() {
            r.instrument.close()
            r.lease?.release()
        }
    }
}

/// Why a station could not open: the role, where it is configured, and the cause.
public struct StationOpenError: Error, Sendable, CustomStringConvertible {
    public var role: String
    public var location: ConfigLocation
    public var message: String
    /// Warnings and errors found before the failure.
    public var report: ConfigReport

    public var description: String { "\(location.error("role \(role): \(message)"))" }
}

extension StationConfiguration {
    /// Opens every role in the station's order through the plugin registry: mocked roles as
    /// mocks answering the role's operation table from `mock_config`; real roles under their
    /// resource lock, with their profile's `init` commands sent, identity compared with the
    /// station file and calibration judged.
    ///
    /// - Throws: ``StationOpenError`` naming the role and why; every role opened before it is
    ///   closed again and its lock released.
    public func open(_ options: OpenStation.Options = .init()) throws(StationOpenError) -> OpenStation {
        let reader = ConfigReader()
        var opened: [OpenStation.OpenRole] = []
        func fail(_ r: ResolvedInstrument, _ key: String, _ message: String) -> StationOpenError {
            for o in opened.reversed() {
                o.instrument.close()
                o.lease?.release()
            }
            return StationOpenError(
                role: r.role, location: r.config.locations(key, file: station.file), message: message, report: reader.report)
        }
        for r in roles {
            let at = { (key: String) in r.config.locations(key, file: station.file) }
            if r.mocked {
                do {
                    let instrument = try openMock(r)
                    opened.append(
                        .init(
                            role: r.role, instrument: instrument, resolved: r,
                            identity: r.mockIdentity.map { InstrumentIdentity(idn: $0) }, calibration: .unknown, lease: nil))
                } catch {
                    throw fail(r, "mock_config", "cannot open the mock: \(error)")
                }
                continue
            }
            guard let driver = r.driver else { throw fail(r, "driver", "no driver is loaded for this role") }

            var lease: ResourceLease?
            if let locks = options.locks {
                do {
                    lease = try locks.acquire(resource: r.canonicalResource, station: station.id, role: r.role, timeout: options.lockTimeout)
                } catch {
                    throw fail(r, "resource", "\(error)")
                }
            }
            let instrument: Instrument
            do {
                instrument = try registry.open(
                    r.config.resource ?? r.canonicalResource, driver: driver.id, options: r.options, hostOperations: r.hostOperations)
            } catch {
                lease?.release()
                throw fail(r, "resource", "cannot open \(r.canonicalResource) with driver \(driver.id): \(error)")
            }
            func abandon(_ key: String, _ message: String) -> StationOpenError {
                instrument.close()
                lease?.release()
                return fail(r, key, message)
            }
            if let profile = r.profile {
                do { try profile.initialize(instrument) } catch {
                    throw abandon("profile", "profile \(profile.id) could not initialise the instrument: \(error)")
                }
            }

            // Identity.
            var identity: InstrumentIdentity?
            if options.identify {
                do {
                    // The driver's `identify`, or a profile's (a line protocol has no *IDN?).
                    if let op = r.operations.first(where: { $0.name == "identify" }), op.params.allSatisfy(\.isOptional),
                        op.result == .string
                    {
                        identity = InstrumentIdentity(idn: try instrument.call("identify").stringValue ?? "")
                    } else if driver.isMessageBased {
                        identity = try instrument.identify()
                    }
                } catch {
                    if r.config.identity != nil {
                        let message = "could not read the identity to compare with the station file: \(error)"
                        if options.strict { throw abandon("identity", message) }
                        reader.warn(at("identity").error("role \(r.role): \(message)"))
                    }
                }
            }
            if let expected = r.config.identity, let actual = identity {
                let mismatches = IdentityCheck.mismatches(expected: expected, actual: actual)
                if !mismatches.isEmpty {
                    let message = "identity differs from the station file: \(mismatches.joined(separator: "; "))"
                    if options.strict { throw abandon("identity", message) }
                    reader.warn(at("identity").error("role \(r.role): \(message)", fix: "check the right instrument is connected, or update `identity`"))
                }
            }
            if let profile = r.profile, let actual = identity, !profile.matches(identity: actual) {
                reader.warn(at("profile").error("role \(r.role): instrument \(actual) does not match profile \(profile.id)'s identity patterns"))
            }

            // Calibration.
            let status = r.config.calibration?.status(on: options.today) ?? .unknown
            switch status {
            case .expired(let days):
                let message = "calibration expired \(days) day\(days == 1 ? "" : "s") ago (due \(r.config.calibration!.due!))"
                if options.strict { throw abandon("calibration", message) }
                reader.warn(at("calibration").error("role \(r.role): \(message)", fix: "recalibrate the instrument, then update `calibration`"))
            case .dueSoon(let days):
                let message = "calibration is due in \(days) day\(days == 1 ? "" : "s") (\(r.config.calibration!.due!))"
                if options.strict { throw abandon("calibration", message) }
                reader.warn(at("calibration").error("role \(r.role): \(message)", fix: "plan the recalibration"))
            default: break
            }
            opened.append(.init(role: r.role, instrument: instrument, resolved: r, identity: identity, calibration: status, lease: lease))
        }
        return OpenStation(configuration: self, roles: opened, report: reader.report)
    }
}

extension StationConfiguration {
    /// Opens a mocked role: the mock driver standing in for the role's table (driver plus
    /// profile), answering from its mock_config, with the identity the station gives it.
    public func openMock(_ role: ResolvedInstrument) throws -> Instrument {
        try registry.openMock(
            emulating: role.driver, hostOperations: role.hostOperations, name: role.role, config: role.mockConfigJSON,
            identity: role.mockIdentity)
    }
}

extension ResolvedInstrument {
    /// The `*IDN?`-style identity a mock of this role reports: the station's identity fields
    /// (glob characters dropped), else `Litmus,Mock,<role>,1.0`.
    public var mockIdentity: String? {
        config.identity.map {
            [$0.manufacturer ?? "Litmus", $0.model ?? "Mock", $0.serial ?? role, $0.firmware ?? "1.0"]
                .map { $0.replacingOccurrences(of: ",", with: " ").replacingOccurrences(of: "*", with: "") }
                .joined(separator: ",")
        }
    }
}

/// Compares an expected identity (the station file's) with the instrument's.
enum IdentityCheck {
    /// One line per field that differs; fields the station leaves out are not compared. Case
    /// and surrounding spaces are ignored; `*` in the expected text matches any run of
    /// characters (`E36*`) and `?` one character.
    static func mismatches(expected: InstrumentIdentity, actual: InstrumentIdentity) -> [String] {
        var out: [String] = []
        let pairs: [(String, String?, String?)] = [
            ("manufacturer", expected.manufacturer, actual.manufacturer), ("model", expected.model, actual.model),
            ("serial", expected.serial, actual.serial), ("firmware", expected.firmware, actual.firmware),
        ]
        for (field, want, got) in pairs {
            guard let want, !want.isEmpty else { continue }
            if !ProfileGlob.matches(want.trimmingCharacters(in: .whitespaces), (got ?? "").trimmingCharacters(in: .whitespaces)) {
                out.append("\(field) \"\(got ?? "")\", expected \"\(want)\"")
            }
        }
        return out
    }
}
