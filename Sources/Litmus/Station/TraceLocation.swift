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
    /// What the configuration could not decide although the connection is known: a net-only
    /// connection on a net that several part pins share leaves ``dutPin`` empty and says so
    /// here. The harness records each note as a run diagnostic.
    public var notes: [String] = []
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
    ///
    /// - Throws: ``TraceError`` when no connection touches the pin, or several do and
    ///   `function` picks none (the message names them and how to name one).
    public func trace(pin: String, function: String? = nil, site: Int = 0) throws(TraceError) -> TraceLocation {
        let s = try fixtureSite(site)
        let candidates = connections(toPin: pin, at: s)
        if candidates.isEmpty {
            let pins = Array(Set(s.connections.compactMap(\.pin))).sorted()
            let designatorHint = part?.pin(designator: pin).map { " '\(pin)' is the designator of pin \($0.key); name pins by key." } ?? ""
            throw TraceError(message: "no fixture connection touches pin '\(pin)'\(siteText(s)).\(designatorHint) Pins wired: \(pins.joined(separator: ", "))")
        }
        return try pick(candidates, on: "pin '\(pin)'", function: function, site: s)
    }

    /// The connection to schematic net `net` at fixture site `site`: a connection written with
    /// that `net:`, or one to a part pin on that net. Its `dutPin` is the connection's pin, else
    /// the part pin on the net when there is exactly one (several: left empty, with a note).
    ///
    /// - Throws: ``TraceError`` when no connection reaches the net, or several do and
    ///   `function` picks none.
    public func trace(net: String, function: String? = nil, site: Int = 0) throws(TraceError) -> TraceLocation {
        let s = try fixtureSite(site)
        let candidates = connections(toNet: net, at: s)
        if candidates.isEmpty {
            let pins = part?.pins(onNet: net).map(\.key) ?? []
            let nets = Array(Set(s.connections.compactMap { $0.net ?? $0.pin.flatMap { part?.pin($0)?.net } })).sorted()
            throw TraceError(
                message: "no fixture connection reaches net '\(net)'\(siteText(s))"
                    + (pins.isEmpty ? " (no pin of the part is on it)" : " (part pins on it: \(pins.joined(separator: ", ")))")
                    + ". Nets wired: \(nets.isEmpty ? "none" : nets.joined(separator: ", "))")
        }
        return try pick(candidates, on: "net '\(net)'", function: function, site: s)
    }

    /// How a measurement of `characteristic` is traced at `site`: through its first pin, else
    /// its net, with its `function` picking among several connections. Nil when it names
    /// neither. The harness and `station check` both trace this way.
    public func trace(_ characteristic: Characteristic, site: Int = 0) throws(TraceError) -> TraceLocation? {
        if let pin = characteristic.pins.first { return try trace(pin: pin, function: characteristic.function, site: site) }
        if let net = characteristic.net { return try trace(net: net, function: characteristic.function, site: site) }
        return nil
    }

    /// The connections ``trace(_:site:)`` chooses among for `characteristic` at site `s`.
    func connections(for characteristic: Characteristic, at s: FixtureSite) -> [FixtureConnection] {
        if let pin = characteristic.pins.first { return connections(toPin: pin, at: s) }
        if let net = characteristic.net { return connections(toNet: net, at: s) }
        return []
    }

    /// The connections to part pin `pin`, else (none) the net-only ones on the pin's net.
    private func connections(toPin pin: String, at s: FixtureSite) -> [FixtureConnection] {
        let direct = s.connections(toPin: pin)
        guard direct.isEmpty, let net = part?.pin(pin)?.net else { return direct }
        return s.connections.filter { $0.pin == nil && $0.net == net }
    }

    /// The connections written with net `net` or to a part pin on it.
    private func connections(toNet net: String, at s: FixtureSite) -> [FixtureConnection] {
        s.connections.filter { c in c.net == net || c.pin.flatMap { part?.pin($0)?.net } == net }
    }

    /// The one connection among `candidates` (all touching `what`), by `function` when several.
    private func pick(
        _ candidates: [FixtureConnection], on what: String, function: String?, site s: FixtureSite
    ) throws(TraceError) -> TraceLocation {
        if candidates.count > 1 {
            if let function {
                let exact = candidates.filter { $0.function == function }
                if exact.count == 1 { return try trace(exact[0], site: s) }
                let neutral = candidates.filter { $0.function == nil }
                if exact.isEmpty && neutral.count == 1 { return try trace(neutral[0], site: s) }
            }
            let listed = candidates.map { "\($0.name) [\($0.function ?? "no function")]" }.joined(separator: ", ")
            throw TraceError(
                message: "\(what) has \(candidates.count) connections\(siteText(s)) (\(listed)) and "
                    + (function.map { "function \($0) picks none" } ?? "no function picks one")
                    + ", so a measurement there records no instrument. Fix: name the connection (`connection: \"\(candidates[0].name)\"` "
                    + "in measure/verify, or `.litmusConnections([\"\(candidates[0].name)\"])`), or give the connections "
                    + "distinct `function:` values and the characteristic the matching `function:`")
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
        var pin = c.pin.flatMap { part?.pin($0) }
        var notes: [String] = []
        if c.pin == nil, let net = c.net, let part {
            // A connection written by net: the part pin on that net, when there is one.
            let onNet = part.pins(onNet: net)
            if onNet.count == 1 {
                pin = onNet[0]
            } else if onNet.count > 1 {
                notes.append(
                    "connection '\(c.name)' reaches net '\(net)', which part \(part.id) has on \(onNet.count) pins "
                        + "(\(onNet.map(\.key).joined(separator: ", "))), so no DUT pin is recorded. Fix: give the connection "
                        + "`pin:` (the pin it touches), or measure with `pin:`")
            }
        }
        var location = TraceLocation(
            dutPin: c.pin ?? pin?.key, pinDesignator: pin?.designator, net: c.net ?? pin?.net, connection: c.name, role: c.role,
            channel: c.channel, terminal: c.terminal, resource: r.canonicalResource, mocked: r.mocked, siteIndex: site.index,
            siteName: site.name, route: c.route)
        location.notes = notes
        return location
    }
}
