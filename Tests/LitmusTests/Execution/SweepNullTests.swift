import Foundation
import Testing

@testable import Litmus

/// One rule for null in a sweep (issue 12 item 19): explicit vector lists refused null, while
/// product and zip axes turned it into the text "null". Now every sweep value refuses null,
/// located, in harness configs and sidecar files alike; a quoted "null" stays the text.
@Suite struct SweepNullTests {
    /// The one error of `text` read as a harness config.
    func nullError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfigError {
        let report = try #require(throws: ConfigReport.self, sourceLocation: sourceLocation) {
            try HarnessConfig.parse(text, file: "t.yaml")
        }
        #expect(report.errors.count == 1, "\(report)", sourceLocation: sourceLocation)
        let error = try #require(report.errors.first, sourceLocation: sourceLocation)
        #expect(error.problem == "a sweep value cannot be null", "\(error)", sourceLocation: sourceLocation)
        #expect(error.file == "t.yaml" && error.line > 0 && error.column > 0, "\(error)", sourceLocation: sourceLocation)
        return error
    }

    @Test func nullIsRefusedInEveryKindOfAxis() throws {
        // A product's one-value axis, written `null`, `~` or nothing at all.
        for spelling in ["null", "~", ""] {
            let e = try nullError("vectors:\n  vin: [5, 12]\n  load: \(spelling)\n")
            #expect(e.keyPath == "vectors.load", "\(e)")
            if !spelling.isEmpty { #expect(e.line == 3 && e.column == 9, "\(e)") }
        }
        // A list item of a product axis and of a zip axis.
        let product = try nullError("vectors: {vin: [5, null, 12]}\n")
        #expect(product.keyPath == "vectors.vin[1]" && product.column == 20, "\(product)")
        let zip = try nullError("vectors:\n  expand: zip\n  vin: [5, 12]\n  load: [0.1, ~]\n")
        #expect(zip.line == 4 && zip.keyPath == "vectors.load[1]", "\(zip)")
        // Nested inner level.
        let nested = try nullError("vectors:\n  vin: [5]\n  vectors: {temp: null}\n")
        #expect(nested.line == 3, "\(nested)")
        // An explicit vector (refused before too; now the same rule and message).
        let explicit = try nullError("vectors:\n  - {vin: 5}\n  - {vin: null}\n")
        #expect(explicit.line == 3 && explicit.keyPath == "vectors[1].vin", "\(explicit)")
    }

    @Test func quotedNullIsText() throws {
        let config = try HarnessConfig.parse("vectors: {mode: [\"null\", fast]}\n")
        #expect(config.vectors?.map { $0["mode"] } == [.text("null"), .text("fast")])
    }

    @Test func sidecarFilesFollowTheSameRule() throws {
        let path = "\(TestPlugins.scratch)/sweep-null-\(UUID().uuidString).yaml"
        try Data("tests:\n  rails:\n    vectors: {vin: [5, 12], load: ~}\n".utf8).write(to: URL(fileURLWithPath: path))
        let report = try #require(throws: ConfigReport.self) { try HarnessConfig.loadSidecar(path: path) }
        #expect(report.errors.map(\.problem) == ["a sweep value cannot be null"], "\(report)")
        #expect(report.errors.first.map { $0.file == path && $0.line == 3 } == true, "\(report)")
    }
}
