#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A small single-line editor for interactive terminals, with a bounded history kept in a file.
///
/// Keys: Left/Right (Ctrl-B/F), Home/End (Ctrl-A/E), Alt-B/F and Ctrl-Left/Right (word),
/// Backspace, Delete, Up/Down (Ctrl-P/N) through the history, Ctrl-U (kill to start), Ctrl-K
/// (kill to end), Ctrl-W (kill the previous word), Ctrl-L (clear the screen), Ctrl-C (abandon
/// the line), Ctrl-D (end of input on an empty line, else delete), Ctrl-Z (suspend).
///
/// The terminal is in raw mode only while a line is being read, so the output of commands and
/// a Ctrl-C during a slow command behave as usual. It is restored when the line is accepted,
/// and by a signal handler when SIGTERM, SIGHUP, SIGINT or SIGQUIT arrive meanwhile.
///
/// ```swift
/// let editor = LineEditor(history: .init(file: LineEditor.History.defaultFile(name: "scpi_history")))
/// while case .line(let text) = editor.readLine(prompt: "> ") { run(text) }
/// ```
///
/// Every character counts as one column (SCPI is ASCII); a line wider than the terminal
/// scrolls horizontally around the cursor.
final class LineEditor {
    /// What ``readLine(prompt:)`` read.
    enum Input: Equatable {
        /// An accepted line, without its end.
        case line(String)
        /// Ctrl-C: the line was abandoned.
        case interrupted
        /// Ctrl-D on an empty line, or the terminal went away.
        case endOfInput
    }

    /// Whether standard input and output are both terminals, so the editor can be used.
    static var isAvailable: Bool { isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0 }

    /// The history; ``readLine(prompt:)`` adds accepted lines to it.
    private(set) var history: History
    /// The longest line accepted, in characters; typing beyond it is ignored.
    static let maximumLineLength = 64 * 1024

    init(history: History) {
        self.history = history
    }

    // MARK: - Reading a line

    /// Reads one line with editing. Accepted non-empty lines are added to the history.
    func readLine(prompt: String) -> Input {
        flushStandardOutput()
        guard Terminal.enterRawMode() else {
            // Not a terminal after all: read plainly.
            Terminal.write(prompt)
            guard let line = Swift.readLine(strippingNewline: true) else { return .endOfInput }
            return .line(line)
        }
        defer { Terminal.leaveRawMode() }
        var state = EditState(prompt: prompt, historyCount: history.entries.count)
        refresh(&state)
        while let key = readKey() {
            switch key {
            case .insert(let scalar):
                if state.buffer.count < Self.maximumLineLength {
                    state.buffer.insert(scalar, at: state.cursor)
                    state.cursor += 1
                }
            case .left: state.cursor = max(0, state.cursor - 1)
            case .right: state.cursor = min(state.buffer.count, state.cursor + 1)
            case .home: state.cursor = 0
            case .end: state.cursor = state.buffer.count
            case .wordLeft: state.cursor = state.wordStart(before: state.cursor)
            case .wordRight: state.cursor = state.wordEnd(after: state.cursor)
            case .backspace:
                if state.cursor > 0 {
                    state.buffer.remove(at: state.cursor - 1)
                    state.cursor -= 1
                }
            case .delete:
                if state.cursor < state.buffer.count { state.buffer.remove(at: state.cursor) }
            case .controlD:
                if state.buffer.isEmpty {
                    Terminal.write("\r\n")
                    return .endOfInput
                }
                if state.cursor < state.buffer.count { state.buffer.remove(at: state.cursor) }
            case .killToEnd: state.buffer.removeSubrange(state.cursor...)
            case .killToStart:
                state.buffer.removeSubrange(..<state.cursor)
                state.cursor = 0
            case .killWordBack:
                let start = state.wordStart(before: state.cursor)
                state.buffer.removeSubrange(start..<state.cursor)
                state.cursor = start
            case .up: recall(&state, older: true)
            case .down: recall(&state, older: false)
            case .clearScreen:
                Terminal.write("\u{1B}[H\u{1B}[2J")
            case .suspend:
                Terminal.leaveRawMode()
                kill(getpid(), SIGTSTP)
                // Resumed (fg): take the terminal back and redraw.
                _ = Terminal.enterRawMode()
            case .interrupt:
                moveToEnd(&state)
                Terminal.write("^C\r\n")
                return .interrupted
            case .enter:
                moveToEnd(&state)
                Terminal.write("\r\n")
                let line = String(String.UnicodeScalarView(state.buffer))
                history.add(line)
                return .line(line)
            case .ignored:
                continue
            }
            refresh(&state)
        }
        Terminal.write("\r\n")
        return .endOfInput
    }

