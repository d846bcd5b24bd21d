import LitmusDriverKit
import LitmusJSON

/// Renders trace entries and driver values as compact JSON text.
enum JSONWriter {
    /// A typed value as JSON: numbers, bools, strings and arrays as themselves, bytes in the
    /// behaviour grammar's `{"hex": "..."}` form, VOID as null.
    static func value(_ v: DriverValue) -> String {
        switch v {
        case .void: "null"
        case .f64(let d): JSONText.number(d)
        case .i64(let i): String(i)
        case .bool(let b): b ? "true" : "false"
        case .string(let s): JSONText.quoted(s)
        case .f64Array(let a): "[" + a.map(JSONText.number).joined(separator: ",") + "]"
        case .bytes(let b): "{\"hex\":\"" + hexString(b) + "\"}"
        }
    }

    /// Raw bytes for a trace: as a JSON string of their text when they are valid UTF-8,
    /// otherwise `"hex:0a0d..."`.
    static func bytesAsText(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return JSONText.quoted(text) }
        return "\"hex:" + hexString(bytes) + "\""
    }
}

