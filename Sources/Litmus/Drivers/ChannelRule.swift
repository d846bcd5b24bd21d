/// The rule that makes a parameter a channel, and its valid values.
///
/// A parameter is a channel when the driver flags it `LITMUS_PARAM_CHANNEL` (a profile:
/// `channel: true`), or when it is named `channel`, whatever its type. Its values are its
/// choices (`{"1", "2"}`, `{"CH1", "CH2"}`), else the integers of its range (`i64 1...2` ->
/// `1`, `2`); a channel parameter with neither has no known values, and `station check`
/// warns that fixture channels cannot be checked against it.
public enum ChannelRule {
    /// The most values a numeric range yields; a wider range is not listed (unknown).
    public static let maxRangeValues = 4096

    /// Whether `param` selects a channel.
    public static func isChannel(_ param: ParameterInfo) -> Bool {
        param.isChannel || param.name.lowercased() == "channel"
    }

    /// The valid values of channel parameter `param` as text, in order; empty when unknown.
    public static func values(of param: ParameterInfo) -> [String] {
        if let choices = param.choices { return choices }
        guard param.type == .i64 || param.type == .f64, let range = param.range,
            range.lowerBound.isFinite, range.upperBound.isFinite
        else { return [] }
        let low = range.lowerBound.rounded(.up), high = range.upperBound.rounded(.down)
        guard low <= high, high - low < Double(maxRangeValues) else { return [] }
        return (Int(low)...Int(high)).map(String.init)
    }

    /// `channel` as the valid values spell it: an integer written `01` or `1.0` is `1` when
    /// the values are integers.
    public static func normalized(_ channel: String, among values: [String]) -> String {
        guard !values.contains(channel), !values.isEmpty, values.allSatisfy({ Int($0) != nil }) else { return channel }
        if let i = Int(channel) { return String(i) }
        if let d = Double(channel), d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return channel
    }
}
