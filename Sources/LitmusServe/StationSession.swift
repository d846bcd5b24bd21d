import Foundation
import Litmus
import LitmusJSON
import LitmusRunner

/// The station runtime behind the web screen: one ``StationRunner`` (one board at a time),
/// one ``PromptChannel``, the board on the screen and today's yield. Every live state comes
/// from the event log (the runner's durable events) and the prompt channel; the test's output
/// is never read.
///
/// A face (an open browser tab) starts a board, answers a prompt or aborts; every change is
/// published to all open screens through ``hub``, and ``snapshot()`` gives a screen that
/// connects the whole state.
final class StationSession: @unchecked Sendable {
    let options: StationRunner.Options
    let channel: PromptChannel
    let hub = EventHub()
    /// The station file's folder (prompt images are served from it, nothing else).
    let stationFolder: String

    private let lock = NSLock()
    /// nil while the bench is held by a board found running in the log (a restart mid-run):
    /// the bench is checked again when that board ends.
    private var runnerBox: StationRunner?
    private var benchProblem: String?
    private var board: LiveBoard?
    private var testing = false
    private var follower: Thread?
    private var yield: YieldCounter
    /// The latest closed prompts, to tell a late answer who answered first.
    private var closings: [PromptChannel.Closing] = []

    /// Checks the bench (``StationRunner``), opens the prompt channel, and rebuilds from the
    /// event log the station's latest board and today's yield.
    init(_ options: StationRunner.Options) throws {
        self.options = options
        channel = try PromptChannel()
        stationFolder = (URL(fileURLWithPath: options.station).standardizedFileURL.deletingLastPathComponent().path as NSString).resolvingSymlinksInPath
        yield = YieldCounter(day: YieldCounter.today())
        var runner: StationRunner?
        do {
            runner = try Self.makeRunner(options)
        } catch let error as RunnerError {
            // A board still running from before a restart holds the bench: show it, and check
            // the bench once it has ended. Any other refusal stops the server.
            guard Self.liveRunInLog(options.dataDir) else { throw error }
            benchProblem = error.message
        }
        runnerBox = runner
        channel.onPrompt = { [weak self] request in self?.promptOpened(request) }
        channel.onClosed = { [weak self] closing in self?.promptClosed(closing) }
        rebuildFromLog(stationID: runner?.bench.stationID)
    }

    static func makeRunner(_ options: StationRunner.Options) throws -> StationRunner {
        let runner = try StationRunner(options)
        // Measurements reach the screens within 20 ms of becoming durable (plus the push).
        runner.followInterval = 0.02
        return runner
    }

    var runner: StationRunner? { lock.withLock { runnerBox } }

    /// Whether the newest open run of the data directory still has a live writer.
    static func liveRunInLog(_ dataDir: String) -> Bool {
        guard let catalog = try? RunCatalog(dataDir: dataDir), let open = catalog.summaries.first(where: { $0.outcome == nil }) else { return false }
        return EventReader(dataDir: dataDir).files(sessionID: open.sessionID).contains { EventReader.isWriterAlive(path: $0) }
    }

    func close() {
        runner?.abortCurrentBoard(reason: "the web screen's server stopped")
        channel.close()
        hub.finishAll()
    }

    // MARK: Faces' actions

    /// Starts testing a board (on a thread of its own) and returns at once.
    ///
    /// - Throws: ``ServeError`` (`conflict`) while a board is being tested, or (`invalid`) for
    ///   a serial or operator the runner refuses, with what to do.
    func start(serial raw: String, operatorID rawOperator: String?, by user: String) throws {
        guard let runner else {
            throw ServeError(.conflict, "the bench is in use by the board found running in the event log: wait for its verdict (\(benchProblem ?? ""))")
        }
        let serial: String
        do { serial = try runner.validate(serial: raw) } catch let e as RunnerError { throw ServeError(.invalid, e.message) }
        let op = rawOperator?.trimmingCharacters(in: .whitespacesAndNewlines)
        let operatorID = op?.isEmpty == false ? op : nil
        if let operatorID {
            do { try StationRunner.validate(operatorID: operatorID) } catch let e as RunnerError { throw ServeError(.invalid, e.message) }
        }
        let thread = Thread { [self] in test(serial: serial, operatorID: operatorID ?? runner.options.operatorID, by: user) }
        thread.name = "litmus-serve-board"
        // One board at a time; the board is on the screens before its thread runs.
        try lock.withLock {
            if testing { throw ServeError(.conflict, "board \(board?.serial ?? "?") is being tested: wait for its verdict, or abort it first") }
            testing = true
            board = LiveBoard(serial: serial, operatorID: operatorID ?? runner.options.operatorID, expected: nil)
            publishBoard()
        }
        thread.start()
    }

