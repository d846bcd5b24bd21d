import Foundation
@testable import Litmus
@testable import LitmusRunner
import Testing

/// What the web screen needs of the prompt channel: the prompt's picture reaches the faces,
/// and every face learns when a prompt closed (answered elsewhere, timed out, cancelled) and by
/// whom, over a real Unix socket with the test side's real handler.
@Suite struct PromptChannelFacesTests {
    final class Closings: @unchecked Sendable {
        let lock = NSLock()
        var list: [PromptChannel.Closing] = []
        var requests: [PromptChannel.Request] = []
        func add(_ c: PromptChannel.Closing) { lock.withLock { list.append(c) } }
        func add(_ r: PromptChannel.Request) { lock.withLock { requests.append(r) } }
        var all: [PromptChannel.Closing] { lock.withLock { list } }
        var opened: [PromptChannel.Request] { lock.withLock { requests } }
    }

    final class Answer: @unchecked Sendable {
        let lock = NSLock()
        let done = DispatchSemaphore(value: 0)
        var result: Result<(answer: PromptAnswer, source: String), Error>?
        func get() throws -> (answer: PromptAnswer, source: String) {
            done.wait()
            return try lock.withLock { result! }.get()
        }
        /// What the asking side has got so far, for a failure message.
        var state: String { lock.withLock { result.map { "\($0)" } ?? "still waiting for an answer" } }
    }

    /// Asks `prompt` through the socket on a thread, as a test process does.
    static func ask(_ channel: PromptChannel, _ prompt: Prompt) -> Answer {
        let answer = Answer()
        let path = channel.path
        Thread {
            let r = Result { try SocketPromptHandler(path: path).answerWithSource(prompt) }
            answer.lock.withLock { answer.result = r }
            answer.done.signal()
        }.start()
        return answer
    }

    static func waitOpen(_ channel: PromptChannel) -> PromptChannel.Request? {
        for _ in 0..<12_000 {  // a guard against a hang (60 s, for a loaded CI machine), not a timing assert
            if let first = channel.open.first { return first }
            usleep(5000)
        }
        return nil
    }

    @Test func theFirstAnswerWinsAndEveryFaceSeesThePromptCloseWithWhoAnswered() throws {
        let channel = try PromptChannel()
        defer { channel.close() }
        let seen = Closings()
        channel.onClosed = { seen.add($0) }
        channel.onPrompt = { seen.add($0) }
        let answer = Self.ask(channel, Prompt(message: "Close the fixture lid", kind: .confirm, choices: [], timeout: nil, image: "images/fixture_lid.svg"))
        let request = try #require(Self.waitOpen(channel), "the prompt never opened; the asking side: \(answer.state)")
        #expect(request.image == "images/fixture_lid.svg", "the picture's path reaches the faces")
        #expect(seen.opened.map(\.id) == [request.id])

        #expect(channel.answer(id: request.id, value: "yes", source: "operator:bob@web"))
        #expect(!channel.answer(id: request.id, value: "no", source: "operator:alice@terminal"), "the second face is refused")
        let got = try answer.get()
        #expect(got.answer == .confirmed(true) && got.source == "operator:bob@web")
        #expect(seen.all == [PromptChannel.Closing(id: request.id, response: "answered", value: "yes", source: "operator:bob@web")])
        #expect(channel.open.isEmpty)
    }

    @Test func aTimeoutAndACancelCloseThePromptOnEveryFace() throws {
        let channel = try PromptChannel()
        let seen = Closings()
        channel.onClosed = { seen.add($0) }
        channel.onPrompt = { seen.add($0) }
        // The faces learn of the prompt from onPrompt (polling `open` could miss a prompt that
        // times out in 0.2 s on a loaded machine).
        let timed = Self.ask(channel, Prompt(message: "Which variant?", kind: .choice, choices: ["A", "B"], timeout: 0.2))
        #expect(try timed.get().answer == .timedOut)
        let first = try #require(seen.opened.first)
        #expect(first.image == nil)

        let cancelled = Self.ask(channel, Prompt(message: "Serial label?", kind: .input, choices: [], timeout: nil))
        let second = try #require(Self.waitOpen(channel), "the prompt never opened; the asking side: \(cancelled.state)")
        channel.close()
        #expect(throws: PromptError.self) { try cancelled.get() }
        #expect(seen.all.map(\.response) == ["timed_out", "cancelled"], "\(seen.all)")
        #expect(seen.all.map(\.id) == [first.id, second.id])
    }

    /// A channel closed before its acceptor thread reached accept() must not accept on its old
    /// descriptor number once a new channel's listener has taken it: that acceptor belonged to
    /// a closed channel and refused the new channel's prompt (seen in CI as "refused (runner)").
    @Test func aClosedChannelNeverAcceptsForTheNextOne() throws {
        for round in 0..<100 {
            let old = try PromptChannel()
            old.close()
            let channel = try PromptChannel()
            defer { channel.close() }
            let answer = Self.ask(channel, Prompt(message: "Round \(round)?", kind: .confirm, choices: [], timeout: nil))
            let request = try #require(Self.waitOpen(channel), "round \(round): the prompt never opened; the asking side: \(answer.state)")
            #expect(channel.answer(id: request.id, value: "yes", source: "operator:test"))
            #expect(try answer.get().answer == .confirmed(true))
        }
    }

    /// Closing twice (the server's close, then the channel's deinit) closes its socket once: the
    /// second close used to close the listener's descriptor number again, which by then could
    /// be a file another thread had opened (seen in CI as a file copy failing with EBADF).
    @Test func closingTwiceLeavesOtherDescriptorsAlone() throws {
        let channel = try PromptChannel()
        channel.close()
        // Descriptors opened after the first close take the lowest free numbers, the
        // listener's among them.
        let others = (0..<16).map { _ in open("/dev/null", O_RDONLY | O_CLOEXEC) }
        defer { for fd in others where fd >= 0 { close(fd) } }
        #expect(others.allSatisfy { $0 >= 0 })
        channel.close()
        for fd in others {
            #expect(fcntl(fd, F_GETFD) != -1, "descriptor \(fd) was closed by the channel's second close")
        }
    }
}
