import Testing

@testable import Litmus

@Suite struct VectorTests {
    @Test func productIsCartesianWithTheLastAxisFastest() throws {
        let v = try Vectors.product([Axis("temp", [25, 85]), Axis("vin", [5, 12, 24])])
        #expect(v.count == 6)
        #expect(v.map(\.index) == Array(0..<6))
        #expect(v.map { "\($0["temp"]!)/\($0["vin"]!)" } == ["25/5", "25/12", "25/24", "85/5", "85/12", "85/24"])
        #expect(v.map { $0.changed("temp") } == [true, false, false, true, false, false])
        #expect(v.map { $0.changed("vin") } == [true, true, true, true, true, true])
    }

    @Test func zipPairsAndRefusesUnequalLengths() throws {
        let v = try Vectors.zip([Axis("vin", [5, 12]), Axis("load", [0.1, 0.5])])
        #expect(v.map { "\($0["vin"]!)@\($0["load"]!)" } == ["5@0.1", "12@0.5"])
        #expect(throws: VectorError("zip needs axes of equal length: vin has 2, load has 3")) {
            try Vectors.zip([Axis("vin", [5, 12]), Axis("load", [0.1, 0.5, 1])])
        }
    }

    @Test func rangeStringsAreInclusiveAndExact() throws {
        #expect(try Axis("t", range: "-40:125:55").values == [-40, 15, 70, 125])
        #expect(try Axis("v", range: "0.1:0.3:0.1").values == [0.1, 0.2, 0.3])
        #expect(try Axis("v", range: "0:100:0.01").values.count == 10_001)
        #expect(throws: VectorError.self) { try Axis("v", range: "5:1:1") }
    }

    @Test func emptyAxesAndEmptyListsAreErrors() {
        #expect(throws: VectorError.self) { try Vectors.product([Axis("vin", [])]) }
        #expect(throws: VectorError.self) { try Vectors.product([]) }
        #expect(throws: VectorError.self) { try Vectors.list([]) }
        #expect(throws: VectorError.self) { try Vectors.product([Axis("a", [1]), Axis("a", [2])]) }
    }

    @Test func explicitListsAreVerbatimWithPerVectorLimits() throws {
        let limit = try Limit.between(3.2, 3.4)
        let v = try Vectors.list(
            [[VectorParam("mode", "CC"), VectorParam("i", 1)], [VectorParam("mode", "CV"), VectorParam("i", 1)]],
            limits: [["vout": limit]])
        #expect(v[0]["mode"] == "CC")
        #expect(v[0].limits["vout"] == limit)
        #expect(v[1].limits.isEmpty)
        #expect(v[1].changed("mode") && !v[1].changed("i"))
    }

    @Test func nestedSweepsCrossAndInnerWins() throws {
        let outer = try Vectors.product([Axis("temp", [25, 85]), Axis("vin", [5])])
        let inner = try Vectors.product([Axis("vin", [12, 24])])
        let v = try Vectors.nested(outer, inner)
        #expect(v.map { "\($0["temp"]!)/\($0["vin"]!)" } == ["25/12", "25/24", "85/12", "85/24"])
        #expect(v.map(\.index) == [0, 1, 2, 3])
    }
}