    /// Up (older) or Down (newer) through the history; the line being typed is kept and comes
    /// back below the newest entry.
    private func recall(_ state: inout EditState, older: Bool) {
        let entries = history.entries
        let target = older ? state.historyIndex - 1 : state.historyIndex + 1
        guard target >= 0, target <= entries.count else { return }
        if state.historyIndex == entries.count { state.pending = state.buffer }
        state.historyIndex = target
        state.buffer = target == entries.count ? state.pending : Array(entries[target].unicodeScalars)
        state.cursor = state.buffer.count
    }

    private func moveToEnd(_ state: inout EditState) {
        state.cursor = state.buffer.count
        refresh(&state)
    }

    /// Redraws the prompt and the visible part of the line, then places the cursor.
    private func refresh(_ state: inout EditState) {
        let promptWidth = state.prompt.unicodeScalars.count
        let columns = Terminal.columns()
        let room = max(1, columns - promptWidth - 1)
        if state.cursor < state.scroll { state.scroll = state.cursor }
        if state.cursor - state.scroll >= room { state.scroll = state.cursor - room + 1 }
        if state.buffer.count - state.scroll < room { state.scroll = max(0, state.buffer.count - room) }
        let visible = state.buffer[state.scroll..<min(state.buffer.count, state.scroll + room)]
        var text = "\r" + state.prompt + String(String.UnicodeScalarView(visible)) + "\u{1B}[K\r"
        let column = promptWidth + state.cursor - state.scroll
        if column > 0 { text += "\u{1B}[\(column)C" }
        Terminal.write(text)
    }

    // MARK: - Keys

    /// One decoded key press.
    enum Key: Equatable {
        case insert(Unicode.Scalar)
        case left, right, home, end, wordLeft, wordRight, up, down
        case backspace, delete, controlD, killToEnd, killToStart, killWordBack
        case clearScreen, suspend, interrupt, enter, ignored
    }

    /// Reads and decodes one key; nil when input ended.
    private func readKey() -> Key? {
        guard let byte = Terminal.readByte() else { return nil }
        switch byte {
        case 0x01: return .home
        case 0x02: return .left
        case 0x03: return .interrupt
        case 0x04: return .controlD
        case 0x05: return .end
        case 0x06: return .right
        case 0x08, 0x7F: return .backspace
        case 0x0A, 0x0D: return .enter
        case 0x0B: return .killToEnd
        case 0x0C: return .clearScreen
        case 0x0E: return .down
        case 0x10: return .up
        case 0x15: return .killToStart
        case 0x17: return .killWordBack
        case 0x1A: return .suspend
        case 0x1B: return readEscape()
        case 0x00..<0x20: return .ignored
        default: return decodeUTF8(first: byte)
        }
    }

    /// An escape sequence: CSI (`ESC [ ... final`), SS3 (`ESC O x`) or Alt+key.
    private func readEscape() -> Key {
        // A lone Escape key press is followed by nothing.
        guard Terminal.byteReady(withinMilliseconds: 50), let next = Terminal.readByte() else { return .ignored }
        switch next {
        case UInt8(ascii: "["):
            var parameters: [UInt8] = []
            // Parameter and intermediate bytes, then one final byte; bounded.
            for _ in 0..<32 {
                guard let b = Terminal.readByte() else { return .ignored }
                if (0x40...0x7E).contains(b) { return csiKey(final: b, parameters: parameters) }
                guard (0x20...0x3F).contains(b) else { return .ignored }
                parameters.append(b)
            }
            return .ignored
        case UInt8(ascii: "O"):
            guard let b = Terminal.readByte() else { return .ignored }
            return csiKey(final: b, parameters: [])
        case UInt8(ascii: "b"), UInt8(ascii: "B"): return .wordLeft
        case UInt8(ascii: "f"), UInt8(ascii: "F"): return .wordRight
        case 0x7F, 0x08: return .killWordBack
        default: return .ignored
        }
    }

