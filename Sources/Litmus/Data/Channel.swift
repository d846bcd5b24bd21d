#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What one sample of a channel is. Fixed when the channel is declared in a session.
public enum ChannelValueType: String, Sendable, CaseIterable, CustomStringConvertible {
    /// A `Double`.
    case f64
    /// An `Int64`.
    case i64
    /// A `Bool`.
    case bool
    /// A `String`.
    case string
    /// An array of `Double` (a whole trace, a spectrum): one sample is one array.
    case f64Array = "f64[]"
    /// A ``Waveform``: start time, sample interval and the points. One sample is one waveform.
    case waveform

    public var description: String { rawValue }

    /// Whether one sample is one value (f64, i64, bool, string) rather than an array.
    public var isScalar: Bool {
        switch self {
        case .f64, .i64, .bool, .string: true
        case .f64Array, .waveform: false
        }
    }
}

/// A sampled waveform: `samples[i]` was taken at `t0 + i * dt`.
public struct Waveform: Sendable, Equatable {
    /// When the first point was taken.
    public var t0: Timestamp
    /// Seconds between points (finite and greater than zero).
    public var dt: Double
    public var samples: [Double]

    public init(t0: Timestamp, dt: Double, samples: [Double]) {
        self.t0 = t0
        self.dt = dt
        self.samples = samples
    }
}

/// What identifies a channel in a session and what its samples are.
public struct ChannelDescriptor: Sendable, Equatable {
    public var id: String
    public var valueType: ChannelValueType
    public var unit: String?
    /// The instrument role the samples come from, if any.
    public var instrumentRole: String?
    public var sessionID: UUID

    public init(id: String, valueType: ChannelValueType, unit: String?, instrumentRole: String?, sessionID: UUID) {
        self.id = id
        self.valueType = valueType
        self.unit = unit
        self.instrumentRole = instrumentRole
        self.sessionID = sessionID
    }

    /// `f64 in V` / `f64 with no unit`, plus the role, for conflict messages.
    var summary: String {
        var text = valueType.rawValue + (unit.map { " in \($0.debugDescription)" } ?? " with no unit")
        if let instrumentRole { text += " from instrument role \(instrumentRole.debugDescription)" }
        return text
    }

    /// Why `other` cannot be the same channel, or nil when it can: type and unit must be equal;
    /// roles must be equal when both are given.
    func conflict(with other: ChannelDescriptor) -> String? {
        let roleConflict = instrumentRole != nil && other.instrumentRole != nil && instrumentRole != other.instrumentRole
        guard valueType != other.valueType || unit != other.unit || roleConflict else { return nil }
        return "channel \(id.debugDescription) is already declared in session \(sessionID.uuidString.lowercased()) as "
            + "\(summary); it cannot also be \(other.summary) (a channel's type, unit and role are fixed for the session: "
            + "use another channel id)"
    }
}

/// The rules for channel ids: ids name directories and appear in URIs.
enum ChannelID {
    static let maxBytes = 128
    static let rules =
        "a channel id is 1 to \(maxBytes) bytes of UTF-8 text without \"/\", \"\\\", \"..\", NUL or control characters, and is not \".\""

    /// What is wrong with `id`, or nil when it is a valid channel id.
    static func problem(with id: String) -> String? {
        let shown = id.debugDescription
        func bad(_ why: String) -> String { "invalid channel id \(shown): \(why); \(rules)" }
        if id.isEmpty { return bad("it is empty") }
        if id.utf8.count > maxBytes { return bad("it is \(id.utf8.count) bytes long") }
        let bytes = Array(id.utf8)
        if zip(bytes, bytes.dropFirst()).contains(where: { $0 == 0x2E && $1 == 0x2E }) { return bad("it contains \"..\"") }
        if id.utf8.contains(UInt8(ascii: "/")) { return bad("it contains \"/\"") }
        if id.utf8.contains(UInt8(ascii: "\\")) { return bad("it contains \"\\\"") }
        if id == "." { return bad("it is \".\"") }
        for scalar in id.unicodeScalars where scalar.properties.generalCategory == .control {
            return bad(scalar.value == 0 ? "it contains NUL" : "it contains the control character U+\(String(format: "%04X", scalar.value))")
        }
        return nil
    }
}


