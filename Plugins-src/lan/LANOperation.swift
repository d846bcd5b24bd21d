import LitmusDriverKit

/// The typed operations of the `lan` driver: the instrument's exclusive lock and its
/// remote/local state, for the protocols that have them (VXI-11 and HiSLIP). A raw socket has
/// neither and says so.
enum LANOperation: Int, CaseIterable {
    case lock, unlock, remote, local

    static let descriptions: [OperationDescription] = [
        OperationDescription(
            "lock",
            params: [
                ParameterDescription(
                    "timeout_ms", .i64, unit: "ms", help: "how long to wait for a lock another client holds (default: the lock_timeout_ms option)",
                    optional: true, range: 0...3_600_000)
            ],
            flags: .writes, help: "take the instrument's exclusive lock (VXI-11, HiSLIP)"),
        OperationDescription("unlock", flags: .writes, help: "release the lock this session holds"),
        OperationDescription("remote", flags: .writes, help: "put the instrument in remote state"),
        OperationDescription("local", flags: .writes, help: "return the instrument to local (front panel) control"),
    ]
}

/// What a LAN session that has locks and remote/local offers the operation table.
protocol LANControlSession: DriverSession {
    /// The `lock_timeout_ms` open option, the default wait of `lock`.
    var defaultLockWaitMs: UInt32 { get }
    func lockDevice(waitMs: UInt32) throws
    func unlockDevice() throws
    func goRemote() throws
    func goLocal() throws
}

extension LANControlSession {
    /// Runs operation `index` of ``LANOperation``.
    func invokeLANOperation(_ index: Int, _ arguments: Arguments) throws -> DriverValue {
        guard let op = LANOperation(rawValue: index) else {
            throw DriverFailure.notFound("operation index \(index) is out of range: the lan driver has \(LANOperation.allCases.count) operations")
        }
        switch op {
        case .lock: try lockDevice(waitMs: arguments.int(0).map { UInt32(clamping: $0) } ?? defaultLockWaitMs)
        case .unlock: try unlockDevice()
        case .remote: try goRemote()
        case .local: try goLocal()
        }
        return .void
    }
}
