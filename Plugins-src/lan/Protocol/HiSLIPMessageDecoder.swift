/// Splits a received byte stream into HiSLIP messages.
///
/// Feed it bytes as they arrive with ``append(_:)``; ``next()`` returns each complete message.
/// It checks framing only (the prologue, and the payload length against the limit): what a
/// message means is for the caller, which can run `message.header.validate(...)`. After it
/// throws, the stream cannot be resynchronised; the connection must be closed.
///
/// ```swift
/// var decoder = HiSLIPMessageDecoder(maxPayloadLength: 1 << 20)
/// decoder.append(received)
/// while let message = try decoder.next() { handle(message) }
/// ```
public struct HiSLIPMessageDecoder: Sendable {
    /// The longest payload accepted.
    public var maxPayloadLength: UInt64
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxPayloadLength: UInt64) {
        self.maxPayloadLength = maxPayloadLength
    }

    /// Bytes received but not yet returned as messages.
    public var bufferedCount: Int { buffer.count - start }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    private mutating func compact() {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }

    /// The next complete message, or nil until more bytes arrive.
    public mutating func next() throws(HiSLIPViolation) -> HiSLIPMessage? {
        guard buffer.count - start >= HiSLIPHeader.size else { return nil }
        let header = try buffer.withUnsafeBytes { raw in
            Result { () throws(HiSLIPViolation) -> HiSLIPHeader in
                try HiSLIPHeader.parse(UnsafeRawBufferPointer(rebasing: raw[start..<(start + HiSLIPHeader.size)]))
            }
        }.get()
        let limit = min(maxPayloadLength, 1 << 40)
        guard header.payloadLength <= limit else {
            throw .payloadTooLarge(header.type, length: header.payloadLength, limit: limit)
        }
        let length = Int(header.payloadLength)
        guard buffer.count - start - HiSLIPHeader.size >= length else { return nil }
        let from = start + HiSLIPHeader.size
        let payload = Array(buffer[from..<(from + length)])
        start = from + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        return HiSLIPMessage(header.type, controlCode: header.controlCode, parameter: header.parameter, payload: payload)
    }
}
