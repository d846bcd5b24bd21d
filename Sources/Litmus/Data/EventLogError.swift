/// An error of the event log or of its reader: what failed (``code``), on which file, and why.
///
/// ```swift
/// do { try log.emit(event) }
/// catch let error as EventLogError where error.code == .closed { ... }
/// ```
public struct EventLogError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case closed, createFailed, lockFailed, writeFailed, syncFailed, readFailed
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// `emit` after `close()`: the event was not accepted; everything emitted before is on disk.
        public static let closed = Code(.closed)
        /// The log file or one of its directories could not be created.
        public static let createFailed = Code(.createFailed)
        /// Another open file holds the log file's lock.
        public static let lockFailed = Code(.lockFailed)
        /// Writing buffered events failed. They are kept in memory and the write is retried:
        /// nothing is dropped.
        public static let writeFailed = Code(.writeFailed)
        /// `fdatasync` failed: events written since the last successful sync may not be on
        /// disk, and after such a failure the kernel may report later syncs as successful
        /// without the data. The log accepts no more events; open a new one.
        public static let syncFailed = Code(.syncFailed)
        /// An event file could not be read.
        public static let readFailed = Code(.readFailed)

        public var description: String { value.rawValue }
    }

    public var code: Code
    /// The event log file (or directory) concerned.
    public var path: String
    /// What happened, and what the log did about it.
    public var message: String
    /// The `errno` of the failed system call, or 0.
    public var errorNumber: Int32

    public init(_ code: Code, path: String, _ message: String, errorNumber: Int32 = 0) {
        self.code = code
        self.path = path
        self.message = message
        self.errorNumber = errorNumber
    }

    public var description: String { "\(path): \(code): \(message)" }
}
