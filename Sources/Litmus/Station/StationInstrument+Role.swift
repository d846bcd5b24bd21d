extension StationInstrument {
    /// Whether `name` can be a role: a lower-case identifier (`dmm`, `psu_main`).
    public static func isRoleName(_ name: String) -> Bool { isValidRole(name) }

    /// `text` made into a role name: lower case, other characters as `_`, a leading letter;
    /// nil when nothing usable is left.
    public static func roleName(from text: String) -> String? {
        var out = ""
        for scalar in text.lowercased().unicodeScalars {
            let ok = ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
            if ok {
                out.unicodeScalars.append(scalar)
            } else if !out.isEmpty, !out.hasSuffix("_") {
                out += "_"
            }
        }
        while out.hasSuffix("_") { out.removeLast() }
        guard !out.isEmpty else { return nil }
        if !isValidRole(out) { out = "inst_" + out }
        return isValidRole(out) ? out : nil
    }
}
