import Foundation
import Litmus
import Testing

/// Sweep points for `@Test(arguments:)`: traits cannot see a parameterized test's arguments, so
/// a sweep reaches the test as its arguments, one ``Vector`` per case. Give each case's vector
/// to ``Litmus/use(_:)``; its parameters become the `in_*` columns of its row.
///
/// ```swift
/// @Test(arguments: try Sweep.product(Axis("vin", range: "5:12:3.5"), Axis("load", [0.1, 0.5])))
/// func rails(_ point: Vector) throws { try Litmus.use(point); ... }
/// ```
public enum Sweep {
    /// Every combination, the first axis outermost and the last varying fastest.
    public static func product(_ axes: Axis...) throws(VectorError) -> [Vector] { try Vectors.product(axes) }

    /// Axes in lock step (equal lengths, checked).
    public static func zip(_ axes: Axis...) throws(VectorError) -> [Vector] { try Vectors.zip(axes) }

    /// Outer × inner (inner values win for a shared name); e.g. a temperature per chamber
    /// setting around an electrical sweep.
    public static func nested(_ outer: [Vector], _ inner: [Vector]) throws(VectorError) -> [Vector] { try Vectors.nested(outer, inner) }

    /// Explicit points, as written.
    public static func list(_ rows: [KeyValuePairs<String, ParamValue>]) throws(VectorError) -> [Vector] {
        try Vectors.list(rows.map { row in row.map { VectorParam($0.key, $0.value) } })
    }

    /// The `vectors:` of a test in a sidecar file (see ``Trait/litmusSidecar(_:filePath:sourceLocation:)``),
    /// its `defaults` if the test has none there.
    ///
    /// - Throws: ``LitmusTestingError`` with the file's located errors, or when neither
    ///   the test nor the defaults have vectors.
    public static func sidecar(_ path: String? = nil, test: String, filePath: String = #filePath) throws -> [Vector] {
        let file = LitmusSidecarFile.resolve(path, filePath: filePath)
        let sidecar = try LitmusSidecarFile.load(file).get()
        guard let vectors = sidecar.tests[test]?.vectors ?? sidecar.defaults?.vectors else {
            throw LitmusTestingError("sidecar file \(file) has no vectors for test \(test): add `tests: {\(test): {vectors: ...}}`")
        }
        return vectors
    }
}

extension Axis {
    /// `count` evenly spaced points from `start` to `stop`, both included (exact decimals).
    public static func linspace(_ name: String, _ start: Double, _ stop: Double, count: Int) throws(VectorError) -> Axis {
        try generated(name, "linspace", [start, stop, Double(count)])
    }

    /// `start`, `start + step`, ... below `stop` (exclusive, like numpy's arange).
    public static func arange(_ name: String, _ start: Double, _ stop: Double, step: Double) throws(VectorError) -> Axis {
        try generated(name, "arange", [start, stop, step])
    }

    /// `count` points from 10^`start` to 10^`stop`, evenly spaced in the exponent.
    public static func logspace(_ name: String, _ start: Double, _ stop: Double, count: Int) throws(VectorError) -> Axis {
        try generated(name, "logspace", [start, stop, Double(count)])
    }

    /// `count` points from `start` to `stop` in a geometric progression.
    public static func geomspace(_ name: String, _ start: Double, _ stop: Double, count: Int) throws(VectorError) -> Axis {
        try generated(name, "geomspace", [start, stop, Double(count)])
    }

    private static func generated(_ name: String, _ generator: String, _ arguments: [Double]) throws(VectorError) -> Axis {
        do {
            return Axis(name, try RangeExpander.generate(generator, arguments).map { .number($0) })
        } catch {
            throw VectorError("axis '\(name)': \(error.message)")
        }
    }
}

extension Vector: CustomTestStringConvertible {
    /// How Swift Testing names the case: `vin=5 load=0.1`.
    public var testDescription: String {
        params.isEmpty ? "#\(index)" : params.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
    }
}
