/// Reduces a long series to what a screen can show: per pixel column, the smallest and the
/// largest value of the samples that fall in it.
///
/// Drawing the min-max envelope keeps every spike and dropout visible (averaging or picking
/// every n-th sample would hide them) while the output is bounded by the width in pixels,
/// whatever the number of samples: a 10-million-point waveform becomes at most `columns`
/// pairs. NaN and infinite samples are skipped (a column with none finite is `nil`).
///
/// ```swift
/// let columns = MinMaxDecimator.decimate(samples, columns: 640)
/// // columns[c] = (min: -0.02, max: 1.03) for the samples in pixel column c
/// ```
public enum MinMaxDecimator {
    /// One pixel column: the extremes of its finite samples and the index of each.
    public struct Column: Sendable, Equatable {
        public var min: Double
        public var max: Double
        public var minIndex: Int
        public var maxIndex: Int
    }

    /// Sample `i` of `count` falls in column `i * columns / count`.
    ///
    /// - Returns: `columns` entries (fewer when there are fewer samples: one per sample).
    public static func decimate(_ samples: [Double], columns: Int) -> [Column?] {
        samples.withUnsafeBufferPointer { decimate($0, columns: columns) }
    }

    /// ``decimate(_:columns:)-(_,_)`` over a buffer.
    public static func decimate(_ samples: UnsafeBufferPointer<Double>, columns: Int) -> [Column?] {
        let n = samples.count
        let width = Swift.max(1, Swift.min(columns, n))
        var out = [Column?](repeating: nil, count: n == 0 ? 0 : width)
        guard n > 0 else { return out }
        var start = 0
        for c in 0..<width {
            // Integer bounds: every sample lands in exactly one column.
            let end = (c + 1) * n / width
            var lo = Double.infinity, hi = -Double.infinity
            var loAt = -1, hiAt = -1
            var i = start
            while i < end {
                let v = samples[i]
                if v.isFinite {
                    if v < lo {
                        lo = v
                        loAt = i
                    }
                    if v > hi {
                        hi = v
                        hiAt = i
                    }
                }
                i += 1
            }
            if loAt >= 0 { out[c] = Column(min: lo, max: hi, minIndex: loAt, maxIndex: hiAt) }
            start = end
        }
        return out
    }

    /// The range of sample indices in column `c` of `columns` over `count` samples.
    public static func indices(ofColumn c: Int, columns: Int, count: Int) -> Range<Int> {
        let width = Swift.max(1, Swift.min(columns, count))
        return (c * count / width)..<((c + 1) * count / width)
    }

    /// The smallest and largest finite value of `samples`, or nil when none is finite.
    public static func extremes(_ samples: [Double]) -> (min: Double, max: Double)? {
        var lo = Double.infinity, hi = -Double.infinity
        for v in samples where v.isFinite {
            lo = Swift.min(lo, v)
            hi = Swift.max(hi, v)
        }
        return lo <= hi ? (lo, hi) : nil
    }
}