    private func test(serial: String, operatorID: String?, by user: String) {
        guard let runner else { return }
        var result: StationRunner.Board?
        var failure: String?
        do {
            result = try runner.test(
                serial: serial, operatorID: operatorID, promptSocket: channel.path,
                progress: { [self] progress in
                    // The estimate is known once the runner has read the history.
                    lock.withLock {
                        if board?.progress.expected == nil, let expected = progress.expected {
                            board?.progress.expected = expected
                            var j = JSONBuffer()
                            j.beginObject()
                            j.field("expected_steps", expected.steps)
                            j.field("expected_seconds", expected.seconds)
                            j.endObject()
                            publish(Message(type: "expected", json: j))
                        }
                    }
                },
                onEvent: { [self] event in
                    lock.withLock {
                        if let message = board?.apply(event) { publish(message) }
                    }
                })
        } catch let error as RunnerError {
            failure = error.message
        } catch {
            failure = "\(error)"
        }
        // A prompt its test can no longer take is closed on every screen.
        for request in channel.open where request.dutSerial == serial || request.dutSerial == nil {
            channel.cancel(id: request.id, reason: "the board's test ended")
        }
        lock.withLock {
            let outcome = result?.outcome ?? .errored
            yield.count(outcome)
            if var b = board {
                publish(b.end(result, outcome: outcome, reason: result?.reason ?? failure, yield: yield))
                board = b
            }
            testing = false
        }
    }

