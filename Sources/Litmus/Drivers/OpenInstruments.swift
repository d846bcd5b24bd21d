import Foundation

/// Every open ``Instrument`` of the process, so that a signal handler's cleanup
/// (``SignalCleanup``) can interrupt their blocked calls and close them all.
final class OpenInstruments: @unchecked Sendable {
    static let shared = OpenInstruments()

    private struct Entry { weak var instrument: Instrument? }
    private let lock = NSLock()
    private var entries: [ObjectIdentifier: Entry] = [:]

    func add(_ instrument: Instrument) {
        lock.withLock { entries[ObjectIdentifier(instrument)] = Entry(instrument: instrument) }
    }

    func remove(_ instrument: Instrument) {
        lock.withLock { _ = entries.removeValue(forKey: ObjectIdentifier(instrument)) }
    }

    /// The instruments still open.
    var all: [Instrument] { lock.withLock { entries.values.compactMap(\.instrument) } }
}
