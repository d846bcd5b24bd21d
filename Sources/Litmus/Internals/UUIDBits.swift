import Foundation

/// A UUID's 16 bytes, in a type whose layout the compiler knows.
///
/// Foundation's `UUID` is a resilient type: its size is known only at run time, so a struct
/// that stores one is copied, returned and destroyed through runtime calls in every other
/// module. Values on hot paths (a channel sample's URI) store these bits instead and convert at
/// their public API.
struct UUIDBits: Hashable, Sendable {
    var high: UInt64
    var low: UInt64

    init(_ uuid: UUID) {
        let bytes = uuid.uuid
        high = withUnsafeBytes(of: bytes) { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
        low = withUnsafeBytes(of: bytes) { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
    }

    var uuid: UUID {
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { raw in
            raw.storeBytes(of: high.bigEndian, as: UInt64.self)
            raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return UUID(uuid: bytes)
    }
}
