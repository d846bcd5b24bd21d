/// Why `litmus init` or `litmus new-test` wrote nothing: what is wrong, where, and what to do.
struct StarterError: Error, CustomStringConvertible {
    var problem: String
    var fix: String

    var description: String { "\(problem). Fix: \(fix)" }
}
