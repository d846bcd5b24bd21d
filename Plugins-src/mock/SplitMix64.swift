import Foundation

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seedable generator, so that noise
/// behaviours give the same values on every run and every platform.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// One standard normal sample (Box-Muller; the second sample of each pair is discarded
    /// so that every call consumes exactly two draws).
    mutating func nextGaussian() -> Double {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53  // (0, 1]: log(u1) is finite
        let u2 = Double(next() >> 11) * 0x1p-53  // [0, 1)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// The default seed of a noise behaviour: FNV-1a of the operation name, mixed with the
    /// session's `seed` open option, so every operation gets its own reproducible stream.
    static func defaultSeed(operation: String, sessionSeed: Int64) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in operation.utf8 {
            hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        var mixer = SplitMix64(seed: hash ^ UInt64(bitPattern: sessionSeed))
        return mixer.next()
    }
}