    private func csiKey(final: UInt8, parameters: [UInt8]) -> Key {
        let text = String(decoding: parameters, as: UTF8.self)
        let fields = text.split(separator: ";").map(String.init)
        let modified = fields.count >= 2 && fields[1] != "1"
        switch final {
        case UInt8(ascii: "A"): return .up
        case UInt8(ascii: "B"): return .down
        case UInt8(ascii: "C"): return modified ? .wordRight : .right
        case UInt8(ascii: "D"): return modified ? .wordLeft : .left
        case UInt8(ascii: "H"): return .home
        case UInt8(ascii: "F"): return .end
        case UInt8(ascii: "~"):
            switch fields.first {
            case "1", "7": return .home
            case "4", "8": return .end
            case "3": return .delete
            default: return .ignored
            }
        default: return .ignored
        }
    }

    /// The scalar whose UTF-8 encoding starts with `first`; invalid sequences are ignored.
    private func decodeUTF8(first: UInt8) -> Key {
        let length: Int
        switch first {
        case 0x20..<0x80: return .insert(Unicode.Scalar(first))
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return .ignored
        }
        var bytes = [first]
        for _ in 1..<length {
            guard let b = Terminal.readByte(), b & 0xC0 == 0x80 else { return .ignored }
            bytes.append(b)
        }
        guard let scalar = String(validating: bytes, as: UTF8.self)?.unicodeScalars.first else { return .ignored }
        return .insert(scalar)
    }

    /// The line being edited.
    struct EditState {
        let prompt: String
        var buffer: [Unicode.Scalar] = []
        /// Insertion point, 0...buffer.count.
        var cursor = 0
        /// The first character shown when the line is wider than the terminal.
        var scroll = 0
        /// The history entry shown; `entries.count` is the line being typed.
        var historyIndex: Int
        /// The line being typed while the history is browsed.
        var pending: [Unicode.Scalar] = []

        init(prompt: String, historyCount: Int) {
            self.prompt = prompt
            self.historyIndex = historyCount
        }

        private func isWord(_ s: Unicode.Scalar) -> Bool {
            s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "_" || s == "*"
        }

        /// Where the word before `index` starts (skipping separators first).
        func wordStart(before index: Int) -> Int {
            var i = index
            while i > 0 && !isWord(buffer[i - 1]) { i -= 1 }
            while i > 0 && isWord(buffer[i - 1]) { i -= 1 }
            return i
        }

        /// Where the word after `index` ends (skipping separators first).
        func wordEnd(after index: Int) -> Int {
            var i = index
            while i < buffer.count && !isWord(buffer[i]) { i += 1 }
            while i < buffer.count && isWord(buffer[i]) { i += 1 }
            return i
        }
    }

    // MARK: - History

    /// Accepted lines, oldest first, bounded, saved to a file after every addition.
    struct History {
        private(set) var entries: [String] = []
        /// The file, or nil to keep the history in memory only.
        let file: String?
        /// The most entries kept (in memory and in the file).
        let limit: Int
        private var warned = false

        /// Loads `file` when it exists (its last `limit` non-empty lines).
        init(file: String?, limit: Int = 1000) {
            self.file = file
            self.limit = max(1, limit)
            if let file, let data = FileManager.default.contents(atPath: file) {
                let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
                entries = Array(lines.filter { !$0.allSatisfy(\.isWhitespace) }.suffix(self.limit))
            }
        }

        /// `$XDG_DATA_HOME/litmus/<name>`, else `~/.local/share/litmus/<name>`; nil without a home.
        static func defaultFile(name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
            if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
                return "\(data)/litmus/\(name)"
            }
            guard let home = environment["HOME"], !home.isEmpty else { return nil }
            return "\(home)/.local/share/litmus/\(name)"
        }

        /// Appends `line` unless it is blank or repeats the newest entry, then saves.
        mutating func add(_ line: String) {
            guard !line.allSatisfy(\.isWhitespace), entries.last != line else { return }
            entries.append(line)
            if entries.count > limit { entries.removeFirst(entries.count - limit) }
            save()
        }

        /// Rewrites the file (a temporary file renamed over it, mode 0600). A failure is
        /// reported once on standard error; the history still works in memory.
        private mutating func save() {
            guard let file else { return }
            do {
                let directory = (file as NSString).deletingLastPathComponent
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let temporary = "\(file).\(getpid()).tmp"
                let text = entries.joined(separator: "\n") + "\n"
                guard FileManager.default.createFile(
                    atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
                else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
                }
                guard rename(temporary, file) == 0 else {
                    let reason = String(cString: strerror(errno))
                    unlink(temporary)
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "rename: \(reason)"])
                }
            } catch {
                if !warned {
                    warned = true
                    FileHandle.standardError.write(Data("\r\nwarning: cannot save the history to \(file): \(error)\r\n".utf8))
                }
            }
        }
    }
}

// MARK: - The terminal

