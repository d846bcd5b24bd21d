import Foundation

/// A station sequence (`sequences/<name>.yaml`): which steps of a Swift Testing suite run on
/// the bench, in which order, with what retry, stop-on-failure, role and `run_if` conditions.
/// A station engineer edits it to change the line's order without recompiling.
///
/// ```yaml
/// id: power_board            # optional; must equal the file's name
/// steps:
///   - test: powerOn
///     role: setup
///   - test: outputVoltage
///     retry: 2               # attempts after the first (per vector)
///     stop_on_failure: true
///   - test: efficiency
///     run_if: {part: [buck_5v], passed: outputVoltage}
///   - test: powerOff
///     role: teardown
/// ```
///
/// `test` is the test function's name (`outputVoltage`, without the parameter list). A suite
/// marked `.litmusSequenced` is admitted one test at a time in this order; its tests that the
/// sequence does not name are not run. Each test may appear once.
public struct SequenceFile: Sendable {
    /// One step of the sequence.
    public struct Step: Sendable, Equatable {
        /// The test function's name.
        public var test: String
        /// `setup`, `main` or `teardown`; nil keeps the test's own role.
        public var role: String?
        /// Attempts after the first; nil keeps the test's own retry.
        public var retry: Int?
        /// nil keeps the test's own setting.
        public var stopOnFailure: Bool?
        public var runIf: Condition
        /// Where the step's `test:` value is written.
        public var file: String
        public var line: Int
        public var column: Int
        public var keyPath: String

        /// `file:line:column` of the step's `test:` value.
        public var location: String { "\(file):\(line):\(column)" }
    }

    /// When a step runs: every condition given must hold.
    public struct Condition: Sendable, Equatable {
        /// The run's part (its id, or the DUT's part number) is one of these.
        public var part: [String] = []
        /// These earlier steps passed (or were done).
        public var passed: [String] = []
        /// These earlier steps failed or errored.
        public var failed: [String] = []

        public var isEmpty: Bool { part.isEmpty && passed.isEmpty && failed.isEmpty }
    }

    public var id: String
    public var file: String
    public var steps: [Step]

    /// The steps' test names, in order.
    public var names: [String] { steps.map(\.test) }

    /// Reads and checks `path`. Every independent error is reported at once, located.
    ///
    /// - Throws: ``ConfigReport`` with the errors (`file:line:column: key.path: what. Fix: ...`).
    public static func load(_ path: String) throws(ConfigReport) -> SequenceFile {
        let reader = ConfigReader()
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let parsed = reader.collect { () throws -> SequenceFile in
            let root = try reader.load(path)
            let top = try root.mapping("a sequence (a mapping with steps:)", allowed: ["id", "description", "steps"])
            let id = try top.checkID(stem, what: "sequence")
            let stepsNode = try top.required("steps", "the steps in order", example: "steps:\n  - test: powerOn\n    role: setup")
            var steps: [Step] = []
            var seen: [String: String] = [:]
            for node in try stepsNode.list("a list of steps") {
                let step: Step? = reader.collect {
                    let m = try node.mapping("a step (test: name, ...)", allowed: ["test", "role", "retry", "stop_on_failure", "run_if"])
                    let testNode = try m.required("test", "the test function's name", example: "test: powerOn")
                    let name = try testNode.string("a test function's name")
                    if let first = seen[name] {
                        throw testNode.error("test \(name) is already step \(first); a test runs once per run", fix: "remove one of them")
                    }
                    var step = Step(test: name, role: nil, retry: nil, stopOnFailure: nil, runIf: Condition(), file: testNode.file,
                        line: testNode.line, column: testNode.column, keyPath: testNode.path)
                    if let r = m["role"] {
                        let role = try r.string("setup, main or teardown")
                        guard ["setup", "main", "teardown"].contains(role) else {
                            throw r.error("role \(role) is not a step role", fix: "write setup, main or teardown")
                        }
                        step.role = role
                    }
                    if let r = m["retry"] {
                        let n = try r.int("a number of attempts after the first")
                        guard (0...100).contains(n) else { throw r.error("retry \(n) is out of range", fix: "write 0 to 100 (attempts after the first)") }
                        step.retry = n
                    }
                    if let s = m["stop_on_failure"] { step.stopOnFailure = try s.bool() }
                    if let c = m["run_if"] {
                        let cm = try c.mapping("conditions (part:, passed:, failed:)", allowed: ["part", "passed", "failed"])
                        step.runIf.part = try cm["part"]?.listOrSingle().map { try $0.string("a part id") } ?? []
                        for (key, names) in [("passed", \Condition.passed), ("failed", \Condition.failed)] {
                            guard let list = cm[key] else { continue }
                            for n in try list.listOrSingle() {
                                let earlier = try n.string("an earlier step's test name")
                                guard seen[earlier] != nil else {
                                    throw n.error("\(earlier) is not an earlier step of this sequence", fix: "name a test listed above this step")
                                }
                                step.runIf[keyPath: names].append(earlier)
                            }
                        }
                    }
                    seen[name] = "\(steps.count + 1)"
                    return step
                }
                if let step { steps.append(step) }
            }
            if steps.isEmpty && reader.report.errors.isEmpty {
                throw stepsNode.error("the sequence has no steps", fix: "list the tests to run under steps:")
            }
            return SequenceFile(id: id, file: path, steps: steps)
        }
        guard let parsed, reader.report.errors.isEmpty else { throw reader.report }
        return parsed
    }

    /// The step that runs test `name`, with its 0-based position.
    public func step(named name: String) -> (index: Int, step: Step)? {
        steps.firstIndex { $0.test == name }.map { ($0, steps[$0]) }
    }

    /// Errors for the steps that name no test in `available` (test function names), located
    /// at each step, with the names that exist.
    public func unknownSteps(among available: Set<String>) -> [ConfigError] {
        steps.filter { !available.contains($0.test) }.map { step in
            let near = available.sorted().filter { $0.lowercased().hasPrefix(String(step.test.prefix(3)).lowercased()) }
            return ConfigError(
                file: step.file, line: step.line, column: step.column, keyPath: step.keyPath,
                problem: "no test named \(step.test) in the test product\(near.isEmpty ? "" : " (did you mean \(near.joined(separator: ", "))?)")",
                fix: "use one of: \(available.sorted().joined(separator: ", "))")
        }
    }
}
