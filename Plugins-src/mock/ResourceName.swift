import LitmusDriverKit
import LitmusJSON

/// The `<name>` of a simulated resource string `<SCHEME>::<name>[::INSTR]`.
enum ResourceName {
    /// Parses `resource`; the scheme and the `INSTR` suffix are case-insensitive, the name is
    /// kept as written. Throws `invalidArgument` naming the expected form.
    static func parse(_ resource: String, scheme: String, example: String) throws -> String {
        let parts = resource.split(separator: "::", omittingEmptySubsequences: false)
        let valid =
            (parts.count == 2 || (parts.count == 3 && parts[2].uppercased() == "INSTR"))
            && parts[0].uppercased() == scheme && !parts[1].isEmpty
            && !parts[1].contains(where: \.isWhitespace)
        guard valid else {
            throw DriverFailure.invalidArgument(
                "\(JSONText.quoted(resource)) is not a \(scheme) resource; expected \(scheme)::<name> or "
                    + "\(scheme)::<name>::INSTR (e.g. \(example))")
        }
        return String(parts[1])
    }
}
