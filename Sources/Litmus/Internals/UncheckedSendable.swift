/// Hands a value to other threads when the compiler cannot prove it safe; the code that makes
/// one states why it is (the value no longer changes, or only one thread touches it).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
