import Foundation
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// Resource locks across processes: the second process is the test producer
/// (`litmus-test-producer hold-lock`, Tests/Producer). No timing is asserted: a holder holds
/// until its stdin closes or it is killed.
@Suite struct ResourceLockTests {
    static var producer: String { "\(TestPlugins.buildDirectory)/litmus-test-producer" }

    /// A fresh lock directory, removed by `body`'s end.
    func withLockDirectory(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("litmus-locks-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    /// A `hold-lock` producer.
    final class Holder {
        let process = Process()
        let output = Pipe()
        let errors = Pipe()
        let input = Pipe()

        /// `seconds` < 0: hold until stdin closes (``finish()``).
        init(_ dir: String, _ resource: String, station: String = "bench3", role: String = "dmm", seconds: Double = -1)
            throws
        {
            try #require(
                FileManager.default.isExecutableFile(atPath: ResourceLockTests.producer),
                "build litmus-test-producer first")
            process.executableURL = URL(fileURLWithPath: ResourceLockTests.producer)
            process.arguments = ["hold-lock", dir, resource, station, role, String(seconds)]
            process.standardOutput = output
            process.standardError = errors
            process.standardInput = input
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }

        /// Reads stdout until "locked" (true) or its end (false: the producer failed).
        func waitUntilLocked() -> Bool {
            var text = ""
            while true {
                let data = output.fileHandleForReading.availableData
                if data.isEmpty { return false }
                text += String(decoding: data, as: UTF8.self)
                if text.split(separator: "\n").contains("locked") { return true }
            }
        }

        /// Closes stdin (a holder releases and exits) and waits: the status and stderr.
        @discardableResult
        func finish() -> (status: Int32, errors: String) {
            try? input.fileHandleForWriting.close()
            _ = output.fileHandleForReading.readDataToEndOfFile()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }

        func kill() {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Whether another process can take the lock now (a producer trying once and exiting).
    func otherProcessCanLock(_ dir: String, _ resource: String) throws -> (Bool, String) {
        let probe = try Holder(dir, resource, station: "probe", role: "probe", seconds: 0)
        let locked = probe.waitUntilLocked()
        let (status, errors) = probe.finish()
        #expect(status == (locked ? 0 : 3), "producer: \(errors)")
        return (locked, errors)
    }

    /// The error of an acquire expected to fail.
    func failure(
        _ locks: ResourceLocks, _ resource: String, timeout: Double = 0,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ResourceLockError? {
        do {
            let lease = try locks.acquire(resource: resource, station: "here", role: "scope", timeout: timeout)
            Issue.record("acquired \(resource), expected it busy", sourceLocation: sourceLocation)
            lease.release()
            return nil
        } catch {
            return error
        }
    }

    func record(_ path: String) throws -> LockHolder? {
        LockHolder(json: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    // MARK: Within one process

    @Test func leasesAreReentrantAndCounted() throws {
        try withLockDirectory { dir in
            let resource = "TCPIP0::10.0.0.5::inst0::INSTR"
            let locks = ResourceLocks(directory: dir)
            let other = ResourceLocks(directory: dir + "/./")  // another object, same directory
            let first = try locks.acquire(resource: resource, station: "bench3", role: "dmm")
            let second = try other.acquire(resource: "tcpip::10.0.0.5::instr", station: "bench3", role: "dmm2")
            #expect(locks.leaseCount(resource: resource) == 2)
            #expect(second.holder == first.holder)
            #expect(first.holder.pid == getpid())
            #expect(first.holder.resource == resource)
            #expect(try record(locks.lockFilePath(resource: resource)) == first.holder)

            first.release()
            first.release()  // idempotent
            #expect(first.isReleased)
            #expect(locks.leaseCount(resource: resource) == 1)
            let (lockedWhileHeld, errors) = try otherProcessCanLock(dir, resource)
            #expect(!lockedWhileHeld)
            #expect(errors.contains("pid \(getpid())"))
            #expect(errors.contains("station bench3, role dmm)"))

            second.release()
            #expect(locks.leaseCount(resource: resource) == 0)
            #expect(try otherProcessCanLock(dir, resource).0)
        }
    }

    @Test func aDroppedLeaseReleases() throws {
        try withLockDirectory { dir in
            let locks = ResourceLocks(directory: dir)
            do {
                _ = try locks.acquire(resource: "SIM0::dmm::INSTR", station: "s", role: "r")
            }
            #expect(locks.leaseCount(resource: "SIM0::dmm::INSTR") == 0)
            #expect(try otherProcessCanLock(dir, "SIM0::dmm::INSTR").0)
        }
    }

    // MARK: Between processes

    @Test func busyErrorNamesTheHolder() throws {
        try withLockDirectory { dir in
            let holder = try Holder(dir, "TCPIP0::10.0.0.5::INSTR", station: "bench3", role: "dmm")
            defer { holder.finish() }
            try #require(holder.waitUntilLocked())
            let locks = ResourceLocks(directory: dir)

            let error = try #require(failure(locks, "TCPIP0::10.0.0.5::INSTR"))
            #expect(error.kind == .busy)
            #expect(error.resource == "TCPIP0::10.0.0.5::inst0::INSTR")
            let named = try #require(error.holder)
            #expect(named.pid == holder.pid)
            #expect(named.station == "bench3")
            #expect(named.role == "dmm")
            #expect(named.resource == "TCPIP0::10.0.0.5::inst0::INSTR")
            #expect(named.hostname == System.hostName())
            #expect(named.acquiredAt.hasSuffix("Z") && named.acquiredAt.count == 20)
            #expect(
                error.message
                    == "TCPIP0::10.0.0.5::inst0::INSTR is in use by pid \(holder.pid) (station bench3, role dmm) "
                    + "since \(named.acquiredAt); wait for it to finish or stop that process")
            #expect(error.description == error.message)

            // A bounded wait that runs out says how long it waited.
            let waited = try #require(failure(locks, "TCPIP0::10.0.0.5::INSTR", timeout: 0.1))
            #expect(waited.kind == .busy)
            #expect(waited.holder?.pid == holder.pid)
            #expect(waited.message.contains("waited 0.1 s; wait for it to finish"))
            #expect(locks.leaseCount(resource: "TCPIP0::10.0.0.5::INSTR") == 0)

            #expect(holder.finish().status == 0)
        }
    }

    @Test func waitingAcquireSucceedsAfterTheHolderExits() throws {
        try withLockDirectory { dir in
            let resource = "USB0::0x1AB1::0x04CE::DS1ZA000000001::0::INSTR"
            let holder = try Holder(dir, resource)
            try #require(holder.waitUntilLocked())
            let locks = ResourceLocks(directory: dir)
            #expect(failure(locks, resource)?.holder?.pid == holder.pid)

            // The holder releases once its stdin closes, while this process waits.
            let input = UncheckedSendable(holder.input.fileHandleForWriting)
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { try? input.value.close() }
            let lease = try locks.acquire(resource: resource, station: "bench4", role: "scope", timeout: 60)
            defer { lease.release() }
            #expect(lease.holder.pid == getpid())
            #expect(lease.holder.station == "bench4")
            #expect(try record(lease.path) == lease.holder)
            #expect(holder.finish().status == 0)
        }
    }

    @Test func aKilledHolderLeavesTheLockFree() throws {
        try withLockDirectory { dir in
            let resource = "GPIB0::5::INSTR"
            let holder = try Holder(dir, resource, station: "bench9", role: "psu")
            try #require(holder.waitUntilLocked())
            let locks = ResourceLocks(directory: dir)
            #expect(failure(locks, resource)?.holder?.pid == holder.pid)
            holder.kill()
            // Its record is still in the file; the lock is not.
            #expect(try record(locks.lockFilePath(resource: resource))?.pid == holder.pid)

            let lease = try locks.acquire(resource: resource, station: "bench3", role: "psu")
            defer { lease.release() }
            #expect(try record(lease.path) == lease.holder)
            #expect(lease.holder.pid == getpid())
        }
    }

    @Test func variantsOfOneResourceShareOneLock() throws {
        let variants = [
            "tcpip0::10.0.0.5::inst0::INSTR", "TCPIP::10.0.0.5", "TCPIP0::10.0.0.5::INST0::instr",
            "  TCPIP::10.0.0.5::INSTR\n", "TcPiP0::10.0.0.5::inst0",
        ]
        // What ResourceName equates: these all have one canonical form.
        for variant in variants {
            #expect(try ResourceName(parsing: variant).canonical == "TCPIP0::10.0.0.5::inst0::INSTR")
            #expect(ResourceLocks.canonicalName(variant) == "TCPIP0::10.0.0.5::inst0::INSTR")
        }
        try withLockDirectory { dir in
            let locks = ResourceLocks(directory: dir)
            #expect(Set(variants.map { locks.lockFilePath(resource: $0) }).count == 1)
            let holder = try Holder(dir, variants[0])
            defer { holder.finish() }
            try #require(holder.waitUntilLocked())
            for variant in variants {
                let error = failure(locks, variant)
                #expect(error?.kind == .busy, "\(variant)")
                #expect(error?.resource == "TCPIP0::10.0.0.5::inst0::INSTR")
                #expect(error?.holder?.pid == holder.pid)
            }
            // Not the same resource: another device, host or protocol. (The board is not part of
            // the instrument's identity: TCPIP1::10.0.0.5::INSTR is the same instrument.)
            for other in ["TCPIP0::10.0.0.5::inst1::INSTR", "TCPIP0::10.0.0.6::INSTR", "TCPIP0::10.0.0.5::5025::SOCKET"] {
                let lease = try locks.acquire(resource: other, station: "s", role: "r")
                lease.release()
            }
        }
    }

    @Test func differentResourcesDoNotContend() throws {
        try withLockDirectory { dir in
            let holder = try Holder(dir, "ASRL/dev/ttyUSB0::INSTR")
            defer { holder.finish() }
            try #require(holder.waitUntilLocked())
            let locks = ResourceLocks(directory: dir)
            let a = try locks.acquire(resource: "ASRL/dev/ttyUSB1::INSTR", station: "s", role: "a")
            let b = try locks.acquire(resource: "TCPIP0::10.0.0.5::5025::SOCKET", station: "s", role: "b")
            #expect(a.path != b.path)
            #expect(locks.leaseCount(resource: "ASRL/dev/ttyUSB1::INSTR") == 1)
            #expect(locks.leaseCount(resource: "TCPIP0::10.0.0.5::5025::SOCKET") == 1)
            #expect(try otherProcessCanLock(dir, "TCPIP0::10.0.0.5::hislip0::INSTR").0)
            a.release()
            b.release()
            #expect(holder.finish().status == 0)
        }
    }

    // MARK: Names, directories, records

    @Test func namesThatDoNotParseLockAsTrimmed() throws {
        #expect(ResourceLocks.canonicalName("  dmm-bench \t") == "dmm-bench")
        let a = ResourceLocks.lockFileName(canonical: "a:b")
        let b = ResourceLocks.lockFileName(canonical: "a/b")
        #expect(a.hasPrefix("a_b-") && a.hasSuffix(".lock") && b.hasPrefix("a_b-"))
        #expect(a != b)
        #expect(a == ResourceLocks.lockFileName(canonical: "a:b"))
        let file = ResourceLocks.lockFileName(canonical: "TCPIP0::[fe80::1%eth0]::inst0::INSTR")
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-".unicodeScalars)
        #expect(file.unicodeScalars.allSatisfy(allowed.contains))
        #expect(ResourceLocks.lockFileName(canonical: String(repeating: "x", count: 5000)).utf8.count < 200)
        try withLockDirectory { dir in
            let locks = ResourceLocks(directory: dir)
            let lease = try locks.acquire(resource: " dmm ", station: "s", role: "r")
            defer { lease.release() }
            #expect(lease.holder.resource == "dmm")
            #expect(locks.leaseCount(resource: "dmm") == 1)
        }
    }

    @Test func defaultDirectory() {
        let directory = ResourceLocks.defaultDirectory
        #expect(directory(["LITMUS_LOCK_DIR": "/srv/locks", "XDG_RUNTIME_DIR": "/run/user/7"]) == "/srv/locks")
        #expect(directory(["XDG_RUNTIME_DIR": "/run/user/7"]) == "/run/user/7/litmus/locks")
        #expect(directory(["LITMUS_LOCK_DIR": "", "XDG_RUNTIME_DIR": ""]) == "/tmp/litmus-locks-\(getuid())")
        #expect(directory([:]) == "/tmp/litmus-locks-\(getuid())")
    }

    @Test func theLockDirectoryIsCreated() throws {
        try withLockDirectory { dir in
            let nested = dir + "/a/b/locks"
            let lease = try ResourceLocks(directory: nested).acquire(resource: "SIM0::x", station: "s", role: "r")
            defer { lease.release() }
            #expect(System.fileKind(nested) == .directory)
            #expect(lease.path.hasPrefix(System.realPath(nested)! + "/"))
        }
    }

    @Test func anUncreatableDirectorySaysHowToFixIt() throws {
        try withLockDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: dir + "/file", contents: Data()))
            let locks = ResourceLocks(directory: dir + "/file/locks")
            let error = try #require(failure(locks, "SIM0::x"))
            #expect(error.kind == .lockDirectory)
            #expect(error.holder == nil)
            #expect(error.message.contains(dir + "/file/locks"))
            #expect(error.message.contains("LITMUS_LOCK_DIR"))
        }
    }

    @Test func holderRecords() {
        let holder = LockHolder(
            pid: 4242, station: "bench \"3\"", role: "dmm", resource: "TCPIP0::10.0.0.5::inst0::INSTR",
            acquiredAt: "2026-11-26T18:00:01Z", hostname: "lab")
        #expect(holder.json.hasSuffix("}\n") && holder.json.filter { $0 == "\n" }.count == 1)
        #expect(LockHolder(json: Array(holder.json.utf8)) == holder)
        #expect(holder.description == "pid 4242 on lab (station bench \"3\", role dmm) since 2026-11-26T18:00:01Z")
        let partial = LockHolder(json: Array(#"{"pid":7,"role":"psu"}"#.utf8))
        #expect(partial == LockHolder(pid: 7, station: "", role: "psu", resource: "", acquiredAt: "", hostname: ""))
        #expect(LockHolder(json: []) == nil)
        #expect(LockHolder(json: Array(#"{"pid":7,"stat"#.utf8)) == nil)
        #expect(LockHolder(json: Array("{}".utf8)) == nil)
        #expect(ResourceLocks.now().count == 20)
    }
}
