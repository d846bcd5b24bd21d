import Foundation

/// A trace of every message-level write and read between the host and an instrument: one
/// line per transfer with the time, the instrument, the direction, the byte count, the bytes
/// as escaped text and as hex.
///
/// ```text
/// 2026-12-07T10:41:07.512331Z lan TCPIP0::127.0.0.1::5025::SOCKET write 6 "*IDN?\n" 2a 49 44 4e 3f 0a
/// 2026-12-07T10:41:07.513020Z lan TCPIP0::127.0.0.1::5025::SOCKET read 35 "Litmus,FakeInstrument,F1,1.0\n" 4c 69 ...
/// ```
///
/// Every instrument I/O of the host passes through ``Instrument``, which records here; code
/// that talks to a driver some other way (host I/O services a plugin calls) records through
/// ``record(_:_:_:)`` the same way. Turn it on with the environment variable
/// `LITMUS_IO_TRACE=<file>` (or `stderr`), with `litmus scpi --trace`, or in code:
///
/// ```swift
/// IOTrace.shared = try IOTrace(path: "/tmp/io.log")
/// ```
///
/// One transfer shows at most ``maxShownBytes`` bytes (the count is always the whole
/// transfer's), so a 64 MiB block does not write 200 MB of hex.
public final class IOTrace: @unchecked Sendable {
    /// Which way the bytes went.
    public enum Direction: String, Sendable {
        /// Host to instrument.
        case write
        /// Instrument to host.
        case read
    }

    /// The environment variable that turns the trace on: a file path (appended to), or
    /// `stderr` / `-` for standard error.
    public static let environmentVariable = "LITMUS_IO_TRACE"

    /// The most bytes of one transfer shown as text and hex.
    public let maxShownBytes: Int

    private let lock = NSLock()
    private let handle: FileHandle
    private let ownsHandle: Bool

    /// A trace appended to `path` (created if missing), or to standard error when `path` is
    /// `stderr` or `-`.
    ///
    /// - Throws: ``DriverError`` naming the file and what to do when it cannot be opened.
    public init(path: String, maxShownBytes: Int = 4096) throws {
        self.maxShownBytes = max(16, maxShownBytes)
        if path == "stderr" || path == "-" {
            handle = FileHandle.standardError
            ownsHandle = false
            return
        }
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw DriverError(
                    .access, "cannot create the I/O trace file \(path). Fix: choose a file in a directory you can write, "
                        + "or unset \(Self.environmentVariable)", context: "I/O trace")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw DriverError(
                .access, "cannot open the I/O trace file \(path) for writing. Fix: check its permissions, or unset "
                    + "\(Self.environmentVariable)", context: "I/O trace")
        }
        h.seekToEndOfFile()
        handle = h
        ownsHandle = true
    }

    /// A trace to standard error.
    public static func standardError(maxShownBytes: Int = 4096) -> IOTrace {
        // Standard error always opens.
        try! IOTrace(path: "stderr", maxShownBytes: maxShownBytes)
    }

    deinit {
        if ownsHandle { try? handle.close() }
    }

    private static let sharedLock = NSLock()
    nonisolated(unsafe) private static var _shared: IOTrace?
    nonisolated(unsafe) private static var sharedResolved = false

    /// The trace every new ``Instrument`` records to; nil when tracing is off. Read from
    /// ``environmentVariable`` on first use (a file that cannot be opened is reported once on
    /// standard error and tracing stays off); assign to change it for instruments opened later.
    public static var shared: IOTrace? {
        get {
            sharedLock.withLock {
                if !sharedResolved {
                    sharedResolved = true
                    if let path = ProcessInfo.processInfo.environment[environmentVariable], !path.isEmpty {
                        do {
                            _shared = try IOTrace(path: path)
                        } catch {
                            FileHandle.standardError.write(Data("litmus: warning: \(error)\n".utf8))
                        }
                    }
                }
                return _shared
            }
        }
        set {
            sharedLock.withLock {
                sharedResolved = true
                _shared = newValue
            }
        }
    }

    /// Records one transfer of `bytes` by `instrument` (a short name: "driver resource").
    public func record(_ instrument: String, _ direction: Direction, _ bytes: UnsafeRawBufferPointer) {
        let line = Self.line(time: Timestamp.now().iso8601, instrument: instrument, direction, bytes, maxShown: maxShownBytes)
        lock.withLock { handle.write(Data(line.utf8)) }
    }

    /// Records one transfer of `bytes`.
    public func record(_ instrument: String, _ direction: Direction, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { record(instrument, direction, $0) }
    }

    /// One trace line (with its newline).
    static func line(
        time: String, instrument: String, _ direction: Direction, _ bytes: UnsafeRawBufferPointer, maxShown: Int
    ) -> String {
        let shown = bytes.prefix(maxShown)
        var text = ""
        var hex = ""
        text.reserveCapacity(shown.count + 8)
        hex.reserveCapacity(shown.count * 3)
        let digits = Array("0123456789abcdef".utf8)
        for byte in shown {
            switch byte {
            case 0x0A: text += "\\n"
            case 0x0D: text += "\\r"
            case 0x09: text += "\\t"
            case 0x22: text += "\\\""
            case 0x5C: text += "\\\\"
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
            }
            if !hex.isEmpty { hex += " " }
            hex += String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
        }
        let more = bytes.count > shown.count ? " ... (\(bytes.count - shown.count) more bytes)" : ""
        return "\(time) \(instrument) \(direction.rawValue) \(bytes.count) \"\(text)\"\(more) \(hex)\(more)\n"
    }
}
