/// What a per-class check sees of one driver under check.
public struct ClassCheckContext {
    /// The driver under check.
    public let driver: DriverInfo
    /// Its open session (the self-test resource or `--resource`), with a profile's
    /// operations when one was given. Calls must respect ``mode``.
    public let instrument: Instrument
    /// The instrument profile given with `--profile`, if any.
    public let profile: InstrumentProfile?
    /// How far the check may change the instrument.
    public let mode: ConformanceCheck.Options.Mode

    /// The instrument classes declared: the driver's `instrument_types` and the profile's.
    public var declaredClasses: [String] {
        var seen: [String] = []
        for t in driver.instrumentTypes + (profile?.instrumentTypes ?? []) where !seen.contains(t) { seen.append(t) }
        return seen
    }
}

extension ConformanceCheck {
    /// The one place per-class checks plug in: for each class the driver (or its profile)
    /// declares, check its operations against the class's standard operation set. Called by
    /// every `drivers check` run once the driver's own operations were exercised, before the
    /// error paths. Add items with `run.add(name, outcome, detail)` or `run.record(name) { ... }`.
    static func checkClasses(_ context: ClassCheckContext, _ run: Run) {
        _ = context.declaredClasses
    }
}
