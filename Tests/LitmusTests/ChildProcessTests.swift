import Foundation
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// Helper programs started with posix_spawn and reaped with waitpid (real children).
@Suite struct ChildProcessTests {
    @Test func collectsOutputAndExitStatus() throws {
        let result = try ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(result.status == 3)
        #expect(String(decoding: result.output, as: UTF8.self) == "out\n")
    }

    @Test func looksTheProgramUpOnPath() throws {
        let result = try ChildProcess.run("sh", ["-c", "printf %s \"$0\"", "x"])
        #expect(result.status == 0)
        #expect(String(decoding: result.output, as: UTF8.self) == "x")
    }

    @Test func aMissingProgramIsAnErrorThatNamesIt() {
        #expect {
            _ = try ChildProcess.run("litmus-no-such-program-\(UUID().uuidString.prefix(6))", [])
        } throws: { error in
            guard let error = error as? SystemCallError else { return false }
            return error.errno == ENOENT && error.description.contains("litmus-no-such-program")
        }
    }

    @Test func aSignalEndsItWith128PlusTheSignal() throws {
        let result = try ChildProcess.run("/bin/sh", ["-c", "kill -TERM $$"])
        #expect(result.status == 128 + SIGTERM)
    }

    @Test func outputLargerThanThePipeBufferNeitherBlocksNorIsCut() throws {
        let result = try ChildProcess.run("/bin/sh", ["-c", "head -c 300000 /dev/zero"])
        #expect(result.status == 0)
        #expect(result.output.count == 300_000)
        let limited = try ChildProcess.run("/bin/sh", ["-c", "head -c 300000 /dev/zero"], outputLimit: 1000)
        #expect(limited.status == 0)
        #expect(limited.output.count == 1000)
    }

    @Test func theChildGetsNoInputAndIsReaped() throws {
        // Standard input is /dev/null: `cat` ends at once instead of waiting on the test's input.
        let result = try ChildProcess.run("/bin/sh", ["-c", "cat; echo $$"])
        #expect(result.status == 0)
        let pid = pid_t(String(decoding: result.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(pid != nil)
        // Reaped: no zombie left with that pid (kill reports ESRCH for a reaped child).
        if let pid { #expect(kill(pid, 0) == -1 && errno == ESRCH) }
    }
}
