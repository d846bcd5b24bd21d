import Foundation
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// Every spelling of one instrument shares one lock: the lock is keyed by the instrument's
/// identity after resolution (ResourceIdentity), and the busy message names the spelling the
/// holder used. The holder is another process (litmus-test-producer hold-lock).
extension ResourceLockTests {
    /// Holds `held` in another process and expects each of `others` refused, naming it.
    func expectOneLock(held: String, others: [String], key: String, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        try withLockDirectory { dir in
            let holder = try Holder(dir, held, station: "bench3", role: "dmm")
            defer { holder.finish() }
            try #require(holder.waitUntilLocked(), sourceLocation: sourceLocation)
            let locks = ResourceLocks(directory: dir)
            let heldAs = ResourceLocks.canonicalName(held)
            for other in others {
                let error = failure(locks, other, sourceLocation: sourceLocation)
                #expect(error?.kind == .busy, "\(other)", sourceLocation: sourceLocation)
                #expect(error?.holder?.pid == holder.pid, "\(other)", sourceLocation: sourceLocation)
                #expect(error?.holder?.resource == heldAs, sourceLocation: sourceLocation)
                let mine = ResourceLocks.canonicalName(other)
                if mine != heldAs {
                    #expect(
                        error?.message.hasPrefix(
                            "\(mine) is in use by pid \(holder.pid) (station bench3, role dmm, opened as \(heldAs)) since ")
                            == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
                    #expect(
                        error?.message.contains("; both name instrument \(key); wait for it") == true,
                        "\(error?.message ?? "")", sourceLocation: sourceLocation)
                }
            }
            #expect(holder.finish().status == 0, sourceLocation: sourceLocation)
        }
    }

    @Test func aHostNameAndItsAddressShareOneLock() throws {
        #expect(ResourceIdentity(resource: "TCPIP::localhost::5025::SOCKET").keys.contains("tcpip:127.0.0.1:5025"))
        #expect(ResourceIdentity(resource: "TCPIP::[::ffff:127.0.0.1]::5025::SOCKET").keys == ["tcpip:127.0.0.1:5025"])
        #expect(ResourceIdentity(resource: "TCPIP::no-such-host.invalid::5025::SOCKET").keys == ["tcpip:no-such-host.invalid:5025"])
        try expectOneLock(
            held: "TCPIP0::127.0.0.1::5025::SOCKET",
            others: ["TCPIP::localhost::5025::SOCKET", "TCPIP1::LocalHost::5025::SOCKET", "TCPIP::[::ffff:127.0.0.1]::5025::SOCKET"],
            key: "tcpip:127.0.0.1:5025")
        try expectOneLock(held: "TCPIP::localhost::inst0::INSTR", others: ["TCPIP0::127.0.0.1::INSTR"], key: "tcpip:127.0.0.1:inst0")
        // Another port, device or protocol of the same host is another lock.
        try withLockDirectory { dir in
            let holder = try Holder(dir, "TCPIP::localhost::5025::SOCKET")
            defer { holder.finish() }
            try #require(holder.waitUntilLocked())
            let locks = ResourceLocks(directory: dir)
            for other in ["TCPIP::127.0.0.1::5026::SOCKET", "TCPIP::127.0.0.1::hislip0::INSTR", "TCPIP::127.0.0.1::INSTR"] {
                let lease = try locks.acquire(resource: other, station: "s", role: "r")
                lease.release()
            }
        }
    }

    @Test func aSerialDeviceThroughASymlinkSharesTheLockOfItsRealPath() throws {
        // A real pseudo-terminal and a link to it, as /dev/serial/by-id/ links are.
        let pty = try PTYPair()
        defer { pty.close() }
        let device = pty.slavePath
        let link = "\(TestPlugins.scratch)/tty-link-\(UUID().uuidString.prefix(8))"
        #expect(symlink(device, link) == 0)
        defer { unlink(link) }
        #expect(ResourceIdentity(resource: "ASRL\(link)::INSTR").keys == ["asrl:\(device)"])
        try expectOneLock(held: "ASRL\(link)::INSTR", others: ["ASRL\(device)::INSTR", "asrl\(device)"], key: "asrl:\(device)")
        try expectOneLock(held: "ASRL\(device)::INSTR", others: ["ASRL\(link)::INSTR"], key: "asrl:\(device)")
        // Numbered ports and bare names, as the serial plugin maps them.
        #expect(ResourceIdentity(resource: "ASRL3::INSTR").keys == ResourceIdentity(resource: "ASRLCOM3::INSTR").keys)
        #expect(ResourceIdentity(resource: "ASRL3::INSTR").keys == ResourceIdentity(resource: "ASRL/dev/ttyS2::INSTR").keys)
        #expect(ResourceIdentity(resource: "ASRLttyS2").keys == ResourceIdentity(resource: "ASRL/dev/ttyS2").keys)
    }

    @Test func everyFormOfAUSBDeviceSharesOneLock() throws {
        let key = "usb:1ab1:04ce:DS1ZA0001"
        for form in [
            "USB0::0x1AB1::0x04CE::DS1ZA0001::INSTR", "usb::0x1ab1::0x04ce::DS1ZA0001", "USB::6833::1230::DS1ZA0001::0::INSTR",
            "USB1::0X1aB1::0x4CE::DS1ZA0001::0::INSTR", "USB::0x1AB1::0x04CE::DS1ZA0001::1::RAW",
        ] {
            #expect(ResourceIdentity(resource: form).keys == [key], "\(form)")
        }
        try expectOneLock(
            held: "USB0::0x1AB1::0x04CE::DS1ZA0001::INSTR",
            others: ["usb::0x1ab1::0x04ce::DS1ZA0001", "USB::6833::1230::DS1ZA0001::0::INSTR", "USB1::0x1AB1::0x04CE::DS1ZA0001::0::RAW"],
            key: key)
        // Another serial number is another instrument.
        #expect(ResourceIdentity(resource: "USB::0x1AB1::0x04CE::DS1ZA0002::INSTR").keys != [key])
    }
}
