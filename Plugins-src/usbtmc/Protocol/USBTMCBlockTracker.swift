/// Follows the first bytes of a response message to learn whether it starts with an
/// IEEE 488.2 definite-length block (`#<n><n digits: length><length bytes>`), and whether all
/// of it has arrived. Used by the `trust_block_length` and `header_once` quirks, for devices
/// whose EOM or TransferSize cannot be trusted for such a block.
public struct USBTMCBlockTracker: Sendable, Equatable {
    enum State: Sendable, Equatable {
        /// No byte of the message yet.
        case start
        /// Saw `#`; the digit count comes next.
        case digitCount
        /// Reading the length digits.
        case length(digitsLeft: Int, value: Int)
        /// Inside the block's data.
        case data(remaining: Int)
        /// The block is complete, or the message is not a definite-length block.
        case finished
    }

    private(set) var state: State = .start
    private var digitCount = 0
    /// Length of the whole block element (`#`, the digit count, the length digits and the
    /// data), once the length digits have arrived.
    public private(set) var blockLength: Int?

    public init() {}

    /// Starts over for a new message.
    public mutating func reset() {
        state = .start
        blockLength = nil
        digitCount = 0
    }

    /// Whether a definite-length block started and has not all arrived.
    public var isInsideBlock: Bool {
        switch state {
        case .digitCount, .length: true
        case .data(let remaining): remaining > 0
        case .start, .finished: false
        }
    }

    /// Data bytes of the block still to come, when known.
    public var remainingData: Int? {
        if case .data(let remaining) = state { return remaining }
        return nil
    }

    /// Feeds the next received bytes of the message.
    public mutating func consume<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        var index = bytes.startIndex
        while index != bytes.endIndex {
            switch state {
            case .finished:
                return
            case .data(let remaining):
                let n = min(remaining, bytes.distance(from: index, to: bytes.endIndex))
                state = remaining - n == 0 ? .finished : .data(remaining: remaining - n)
                index = bytes.index(index, offsetBy: n)
                continue
            case .start:
                state = bytes[index] == UInt8(ascii: "#") ? .digitCount : .finished
            case .digitCount:
                let c = bytes[index]
                // "#0" is an indefinite-length block: its end is only known from END.
                if c >= UInt8(ascii: "1") && c <= UInt8(ascii: "9") {
                    digitCount = Int(c - UInt8(ascii: "0"))
                    state = .length(digitsLeft: digitCount, value: 0)
                } else {
                    state = .finished
                }
            case .length(let left, let value):
                let c = bytes[index]
                guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else {
                    state = .finished
                    break
                }
                let v = value * 10 + Int(c - UInt8(ascii: "0"))
                if left == 1 {
                    blockLength = 2 + digitCount + v
                    state = v == 0 ? .finished : .data(remaining: v)
                } else {
                    state = .length(digitsLeft: left - 1, value: v)
                }
            }
            index = bytes.index(after: index)
        }
    }
}
