#if canImport(Glibc)
import Glibc
#endif
import CLitmusDriverABI
import LitmusDriverKit

/// One open serial device: the file descriptor and every system call made on it.
///
/// Opening follows the order that keeps a fresh session clean:
/// 1. `open(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)`: the port never becomes the
///    controlling terminal and open never waits for carrier detect;
/// 2. a `flock` (exclusive, or shared when `exclusive` is false) so two Litmus sessions, or
///    Litmus and pyserial with `exclusive=True`, never share a port by accident, then
///    `TIOCEXCL` so other programs' opens fail with EBUSY (root bypasses TIOCEXCL, not flock);
/// 3. termios raw mode with the frame and speed, read back to catch a driver that silently
///    kept another value;
/// 4. DTR and RTS as asked (many USB-CDC devices only talk once DTR is asserted);
/// 5. the input queue flushed, so a power-up banner or stale bytes never answer the first query.
///
/// The descriptor stays non-blocking: callers wait with ``waitReadable(until:)`` and
/// ``waitWritable(until:)``, which honour a deadline.
final class SerialPort {
    /// The device file as opened.
    let device: String
    private(set) var fd: Int32 = -1
    /// Whether the port has modem control lines (a pseudo-terminal has none).
    private(set) var hasModemLines = true

    /// Opens and configures `device`.
    ///
    /// - Throws: `notFound` (no such device, with the ports that exist), `access` (permission
    ///   denied, with the fix), `busy` (in use or locked, with who holds it when known),
    ///   `invalidArgument` (not a serial port, or settings the port refused), `io` otherwise.
    init(device: String, settings: SerialSettings, log: (String) -> Void) throws {
        self.device = device
        fd = open(device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Self.openFailure(device: device, errno: errno) }
        do {
            try configure(settings, log: log)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    private func configure(_ settings: SerialSettings, log: (String) -> Void) throws {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else {
            let code = errno
            if code == ENOTTY || code == EINVAL {
                throw DriverFailure.invalidArgument(
                    "\(device) is not a serial port (it has no terminal settings); name a tty device such as "
                        + "/dev/ttyUSB0 or a /dev/serial/by-id/ link")
            }
            throw DriverFailure.io("reading the settings of \(device) failed: \(Self.describe(code))", vendorCode: code)
        }

        if flock(fd, (settings.exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 {
            let code = errno
            if code == EWOULDBLOCK {
                let holders = lockHolders()
                let who = holders.isEmpty ? "another program" : holders.joined(separator: ", ")
                throw DriverFailure.busy(
                    "\(device) is in use: \(who) holds \(settings.exclusive ? "a lock on it" : "an exclusive lock on it"). "
                        + "Close that session or program first (find it with: fuser -v \(device))")
            }
            log("flock on \(device) is unavailable (\(Self.describe(code))); opening without a lock")
        }
        if settings.exclusive { _ = ioctl(fd, UInt(TIOCEXCL)) }

        settings.apply(to: &t)
        guard tcsetattr(fd, TCSANOW, &t) == 0 else {
            let code = errno
            throw DriverFailure.invalidArgument(
                "\(device) refused the settings \(settings.summary): \(Self.describe(code))")
        }
        var check = termios()
        if tcgetattr(fd, &check) == 0 {
            let problems = settings.differences(from: check)
            if !problems.isEmpty && isPseudoTerminal {
                // A pty has no line to frame: Linux keeps it CS8 without parity whatever is
                // asked. Simulators and socat bridges sit on ptys, so this is no error.
                log("\(device) is a pseudo-terminal and kept \(problems.joined(separator: ", ")); no line is framed")
            } else if !problems.isEmpty {
                throw DriverFailure.invalidArgument(
                    "\(device) did not take the settings \(settings.summary): it kept \(problems.joined(separator: ", ")); "
                        + "the adapter or its driver does not support them")
            }
        }

        do {
            try setModemLine(Int32(TIOCM_DTR), on: settings.dtr)
            // With RTS/CTS flow control the kernel drives RTS itself.
            if settings.flowControl != .rtsCts { try setModemLine(Int32(TIOCM_RTS), on: settings.rts) }
        } catch let failure as DriverFailure where failure.status == Int32(LITMUS_E_UNSUPPORTED) {
            log("\(device) has no modem control lines; DTR and RTS left alone")
        }
        flush(input: true, output: false)
    }

    /// Whether the device is the slave side of a pseudo-terminal (Unix98 majors 136...143,
    /// or a legacy BSD pty, major 3).
    var isPseudoTerminal: Bool {
        var st = stat()
        guard fd >= 0, fstat(fd, &st) == 0 else { return false }
        let major = Self.major(UInt64(st.st_rdev))
        return (136...143).contains(major) || major == 3
    }

    /// The major number of a device number (glibc's encoding).
    static func major(_ dev: UInt64) -> UInt64 { ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff)) }

    /// The minor number of a device number (glibc's encoding).
    static func minor(_ dev: UInt64) -> UInt64 { (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff)) }

    /// Leaves exclusive mode and closes the descriptor (which also drops the flock). Safe to
    /// call twice.
    func close() {
        guard fd >= 0 else { return }
        _ = ioctl(fd, UInt(TIOCNXCL))
        Glibc.close(fd)
        fd = -1
    }

    var isOpen: Bool { fd >= 0 }

    private func requireOpen() throws {
        guard fd >= 0 else { throw DriverFailure.closed("the session on \(device) is closed") }
    }

    // MARK: - I/O

    /// Reads what is available now, up to `buffer.count` bytes, without waiting; 0 when
    /// nothing is.
    ///
    /// - Throws: `io` when the port hung up (USB adapter unplugged, the other end of a
    ///   pseudo-terminal closed) or the read failed.
    func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try requireOpen()
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n > 0 { return n }
            if n == 0 { throw hangup() }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return 0 }
            if code == EIO || code == ENODEV || code == ENXIO { throw hangup() }
            throw DriverFailure.io("reading from \(device) failed: \(Self.describe(code))", vendorCode: code)
        }
    }

    /// Writes what the port accepts now, without waiting; 0 when its queue is full.
    func writeAvailable(_ data: UnsafeRawBufferPointer) throws -> Int {
        try requireOpen()
        guard !data.isEmpty else { return 0 }
        while true {
            let n = Glibc.write(fd, data.baseAddress, data.count)
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return 0 }
            if code == EIO || code == ENODEV || code == ENXIO { throw hangup() }
            throw DriverFailure.io("writing to \(device) failed: \(Self.describe(code))", vendorCode: code)
        }
    }

    /// Waits until a byte can be read (or the port hung up, which the next read reports);
    /// false when `deadline` passed first.
    func waitReadable(until deadline: Deadline) throws -> Bool {
        try wait(Int16(POLLIN), until: deadline)
    }

    /// Waits until the port accepts more output; false when `deadline` passed first.
    func waitWritable(until deadline: Deadline) throws -> Bool {
        try wait(Int16(POLLOUT), until: deadline)
    }

    private func wait(_ events: Int16, until deadline: Deadline) throws -> Bool {
        try requireOpen()
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ready = poll(&pfd, 1, deadline.pollTimeout)
            if ready > 0 {
                if pfd.revents & Int16(POLLNVAL) != 0 {
                    throw DriverFailure.closed("the descriptor of \(device) is no longer valid")
                }
                return true
            }
            if ready == 0 { return false }
            let code = errno
            if code != EINTR {
                throw DriverFailure.io("waiting on \(device) failed: \(Self.describe(code))", vendorCode: code)
            }
        }
    }

    /// Bytes written but not yet sent by the driver (TIOCOUTQ), or nil if unknown.
    func outputQueued() -> Int? {
        guard fd >= 0 else { return nil }
        var count: Int32 = 0
        return ioctl(fd, UInt(TIOCOUTQ), &count) == 0 ? Int(count) : nil
    }

    /// Waits until everything written has left the port, before `deadline`.
    ///
    /// `tcdrain` alone could block forever (flow control holding the line), so the output
    /// queue is watched with TIOCOUTQ under the deadline, and `tcdrain` only finishes the last
    /// character in the UART.
    ///
    /// - Returns: false when bytes were still queued at the deadline.
    func drain(until deadline: Deadline, characterNanoseconds: UInt64) throws -> Bool {
        try requireOpen()
        while let queued = outputQueued(), queued > 0 {
            if deadline.hasPassed { return false }
            let pause = min(UInt64(queued) &* characterNanoseconds, 2_000_000)
            var ts = timespec(tv_sec: 0, tv_nsec: Int(max(pause, 50_000)))
            nanosleep(&ts, nil)
        }
        while tcdrain(fd) != 0 && errno == EINTR {}
        return true
    }

    /// Discards bytes received and not read (`input`) and written and not sent (`output`).
    func flush(input: Bool, output: Bool) {
        guard fd >= 0, input || output else { return }
        _ = tcflush(fd, input && output ? TCIOFLUSH : (input ? TCIFLUSH : TCOFLUSH))
    }

    /// Resumes output suspended by an XOFF and sends an XON (software flow control).
    func restartFlow() {
        guard fd >= 0 else { return }
        _ = tcflow(fd, TCOON)
        _ = tcflow(fd, TCION)
    }

    // MARK: - Line control

    /// Holds the line in the break condition (TX low) or releases it.
    func setBreak(_ on: Bool) throws {
        try requireOpen()
        guard ioctl(fd, UInt(on ? TIOCSBRK : TIOCCBRK)) == 0 else {
            let code = errno
            if code == ENOTTY || code == EINVAL || code == EOPNOTSUPP {
                throw DriverFailure.unsupported("\(device) cannot send a break (\(Self.describe(code)))")
            }
            throw DriverFailure.io("break on \(device) failed: \(Self.describe(code))", vendorCode: code)
        }
    }

    /// Asserts (`on`) or clears a modem control line (`TIOCM_DTR`, `TIOCM_RTS`).
    ///
    /// - Throws: `unsupported` on a port without modem lines (a pseudo-terminal).
    func setModemLine(_ bit: Int32, on: Bool) throws {
        try requireOpen()
        var bits = bit
        guard ioctl(fd, UInt(on ? TIOCMBIS : TIOCMBIC), &bits) == 0 else {
            let code = errno
            if code == ENOTTY || code == EINVAL {
                hasModemLines = false
                throw DriverFailure.unsupported(
                    "\(device) has no modem control lines (DTR, RTS), like a pseudo-terminal or a bare UART")
            }
            throw DriverFailure.io(
                "setting \(bit == Int32(TIOCM_DTR) ? "DTR" : "RTS") on \(device) failed: \(Self.describe(code))",
                vendorCode: code)
        }
    }

    // MARK: - Errors

    private func hangup() -> DriverFailure {
        DriverFailure.io(
            "\(device) hung up: the USB adapter was unplugged or the other end closed. Reconnect it and reopen the instrument",
            vendorCode: EIO)
    }

    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// The error of a failed `open(2)`, with what to do about it.
    static func openFailure(device: String, errno code: Int32) -> DriverFailure {
        switch code {
        case ENOENT, ENOTDIR:
            return DriverFailure(
                status: Int32(LITMUS_E_NOT_FOUND), vendorCode: code,
                "\(device) does not exist; \(SerialPortCatalog.listing())")
        case EACCES, EPERM:
            return DriverFailure.access(accessAdvice(device), vendorCode: code)
        case EBUSY:
            return DriverFailure(
                status: Int32(LITMUS_E_BUSY), vendorCode: code,
                "\(device) is in exclusive use by another program (TIOCEXCL); close it first (find it with: fuser -v \(device))")
        case ENXIO, ENODEV:
            return DriverFailure(
                status: Int32(LITMUS_E_NOT_FOUND), vendorCode: code,
                "\(device) exists but no hardware answers behind it (\(describe(code))): a ttyS without a UART, or an "
                    + "adapter that was unplugged; \(SerialPortCatalog.listing())")
        case EIO:
            return DriverFailure.io(
                "opening \(device) failed with an I/O error: the port has no working hardware behind it, or the adapter is "
                    + "being reset; \(SerialPortCatalog.listing())", vendorCode: code)
        default:
            return DriverFailure.io("opening \(device) failed: \(describe(code))", vendorCode: code)
        }
    }

    /// "permission denied" with the device's owner, group and mode and the usual fix.
    static func accessAdvice(_ device: String) -> String {
        var text = "permission denied opening \(device)"
        var st = stat()
        guard stat(device, &st) == 0 else {
            return text + "; add your user to the group that owns serial ports (Debian, Ubuntu: sudo usermod -aG dialout "
                + "$USER), then log out and back in"
        }
        let group = groupName(st.st_gid)
        let owner = userName(st.st_uid)
        text += " (owner \(owner), group \(group), mode \(String(st.st_mode & 0o777, radix: 8)))"
        if st.st_mode & 0o060 == 0 {
            return text + ": the group has no access either; add a udev rule that sets MODE=\"0660\" and GROUP=\"dialout\" "
                + "for this device, or ask the administrator"
        }
        return text + "; add your user to group '\(group)': sudo usermod -aG \(group) $USER, then log out and back in "
            + "(or run newgrp \(group) in this shell)"
    }

    private static func groupName(_ gid: gid_t) -> String {
        guard let g = getgrgid(gid), let name = g.pointee.gr_name else { return String(gid) }
        return String(cString: name)
    }

    private static func userName(_ uid: uid_t) -> String {
        guard let p = getpwuid(uid), let name = p.pointee.pw_name else { return String(uid) }
        return String(cString: name)
    }

    /// "pid 1234 (python3)" for each process holding a flock on this device, from /proc/locks.
    private func lockHolders() -> [String] {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return [] }
        let dev = UInt64(st.st_dev)
        let key = String(Self.major(dev), radix: 16) + ":" + String(Self.minor(dev), radix: 16) + ":" + String(st.st_ino)
        guard let text = Self.readSmallFile("/proc/locks") else { return [] }
        var holders: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // "1: FLOCK  ADVISORY  WRITE 1234 00:05:87 0 EOF"; blocked waiters have "->" first.
            guard fields.count >= 6, fields[1] == "FLOCK", let pid = Int32(fields[4]) else { continue }
            let parts = fields[5].split(separator: ":")
            guard parts.count == 3, let ma = UInt64(parts[0], radix: 16), let mi = UInt64(parts[1], radix: 16) else {
                continue
            }
            guard "\(String(ma, radix: 16)):\(String(mi, radix: 16)):\(parts[2])" == key else { continue }
            if pid == getpid() {
                holders.append("another session of this process (pid \(pid))")
            } else {
                let name = SerialPortCatalog.readLine("/proc/\(pid)/comm").map { " (\($0))" } ?? ""
                holders.append("pid \(pid)\(name)")
            }
        }
        return holders
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while data.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data += chunk[..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }
}
