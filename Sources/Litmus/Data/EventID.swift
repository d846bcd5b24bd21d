import Foundation
import Synchronization

/// Fast, unique, time-ordered event ids (UUID version 7: 48 bits of Unix milliseconds, then
/// 74 bits from a per-process generator seeded once from the system's random source).
///
/// `UUID()` reads the kernel's random source on every call (a system call each time); an
/// event log that emits a million events a second cannot afford that. Ids stay unique across
/// processes through the random seed and the time prefix, and sort by creation time.
enum EventID {
    private static let seed: UInt64 = {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }()
    private static let counter = Atomic<UInt64>(0)

    static func make(at time: Timestamp = .now()) -> UUID {
        let n = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        let a = mix(seed &+ n &* 0x9E37_79B9_7F4A_7C15)
        let b = mix(a ^ seed)
        let ms = UInt64(max(0, time.microseconds / 1000)) & 0xFFFF_FFFF_FFFF
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { raw in
            for i in 0..<6 { raw[i] = UInt8(truncatingIfNeeded: ms >> (40 - 8 * UInt64(i))) }
            raw[6] = 0x70 | UInt8(truncatingIfNeeded: a & 0x0F)  // version 7
            raw[7] = UInt8(truncatingIfNeeded: a >> 8)
            raw[8] = 0x80 | UInt8(truncatingIfNeeded: (a >> 16) & 0x3F)  // RFC 4122 variant
            for i in 9..<16 { raw[i] = UInt8(truncatingIfNeeded: b >> (8 * UInt64(i - 9))) }
        }
        return UUID(uuid: bytes)
    }

    /// SplitMix64's finalizer: a bijective mix, so distinct counters give distinct ids.
    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
