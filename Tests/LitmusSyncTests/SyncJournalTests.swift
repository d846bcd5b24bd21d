import Foundation
import Testing

@testable import LitmusSync

/// The cursor survives what a kill leaves: a torn last line, a damaged line, a second syncer.
@Suite struct SyncJournalTests {
    let dataDir: String

    init() throws {
        dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("litmus-journal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
    }

    func entry(_ n: Int) -> SyncJournal.Uploaded {
        .init(key: "p/runs/f\(n)", size: Int64(n), mtimeNanoseconds: 1000 + Int64(n), sha256: String(repeating: "a", count: 64), etag: "e\(n)")
    }

    @Test func whatWasRecordedIsReadBackAfterReopening() throws {
        do {
            let j = try SyncJournal(dataDir: dataDir, destinationID: "d")
            try j.recordUploaded(relativePath: "runs/f1", entry(1))
            try j.recordMultipartStarted(key: "p/big", uploadID: "u1")
            try j.recordUploaded(relativePath: "runs/f2", entry(2))
        }
        let j = try SyncJournal(dataDir: dataDir, destinationID: "d")
        #expect(j.lastUpload(of: "runs/f1") == entry(1))
        #expect(j.lastUpload(of: "runs/f2") == entry(2))
        #expect(j.openMultipart == ["p/big": "u1"])
        #expect(j.warnings.isEmpty)
    }

    @Test func aTornLastLineIsCutOffAndADamagedLineSkipped() throws {
        do {
            let j = try SyncJournal(dataDir: dataDir, destinationID: "d")
            try j.recordUploaded(relativePath: "runs/f1", entry(1))
            try j.recordUploaded(relativePath: "runs/f2", entry(2))
        }
        let path = dataDir + "/sync/d.jsonl"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        // Damage the first line, and leave half a line at the end (a kill mid-write).
        text = text.replacingOccurrences(of: "\"op\":\"uploaded\",\"path\":\"runs/f1\"", with: "\"op\":\"uploaded\",\"path\":\"runs/f1\"}garbage{")
        text += "{\"op\":\"uploaded\",\"path\":\"runs/f3\",\"key\":\"p/runs/f3\",\"si"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        do {
            let j = try SyncJournal(dataDir: dataDir, destinationID: "d")
            #expect(j.lastUpload(of: "runs/f1") == nil)
            #expect(j.lastUpload(of: "runs/f2") == entry(2))
            #expect(j.lastUpload(of: "runs/f3") == nil)
            #expect(j.warnings.count == 1 && j.warnings[0].contains("d.jsonl:1: a damaged line"))
            try j.recordUploaded(relativePath: "runs/f3", entry(3))
        }
        let again = try SyncJournal(dataDir: dataDir, destinationID: "d")
        #expect(again.lastUpload(of: "runs/f3") == entry(3))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3 && lines.last!.hasPrefix("{\"op\":\"uploaded\",\"path\":\"runs/f3\""))
    }

    @Test func oneSyncerPerDestination() throws {
        let first = try SyncJournal(dataDir: dataDir, destinationID: "d")
        #expect {
            _ = try SyncJournal(dataDir: dataDir, destinationID: "d")
        } throws: { error in
            "\(error)".contains("another `litmus sync` to this destination is running")
        }
        _ = first
        _ = try SyncJournal(dataDir: dataDir, destinationID: "other")
    }
}
