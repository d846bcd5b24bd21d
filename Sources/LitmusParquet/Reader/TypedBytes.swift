// `Array.withUnsafeBytes` rethrows untyped errors; these keep the reader's `DecodeFailure` typed.

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws ``DecodeFailure``.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(DecodeFailure) -> R) throws(DecodeFailure) -> R {
        let result: Result<R, DecodeFailure> = withUnsafeBytes { bytes in
            Result { () throws(DecodeFailure) -> R in try body(bytes) }
        }
        return try result.get()
    }

    /// `withUnsafeMutableBytes` for a body that throws ``DecodeFailure``.
    mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(DecodeFailure) -> R) throws(DecodeFailure) -> R {
        let result: Result<R, DecodeFailure> = withUnsafeMutableBytes { bytes in
            Result { () throws(DecodeFailure) -> R in try body(bytes) }
        }
        return try result.get()
    }
}

extension Array where Element == UInt32 {
    /// `withUnsafeMutableBufferPointer` for a body that throws ``DecodeFailure``.
    mutating func withMutableValues(_ body: (UnsafeMutableBufferPointer<UInt32>) throws(DecodeFailure) -> Void) throws(DecodeFailure) {
        let result: Result<Void, DecodeFailure> = withUnsafeMutableBufferPointer { buffer in
            Result { () throws(DecodeFailure) in try body(buffer) }
        }
        try result.get()
    }
}