/// One channel of a ``ChannelStore`` session: appends samples and returns `channel://` URIs.
///
/// Get one with ``ChannelStore/channel(_:type:unit:instrumentRole:)``. Appends are
/// thread-safe (one lock per channel). Each append checks that the value fits the channel's
/// type and throws ``ChannelStoreError/Code-swift.struct/typeMismatch`` when it does not.
///
/// ```swift
/// let vout = try store.channel("psu.vout", type: .f64, unit: "V")
/// let uri = try vout.append(3.301)             // channel://psu.vout?session=…&sample_offset=0
/// try vout.append(contentsOf: readings)        // channel://psu.vout?session=…  (every sample)
/// ```
///
/// - Single appends return a URI pinned to the new sample's `sample_offset`.
/// - Bulk appends (`append(contentsOf:)`) return the channel's unpinned URI: a pinned URI
///   would resolve to one sample only, and there is no URI for a range. To reference a whole
///   array as one value (an `observe(array)`), use an `f64[]` channel and ``appendArray(_:at:)``,
///   whose URI is pinned to the one sample that holds the array.
/// - `at` is the sample's time, stored as `received_at`; it defaults to the time of the call.
///   A bulk append gives all its samples one time.
public final class Channel: @unchecked Sendable {
    public let descriptor: ChannelDescriptor
    public var id: String { descriptor.id }
    public var valueType: ChannelValueType { descriptor.valueType }
    public var unit: String? { descriptor.unit }
    public var instrumentRole: String? { descriptor.instrumentRole }
    public var sessionID: UUID { descriptor.sessionID }
    /// The URI of every sample of the channel in the session.
    public var uri: ChannelURI { ChannelURI(channelID: descriptor.id, sessionID: descriptor.sessionID) }

    let mutex = FastLock()
    /// Guarded by `mutex`.
    let writer: ChannelSegmentWriter
    private let events: (any EventSink)?
    /// Guarded by `mutex`: ChannelStarted was emitted (by this store, or an earlier writer of
    /// the session wrote samples).
    private(set) var started: Bool
    /// Guarded by `mutex`: whether this store wrote samples.
    private(set) var wroteSamples = false
    /// Guarded by `mutex`: appends may go straight to the writer (started, not closed, no failure).
    private var ready = false
    private var closed = false
    /// Guarded by `mutex`: the first write or sync error; the channel takes no more samples.
    private var failure: ChannelStoreError?

    init(writer: ChannelSegmentWriter, events: (any EventSink)?) {
        self.descriptor = writer.descriptor
        self.writer = writer
        self.events = events
        self.started = writer.nextOffset > 0
    }

    /// The number of samples in the channel for the session (the next sample's offset).
    public var sampleCount: Int64 { mutex.withLock { writer.nextOffset } }

    // MARK: f64

    /// Appends one `f64` sample.
    ///
    /// - Returns: the URI of this sample (pinned to its `sample_offset`).
    @discardableResult
    public func append(_ value: Double, at time: Timestamp? = nil) throws -> ChannelURI {
        try expect(.f64, "append(Double)")
        let t = time?.microseconds ?? Timestamp.now().microseconds
        mutex.lock()
        defer { mutex.unlock() }
        if !ready { try prepareToWrite() }
        return pinned(try guarded { try writer.appendScalar(value.bitPattern, time: t) })
    }

    /// Appends many `f64` samples with one time.
    ///
    /// - Returns: the channel's unpinned URI.
    @discardableResult
    public func append(contentsOf values: [Double], at time: Timestamp? = nil) throws -> ChannelURI {
        try values.withUnsafeBufferPointer { try append(contentsOf: $0, at: time) }
    }

    /// Appends many `f64` samples with one time, from memory the caller owns.
    @discardableResult
    public func append(contentsOf values: UnsafeBufferPointer<Double>, at time: Timestamp? = nil) throws -> ChannelURI {
        try expect(.f64, "append(contentsOf: [Double])")
        return try appendBulk(UnsafeRawBufferPointer(values), count: values.count, time: time)
    }

    // MARK: i64

    /// Appends one `i64` sample.
    @discardableResult
    public func append(_ value: Int64, at time: Timestamp? = nil) throws -> ChannelURI {
        try expect(.i64, "append(Int64)")
        let t = time?.microseconds ?? Timestamp.now().microseconds
        mutex.lock()
        defer { mutex.unlock() }
        if !ready { try prepareToWrite() }
        return pinned(try guarded { try writer.appendScalar(UInt64(bitPattern: value), time: t) })
    }

    /// Appends one integer to an `i64` channel, or to an `f64` channel when the `Double` holds
    /// it exactly (so `append(5)` works on either).
    @discardableResult
    public func append(_ value: Int, at time: Timestamp? = nil) throws -> ChannelURI {
        switch valueType {
        case .f64:
            guard let exact = Double(exactly: value) else {
                throw ChannelStoreError(
                    .invalidValue, "\(value) has no exact Double for f64 channel \(id.debugDescription); append a Double")
            }
            return try append(exact, at: time)
        default:
            try expect(.i64, "append(Int)")
            return try append(Int64(value), at: time)
        }
    }