/// The settings to restore, shared with the signal handler (which may only touch plain memory
/// and call async-signal-safe functions such as `tcsetattr`).
nonisolated(unsafe) private var savedTerminalSettings = termios()
/// 1 while the terminal is in raw mode.
nonisolated(unsafe) private var terminalIsRaw: Int32 = 0
/// The signals whose arrival must restore the terminal first.
private let restoringSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
/// What each of `restoringSignals` did before raw mode (the default, or the session cleanup of
/// `SignalCleanup`), restored when raw mode ends; plain memory, readable in the handler.
nonisolated(unsafe) private let savedSignalActions: UnsafeMutablePointer<sigaction> = {
    let p = UnsafeMutablePointer<sigaction>.allocate(capacity: 4)
    p.initialize(repeating: sigaction(), count: 4)
    return p
}()

/// The slot of `signalNumber` in `savedSignalActions` (no array access in a handler).
private func savedActionSlot(_ signalNumber: Int32) -> Int? {
    switch signalNumber {
    case SIGINT: 0
    case SIGTERM: 1
    case SIGHUP: 2
    case SIGQUIT: 3
    default: nil
    }
}

/// Puts back what the signals did before raw mode.
private func restoreSavedSignalActions() {
    for s in restoringSignals {
        if let i = savedActionSlot(s) { sigaction(s, savedSignalActions + i, nil) }
    }
}

/// Restores the terminal, then lets the signal do what it would have done before raw mode
/// (die, or run the session cleanup that closes the instrument).
private func restoreTerminalAndReraise(_ signalNumber: Int32) {
    if terminalIsRaw != 0 {
        _ = tcsetattr(STDIN_FILENO, TCSANOW, &savedTerminalSettings)
        terminalIsRaw = 0
    }
    if let i = savedActionSlot(signalNumber) {
        sigaction(signalNumber, savedSignalActions + i, nil)
    } else {
        signal(signalNumber, SIG_DFL)
    }
    raise(signalNumber)
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

/// Raw-mode switching and byte I/O on the controlling terminal (standard input and output).
private enum Terminal {
    /// Puts standard input in raw mode (no echo, no line buffering, no signals from keys) and
    /// installs the restoring signal handlers. False when standard input is not a terminal.
    static func enterRawMode() -> Bool {
        var settings = termios()
        guard tcgetattr(STDIN_FILENO, &settings) == 0 else { return false }
        savedTerminalSettings = settings
        settings.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        settings.c_cflag |= tcflag_t(CS8)
        settings.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &settings.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        for s in restoringSignals {
            // Already raw: the saved actions are the ones from before (never this handler).
            if terminalIsRaw == 0, let i = savedActionSlot(s) { sigaction(s, nil, savedSignalActions + i) }
            signal(s, restoreTerminalAndReraise)
        }
        // A parent may have started this process with these signals blocked (the mask is
        // inherited): unblock them, or a SIGTERM or SIGHUP would leave the terminal raw.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for s in restoringSignals { sigaddset(&unblock, s) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        // TCSANOW, not TCSAFLUSH: lines pasted ahead must not be thrown away.
        guard tcsetattr(STDIN_FILENO, TCSANOW, &settings) == 0 else {
            restoreSavedSignalActions()
            return false
        }
        terminalIsRaw = 1
        return true
    }

    /// Restores the settings saved by ``enterRawMode()`` and the signal handling from before.
    static func leaveRawMode() {
        guard terminalIsRaw != 0 else { return }
        _ = tcsetattr(STDIN_FILENO, TCSANOW, &savedTerminalSettings)
        terminalIsRaw = 0
        restoreSavedSignalActions()
    }

    /// One byte of input; nil at end of input or on an error other than EINTR.
    static func readByte() -> UInt8? {
        var byte: UInt8 = 0
        for _ in 0..<1000 {
            let n = read(STDIN_FILENO, &byte, 1)
            if n == 1 { return byte }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
        return nil
    }

    /// Whether a byte arrives within `milliseconds`.
    static func byteReady(withinMilliseconds milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    /// Writes all of `text` to standard output, unbuffered.
    static func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        var attempts = 0
        while !bytes.isEmpty && attempts < 1000 {
            attempts += 1
            let n = bytes.withUnsafeBytes { systemWrite(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes = bytes.dropFirst(n)
            } else if n < 0 && errno != EINTR && errno != EAGAIN {
                return
            }
        }
    }

    /// The terminal's width in columns (80 when it cannot be read).
    static func columns() -> Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }
}
