/// Where a measurement was taken, resolved from configuration alone (the fixture, the part and
/// the station), never from driver internals: the harness stamps it on every measurement.
///
/// Convention: `dutPin` is the part's pin **key** (`VOUT`), the name tests and fixtures use;
/// the board designator (`J1.3`) is recorded beside it as `pinDesignator`.
public struct TraceLocation: Sendable, Equatable {
    /// The part pin key (`VOUT`).
    public var dutPin: String?
    /// The pin's designator on the board (`J1.3`).
    public var pinDesignator: String?
    public var net: String?
    /// The fixture connection's name.
    public var connection: String
    /// The station role.
    public var role: String
    /// The instrument channel; the harness passes it to channel parameters.
    public var channel: String?
    public var terminal: String?
    /// The canonical resource string of the role (`MOCK::<role>` for a mock-only role).
    public var resource: String
    /// Whether the role is mocked.
    public var mocked: Bool
    public var siteIndex: Int
    public var siteName: String?
    /// Switch channels to close before measuring, and the settling time.
    public var route: SwitchRoute?
}

/// Why a pin or connection does not resolve: names what exists.
public struct TraceError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension StationConfiguration {
    /// The connection of fixture site `site` called `connection`, traced.
    public func trace(connection name: String, site: Int = 0) throws(TraceError) -> TraceLocation {
        let s = try fixtureSite(site)
        guard let c = s.connection(name) else {
            let names = s.connections.map(\.name)
            let hint = Suggest.closest(to: name, in: names).map { " Did you mean '\($0)'?" } ?? ""
            throw TraceError(message: "fixture \(fixture!.id) has no connection '\(name)'\(siteText(s)).\(hint) Connections: \(names.joined(separator: ", "))")
        }
        return try trace(c, site: s)
    }

    /// The connection to DUT pin `pin` (a part pin key) at fixture site `site`. When several
    /// connections touch the pin, `function` (`dc_voltage`) picks the one made for it.
    public func trace(pin: String, function: String? = nil, site: Int = 0) throws(TraceError) -> TraceLocation {
        let s = try fixtureSite(site)
        var candidates = s.connections(toPin: pin)
        if candidates.isEmpty, let part, let byKey = part.pin(pin), let net = byKey.net {
            candidates = s.connections.filter { $0.pin == nil && $0.net == net }
        }
        if candidates.isEmpty {
            let pins = Array(Set(s.connections.compactMap(\.pin))).sorted()
            let designatorHint = part?.pin(designator: pin).map { " '\(pin)' is the designator of pin \($0.key); name pins by key." } ?? ""
            throw TraceError(message: "no fixture connection touches pin '\(pin)'\(siteText(s)).\(designatorHint) Pins wired: \(pins.joined(separator: ", "))")
        }
        if candidates.count > 1 {
            if let function {
                let exact = candidates.filter { $0.function == function }
                if exact.count == 1 { return try trace(exact[0], site: s) }
                let neutral = candidates.filter { $0.function == nil }
                if exact.isEmpty && neutral.count == 1 { return try trace(neutral[0], site: s) }
            }
            throw TraceError(
                message: "pin '\(pin)' has \(candidates.count) connections\(siteText(s)) (\(candidates.map { "\($0.name) [\($0.function ?? "no function")]" }.joined(separator: ", "))); "
                    + "name the connection, or pass the function that picks one")
        }
        return try trace(candidates[0], site: s)
    }

    private func fixtureSite(_ index: Int) throws(TraceError) -> FixtureSite {
        guard let fixture else { throw TraceError(message: "no fixture is loaded: pins and connections cannot be traced; load one with --fixture or `fixture:` in the station") }
        guard let s = fixture.site(index) else {
            throw TraceError(message: "fixture \(fixture.id) has \(fixture.sites.count) site\(fixture.sites.count == 1 ? "" : "s"); there is no site \(index)")
        }
        return s
    }

    private func siteText(_ s: FixtureSite) -> String {
        (fixture?.sites.count ?? 1) > 1 ? " at site \(s.index)\(s.name.map { " (\($0))" } ?? "")" : ""
    }

    private func trace(_ c: FixtureConnection, site: FixtureSite) throws(TraceError) -> TraceLocation {
        guard let r = role(c.role) else {
            throw TraceError(message: "connection '\(c.name)' uses role '\(c.role)', which is not an open role of station \(station.id)")
        }
        let pin = c.pin.flatMap { part?.pin($0) }
        return TraceLocation(
            dutPin: c.pin, pinDesignator: pin?.designator, net: c.net ?? pin?.net, connection: c.name, role: c.role,
            channel: c.channel, terminal: c.terminal, resource: r.canonicalResource, mocked: r.mocked, siteIndex: site.index,
            siteName: site.name, route: c.route)
    }
}