    /// Appends many integers with one time, to an `i64` channel, or to an `f64` channel when
    /// every `Double` holds its integer exactly.
    @discardableResult
    public func append(contentsOf values: [Int], at time: Timestamp? = nil) throws -> ChannelURI {
        switch valueType {
        case .f64:
            var doubles: [Double] = []
            doubles.reserveCapacity(values.count)
            for value in values {
                guard let exact = Double(exactly: value) else {
                    throw ChannelStoreError(
                        .invalidValue, "\(value) has no exact Double for f64 channel \(id.debugDescription); append Doubles")
                }
                doubles.append(exact)
            }
            return try append(contentsOf: doubles, at: time)
        default:
            try expect(.i64, "append(contentsOf: [Int])")
            return try append(contentsOf: values.map { Int64($0) }, at: time)
        }
    }

    /// Appends many `i64` samples with one time.
    @discardableResult
    public func append(contentsOf values: [Int64], at time: Timestamp? = nil) throws -> ChannelURI {
        try expect(.i64, "append(contentsOf: [Int64])")
        return try values.withUnsafeBytes { try appendBulk($0, count: values.count, time: time) }
    }

    // MARK: bool

    /// Appends one `bool` sample.
    @discardableResult
    public func append(_ value: Bool, at time: Timestamp? = nil) throws -> ChannelURI {
        try expect(.bool, "append(Bool)")
        let t = time?.microseconds ?? Timestamp.now().microseconds
        mutex.lock()
        defer { mutex.unlock() }
        if !ready { try prepareToWrite() }
        return pinned(try guarded { try writer.appendScalar(value ? 1 : 0, time: t) })
    }

    /// Appends many `bool` samples with one time.
    @discardableResult
    public func append(contentsOf values: [Bool], at time: Timestamp? = nil) throws -> ChannelURI {
        try expect(.bool, "append(contentsOf: [Bool])")
        // A Bool is one byte, 0 or 1: the record's layout.
        return try values.withUnsafeBytes { try appendBulk($0, count: values.count, time: time) }
    }

    // MARK: string

    /// Appends one `string` sample.
    @discardableResult
    public func append(_ value: String, at time: Timestamp? = nil) throws -> ChannelURI {
        try expect(.string, "append(String)")
        let t = time?.microseconds ?? Timestamp.now().microseconds
        mutex.lock()
        defer { mutex.unlock() }
        if !ready { try prepareToWrite() }
        return pinned(try guarded { try writer.appendString(value, time: t) })
    }

    /// Appends many `string` samples with one time.
    @discardableResult
    public func append(contentsOf values: [String], at time: Timestamp? = nil) throws -> ChannelURI {
        try expect(.string, "append(contentsOf: [String])")
        guard !values.isEmpty else { return uri }
        let t = time?.microseconds ?? Timestamp.now().microseconds
        mutex.lock()
        defer { mutex.unlock() }
        if !ready { try prepareToWrite() }
        _ = try guarded { try writer.appendStrings(values, time: t) }
        return uri
    }

    // MARK: arrays and waveforms

    /// Appends one `f64[]` sample: the whole array is one sample.
    ///
    /// - Returns: the URI of this sample, which resolves to the array.
    @discardableResult
    public func appendArray(_ values: [Double], at time: Timestamp? = nil) throws -> ChannelURI {
        try expect(.f64Array, "appendArray")
        let t = time?.microseconds ?? Timestamp.now().microseconds
        mutex.lock()
        defer { mutex.unlock() }
        if !ready { try prepareToWrite() }
        return pinned(try guarded { try values.withUnsafeBufferPointer { try writer.appendArray($0, time: t) } })
    }

    /// Appends one waveform sample: `samples[i]` was taken at `t0 + i * dt` seconds.
    ///
    /// - Returns: the URI of this sample, which resolves to the waveform.
    /// - Throws: when `dt` is not finite and greater than zero.
    @discardableResult
    public func appendWaveform(t0: Timestamp, dt: Double, samples: [Double], at time: Timestamp? = nil) throws
        -> ChannelURI
    {
        try expect(.waveform, "appendWaveform")
        guard dt.isFinite, dt > 0 else {
            throw ChannelStoreError(
                .invalidValue, "waveform dt must be a finite number of seconds greater than zero, not \(dt) (channel \(id.debugDescription))")
        }
        let t = time?.microseconds ?? Timestamp.now().microseconds
        mutex.lock()
        defer { mutex.unlock() }
        if !ready { try prepareToWrite() }
        return pinned(
            try guarded {
                try samples.withUnsafeBufferPointer { try writer.appendWaveform(t0: t0.microseconds, dt: dt, $0, time: t) }
            })
    }

    /// Appends one waveform sample.
    @discardableResult
    public func append(_ waveform: Waveform, at time: Timestamp? = nil) throws -> ChannelURI {
        try appendWaveform(t0: waveform.t0, dt: waveform.dt, samples: waveform.samples, at: time)
    }