    /// Aborts the board being tested: its teardown still runs, its run is recorded aborted.
    ///
    /// - Throws: ``ServeError`` (`conflict`) when no board is being tested.
    func abort(by user: String) throws {
        guard let runner, let serial = runner.testingSerial else { throw ServeError(.conflict, "no board is being tested: nothing to abort") }
        runner.abortCurrentBoard(reason: "aborted by \(user) at the web screen")
        publish(Message(type: "note", data: #"{"text":"aborting board \#(serial): its teardown runs, then the verdict"}"#))
    }

    /// Answers an open prompt for `user` (`operator:bob@web` in the run's record).
    ///
    /// - Throws: ``ServeError``: `notFound` for an unknown prompt, `conflict` when another
    ///   screen answered first (saying who), `invalid` for an answer the prompt does not take.
    func answer(id: String, value: String, by user: String) throws {
        guard let request = channel.open.first(where: { $0.id == id }) else {
            if let closing = lock.withLock({ closings.last { $0.id == id } }) {
                throw ServeError(.conflict, "the prompt was \(closing.response == "answered" ? "answered already by \(closing.source)" : closing.response.replacingOccurrences(of: "_", with: " "))")
            }
            throw ServeError(.notFound, "no open prompt \(id.prefix(40))")
        }
        switch request.kind {
        case "confirm":
            guard value == "yes" || value == "no" else { throw ServeError(.invalid, "answer yes or no to \"\(request.message)\"") }
        case "choice":
            guard request.choices.contains(value) else {
                throw ServeError(.invalid, "\(value.prefix(40)) is not one of the choices: \(request.choices.joined(separator: ", "))")
            }
        default:
            guard value.count <= 4096, !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else {
                throw ServeError(.invalid, "the answer must be one line of at most 4096 characters")
            }
        }
        guard channel.answer(id: id, value: value, source: "operator:\(user)@web") else {
            let closing = lock.withLock { closings.last { $0.id == id } }
            throw ServeError(.conflict, "the prompt was \(closing.map { $0.response == "answered" ? "answered already by \($0.source)" : $0.response } ?? "closed")")
        }
    }

    // MARK: Prompts

    private func promptOpened(_ request: PromptChannel.Request) {
        var j = JSONBuffer()
        write(request, &j)
        publish(Message(type: "prompt", json: j))
    }

    private func promptClosed(_ closing: PromptChannel.Closing) {
        lock.withLock {
            closings.append(closing)
            if closings.count > 64 { closings.removeFirst(closings.count - 64) }
        }
        var j = JSONBuffer()
        j.beginObject()
        j.field("id", closing.id)
        j.field("response", closing.response)
        j.field("value", closing.value)
        j.field("source", closing.source)
        j.endObject()
        publish(Message(type: "prompt_closed", json: j))
    }

    private func write(_ request: PromptChannel.Request, _ j: inout JSONBuffer) {
        j.beginObject()
        j.field("id", request.id)
        j.field("kind", request.kind)
        j.field("message", request.message)
        j.key(static: "choices")
        j.beginArray()
        for c in request.choices { j.value(c) }
        j.endArray()
        j.field("serial", request.dutSerial)
        if let t = request.timeoutSeconds, t.isFinite {
            j.field("timeout", t)
            j.field("deadline", Int64((request.receivedAt.timeIntervalSince1970 + t) * 1000))
        }
        if let image = request.image {
            if ServeFiles.resolve(image, under: stationFolder) != nil {
                j.field("image", "/station-files/" + image.split(separator: "/").map { String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? "" }.joined(separator: "/"))
            } else {
                j.field("image_problem", "the prompt's image \(image) is not a picture inside the station folder \(stationFolder)")
            }
        }
        j.endObject()
    }

    // MARK: Screens

    private func publish(_ message: Message) {
        hub.publish(message)
    }

    private func publishBoard() {
        var j = JSONBuffer()
        board?.write(&j)
        publish(Message(type: "board", json: j))
    }

    /// The whole state for a screen that connects now, and the stream of changes after it.
    func subscribe() -> (id: UUID, subscriber: EventHub.Subscriber) {
        lock.withLock {
            var j = JSONBuffer()
            writeState(&j)
            return hub.subscribe(first: Message(type: "state", json: j))
        }
    }

    /// The whole state as JSON (`GET /api/state`).
    func snapshot() -> String {
        lock.withLock {
            var j = JSONBuffer()
            writeState(&j)
            return String(decoding: j.bytes, as: UTF8.self)
        }
    }

    /// Called with the lock held.
    private func writeState(_ j: inout JSONBuffer) {
        j.beginObject()
        j.key(static: "station")
        writeStation(&j)
        j.field("testing", testing)
        if let board {
            j.key(static: "board")
            board.write(&j)
        }
        j.key(static: "prompts")
        j.beginArray()
        for request in channel.open { write(request, &j) }
        j.endArray()
        j.key(static: "yield")
        if yield.day != YieldCounter.today() { yield = YieldCounter(day: YieldCounter.today()) }
        yield.write(&j)
        j.field("now", Timestamp.now().microseconds / 1000)
        j.endObject()
    }

    private func writeStation(_ j: inout JSONBuffer) {
        let o = options
        guard let runner = runnerBox else {
            j.beginObject()
            j.field("id", (o.station as NSString).lastPathComponent)
            j.field("file", o.station)
            j.field("phase", o.phase)
            j.field("command", o.command.joined(separator: " "))
            j.key(static: "roles")
            j.beginArray()
            j.endArray()
            j.key(static: "warnings")
            j.beginArray()
            j.value("the bench is checked once the board running from before the restart ends: \(benchProblem ?? "")")
            j.endArray()
            j.endObject()
            return
        }
        let b = runner.bench
        j.beginObject()
        j.field("id", b.stationID)
        j.field("file", o.station)
        j.field("phase", o.phase)
        j.field("sequence", runner.sequence.map { "\($0.id): \($0.names.joined(separator: ", "))" })
        j.field("operator", o.operatorID)
        j.field("serial_pattern", o.serialPattern)
        j.field("command", o.command.joined(separator: " "))
        j.key(static: "roles")
        j.beginArray()
        for i in b.instruments {
            j.beginObject()
            j.field("role", i.role)
            j.field("driver", i.driver)
            j.field("resource", i.resource)
            j.field("mocked", i.mocked)
            j.field("identity", [i.manufacturer, i.model, i.serial, i.firmware].compactMap { $0 }.joined(separator: " ").nilIfEmpty)
            j.field("calibration_due", i.calibrationDue)
            switch b.calibration[i.role] ?? .unknown {
            case .valid(let days): j.field("calibration", "valid"); j.field("calibration_days", days)
            case .dueSoon(let days): j.field("calibration", "due_soon"); j.field("calibration_days", days)
            case .expired(let days): j.field("calibration", "expired"); j.field("calibration_days", -days)
            case .unknown: j.field("calibration", "unknown")
            }
            j.endObject()
        }
        j.endArray()
        j.key(static: "warnings")
        j.beginArray()
        for w in b.warnings { j.value(w) }
        j.endArray()
        j.endObject()
    }

    // MARK: Restart

    /// The board from before the restart has ended: check the bench now, and give every
    /// screen the whole state again.
    private func benchFree() {
        guard lock.withLock({ runnerBox == nil }) else { return }
        do {
            let runner = try Self.makeRunner(options)
            lock.withLock {
                runnerBox = runner
                benchProblem = nil
            }
        } catch let error as RunnerError {
            lock.withLock { benchProblem = error.message }
        } catch {
            lock.withLock { benchProblem = "\(error)" }
        }
        let state = snapshot()
        publish(Message(type: "state", data: state))
    }

    /// The station's latest board and today's yield, from the event log: a server restarted
    /// mid-run shows that run as the log tells it, and follows it until it ends.
    private func rebuildFromLog(stationID: String?) {
        guard let catalog = try? RunCatalog(dataDir: options.dataDir) else { return }
        // Without the bench check (it waits for the running board), the newest run's station.
        guard let station = stationID ?? catalog.summaries.first?.stationID else { return }
        let today = YieldCounter.today()
        let mine = catalog.summaries.filter { $0.stationID == station }
        for s in mine where s.startedAt.map({ String($0.iso8601.prefix(10)) }) == today {
            if let outcome = s.outcome { yield.count(outcome, on: today) }
        }
        guard let latest = mine.first, let run = catalog.runs[latest.runID], let sessionID = run.sessionID else { return }
        guard let events = try? EventReader(dataDir: options.dataDir).events(sessionID: sessionID).events else { return }
        var live = LiveBoard(serial: latest.dutSerial, operatorID: run.started?.operatorID, expected: nil, startedHere: false)
        for event in events where event.runID == nil || event.runID == latest.runID { _ = live.apply(event) }
        if let outcome = live.progress.outcome {
            _ = live.end(nil, outcome: outcome, reason: live.progress.endReason, yield: yield)
            board = live
            return
        }
        board = live
        // Still open: follow the log until the run ends.
        let dataDir = options.dataDir
        let thread = Thread { [weak self] in
            let reader = EventReader(dataDir: dataDir)
            var position = EventReader.TailPosition.start
            // The events read above are skipped: the first tail reads the session again.
            var seen = events.count
            while let self {
                guard let batch = try? reader.tail(sessionID: sessionID, from: position) else { return }
                position = batch.position
                let done = self.lock.withLock { () -> Bool in
                    guard self.board?.sessionID == sessionID, !self.testing else { return true }
                    for event in batch.events {
                        if seen > 0 {
                            seen -= 1
                            continue
                        }
                        if let m = self.board?.apply(event) { self.publish(m) }
                    }
                    if let outcome = self.board?.progress.outcome, var b = self.board {
                        self.yield.count(outcome)
                        self.publish(b.end(nil, outcome: outcome, reason: b.progress.endReason, yield: self.yield))
                        self.board = b
                        return true
                    }
                    // Its process is gone without ending the run: the log ends there.
                    if batch.events.isEmpty && !reader.files(sessionID: sessionID).contains(where: { EventReader.isWriterAlive(path: $0) }) {
                        self.publish(Message(type: "note", data: #"{"text":"the board's test process is gone without ending its run: the log ends here"}"#))
                        return true
                    }
                    return false
                }
                if done {
                    self.benchFree()
                    return
                }
                usleep(50_000)
            }
        }
        thread.name = "litmus-serve-follow"
        follower = thread
        thread.start()
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

/// What a face asked for that cannot be done, as an HTTP status and a message for the operator.
struct ServeError: Error, CustomStringConvertible {
    enum Kind: Sendable { case invalid, conflict, notFound, forbidden, unauthorized }
    var kind: Kind
    var message: String
    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    var description: String { message }
}