    // MARK: flush

    /// Writes the buffered samples to the segment file and makes them durable (`fdatasync`).
    public func flush() throws {
        mutex.lock()
        defer { mutex.unlock() }
        if let failure { throw failure }
        if closed { return }
        try guarded { try writer.sync() }
    }

    // MARK: internals

    /// Writes the buffered samples to the segment file without a sync (for reading them back).
    func writeBuffered() throws {
        mutex.lock()
        defer { mutex.unlock() }
        if let failure { throw failure }
        if closed { return }
        try guarded { try writer.writeBuffered() }
    }

    @inline(__always)
    private func pinned(_ offset: Int64) -> ChannelURI {
        ChannelURI(channelID: descriptor.id, sessionID: descriptor.sessionID, sampleOffset: offset)
    }

    @inline(__always)
    private func expect(_ type: ChannelValueType, _ call: @autoclosure () -> String) throws {
        if _slowPath(valueType != type) {
            let hint: String
            switch valueType {
            case .f64: hint = "append(Double) or append(contentsOf: [Double])"
            case .i64: hint = "append(Int64) or append(contentsOf: [Int64])"
            case .bool: hint = "append(Bool) or append(contentsOf: [Bool])"
            case .string: hint = "append(String) or append(contentsOf: [String])"
            case .f64Array: hint = "appendArray(_:)"
            case .waveform: hint = "appendWaveform(t0:dt:samples:)"
            }
            throw ChannelStoreError(
                .typeMismatch,
                "channel \(id.debugDescription) holds \(valueType) samples; \(call()) needs a \(type) channel (use \(hint))")
        }
    }

    private func appendBulk(_ bytes: UnsafeRawBufferPointer, count: Int, time: Timestamp?) throws -> ChannelURI {
        guard count > 0 else { return uri }
        let t = time?.microseconds ?? Timestamp.now().microseconds
        mutex.lock()
        defer { mutex.unlock() }
        if !ready { try prepareToWrite() }
        _ = try guarded { try writer.appendBulk(bytes, count: count, time: t) }
        return uri
    }

    /// Runs a writer operation; an error makes the channel failed (sticky). Call with the lock held.
    @inline(__always)
    private func guarded<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch {
            let failure = error as? ChannelStoreError ?? ChannelStoreError(.io, "\(error)")
            fail(failure)
            throw failure
        }
    }

    /// Call with the lock held.
    private func fail(_ error: ChannelStoreError) {
        if failure == nil {
            failure = ChannelStoreError(
                error.code, "channel \(id.debugDescription) stopped taking samples: \(error.message)", path: error.path)
        }
        ready = false
    }

    /// The slow path of an append: closed, failed, or the first write (emits ChannelStarted).
    /// Call with the lock held.
    private func prepareToWrite() throws {
        if let failure { throw failure }
        if closed {
            throw ChannelStoreError(
                .closed, "channel \(id.debugDescription) of session \(sessionID.uuidString.lowercased()) is closed")
        }
        if !started {
            let body = ChannelStarted(
                channelID: descriptor.id, valueType: descriptor.valueType.rawValue, unit: descriptor.unit,
                instrumentRole: descriptor.instrumentRole)
            try events?.emit(Event(sessionID: descriptor.sessionID, .channelStarted(body)))
            started = true
        }
        wroteSamples = true
        ready = true
    }

    /// The background sync: writes what is buffered and returns what to `fdatasync`
    /// (outside the lock). Errors make the channel failed; the next append reports them.
    func periodicSync() {
        mutex.lock()
        guard !closed, failure == nil else {
            mutex.unlock()
            return
        }
        let targets: [ChannelSegmentWriter.SyncTarget]
        do {
            targets = try writer.prepareSync()
        } catch {
            fail(error as? ChannelStoreError ?? ChannelStoreError(.io, "\(error)"))
            mutex.unlock()
            return
        }
        mutex.unlock()
        for target in targets {
            do {
                try target.sync()
            } catch {
                mutex.withLock { fail(ChannelStoreError(.io, "background sync failed: \(error)", path: target.path)) }
                return
            }
        }
    }

    /// Flushes, syncs and closes the segment file. Returns whether ChannelStarted was emitted
    /// by this store (so ChannelEnded should be), and the sample count.
    func finish() -> (wrote: Bool, samples: Int64, error: ChannelStoreError?) {
        mutex.lock()
        defer { mutex.unlock() }
        if closed { return (false, writer.nextOffset, nil) }
        closed = true
        ready = false
        var error = failure
        do {
            try writer.close()
        } catch let closeError {
            if error == nil { error = closeError as? ChannelStoreError ?? ChannelStoreError(.io, "\(closeError)") }
        }
        return (wroteSamples, writer.nextOffset, error)
    }
}
