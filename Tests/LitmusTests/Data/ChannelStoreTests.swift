import Foundation
import Testing

@testable import Litmus

#if canImport(Glibc)
import Glibc
#endif

/// An event sink that keeps what it is given.
private final class RecordingSink: EventSink, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Event] = []
    var events: [Event] { lock.withLock { stored } }
    func emit(_ event: Event) throws { lock.withLock { stored.append(event) } }
}

/// Real files under the test scratch directory; one fresh data directory per test.
private func freshDataDir(_ name: String = #function) -> String {
    let cleaned = name.filter { $0.isLetter || $0.isNumber }
    let dir = "\(TestPlugins.scratch)/channels-\(cleaned)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func segments(_ directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("seg-") }.sorted()
}

private func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
}

private let noCompaction = ChannelStore.Options(compactOnClose: false)

@Suite struct ChannelStoreTests {
    // MARK: Round trips through URIs

    @Test func f64RoundTrip() throws {
        let dir = freshDataDir()
        let session = UUID()
        let store = ChannelStore(dataDir: dir, sessionID: session, options: noCompaction)
        let vout = try store.channel("psu.vout", type: .f64, unit: "V", instrumentRole: "psu")
        let t0 = Timestamp(microseconds: 1_764_170_864_000_000)
        var pinned: [ChannelURI] = []
        let values: [Double] = [3.3, -0.0, .pi, 1e308, .leastNonzeroMagnitude, -.infinity, .nan]
        for (i, v) in values.enumerated() {
            pinned.append(try vout.append(v, at: Timestamp(microseconds: t0.microseconds + Int64(i))))
        }
        let bulkURI = try vout.append(contentsOf: [10, 11, 12], at: t0)
        try vout.append(5)  // an integer literal on an f64 channel
        #expect(bulkURI == vout.uri)
        #expect(bulkURI.sampleOffset == nil)
        #expect(pinned.map(\.sampleOffset) == (0..<7).map { Int64($0) })
        #expect(pinned[3].description == "channel://psu.vout?session=\(session.uuidString.lowercased())&sample_offset=3")
        try store.close()

        for (i, uri) in pinned.enumerated() {
            let one = try ChannelStore.read(dataDir: dir, uri: try ChannelURI(parsing: uri.description))
            #expect(one.sampleOffsets == [Int64(i)])
            #expect(one.doubles?.map(\.bitPattern) == [values[i].bitPattern])
            #expect(one.receivedAt == [Timestamp(microseconds: t0.microseconds + Int64(i))])
            #expect(one.descriptor.unit == "V")
            #expect(one.descriptor.instrumentRole == "psu")
        }
        let all = try ChannelStore.read(dataDir: dir, uri: bulkURI)
        #expect(all.sampleOffsets == (0..<11).map { Int64($0) })
        #expect(all.doubles!.map(\.bitPattern) == (values + [10, 11, 12, 5]).map(\.bitPattern))
        #expect(Array(all.receivedAt[7..<10]) == [t0, t0, t0])
        #expect(all.issues.isEmpty)
    }

    @Test func i64BoolAndStringRoundTrip() throws {
        let dir = freshDataDir()
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: noCompaction)
        let counts = try store.channel("counts", type: .i64, unit: nil)
        let flags = try store.channel("flags", type: .bool, unit: nil)
        let notes = try store.channel("notes", type: .string, unit: nil)
        let ints: [Int64] = [.min, -1, 0, 1, .max]
        let intURIs = try ints.map { try counts.append($0) }
        try counts.append(contentsOf: [7, 8])
        try counts.append(9)  // Int on an i64 channel
        let boolURIs = try [true, false, true].map { try flags.append($0) }
        try flags.append(contentsOf: [false, false, true])
        let texts = ["", "ascii", "héllo", "電圧 📈", "quote\" back\\slash\nnewline\0nul"]
        let textURIs = try texts.map { try notes.append($0) }
        try notes.append(contentsOf: ["bulk1", "bulk2"])
        try store.close()

        for (i, uri) in intURIs.enumerated() {
            #expect(try ChannelStore.read(dataDir: dir, uri: uri).int64s == [ints[i]])
        }
        #expect(try ChannelStore.read(dataDir: dir, uri: counts.uri).int64s == ints + [7, 8, 9])
        for (i, uri) in boolURIs.enumerated() {
            #expect(try ChannelStore.read(dataDir: dir, uri: uri).bools == [[true, false, true][i]])
        }
        #expect(try ChannelStore.read(dataDir: dir, uri: flags.uri).bools == [true, false, true, false, false, true])
        for (i, uri) in textURIs.enumerated() {
            #expect(try ChannelStore.read(dataDir: dir, uri: uri).strings == [texts[i]])
        }
        #expect(try ChannelStore.read(dataDir: dir, uri: notes.uri).strings == texts + ["bulk1", "bulk2"])
    }

    @Test func arrayAndWaveformRoundTrip() throws {
        let dir = freshDataDir()
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: noCompaction)
        let spectrum = try store.channel("spectrum", type: .f64Array, unit: "dBm")
        let scope = try store.channel("scope ch1", type: .waveform, unit: "V", instrumentRole: "scope")
        let arrays: [[Double]] = [[1, 2, 3], [], [0.1, -0.0, .nan], (0..<100_000).map { Double($0) * 0.5 }]
        let arrayURIs = try arrays.map { try spectrum.appendArray($0) }
        let t0 = Timestamp(microseconds: 1_700_000_000_123_456)
        let waves = [
            Waveform(t0: t0, dt: 1e-6, samples: (0..<1000).map { sin(Double($0) / 10) }),
            Waveform(t0: Timestamp(microseconds: t0.microseconds + 5000), dt: 2.5e-9, samples: [1, 2]),
            Waveform(t0: t0, dt: 1, samples: []),
        ]
        let waveURIs = try waves.map { try scope.appendWaveform(t0: $0.t0, dt: $0.dt, samples: $0.samples) }
        #expect(waveURIs.map(\.sampleOffset) == [0, 1, 2])
        try store.close()

        for (i, uri) in arrayURIs.enumerated() {
            let one = try ChannelStore.read(dataDir: dir, uri: uri)
            #expect(one.arrays?.map { $0.map(\.bitPattern) } == [arrays[i].map(\.bitPattern)])
        }
        let allArrays = try ChannelStore.read(dataDir: dir, uri: spectrum.uri)
        #expect(allArrays.arrays?.map { $0.map(\.bitPattern) } == arrays.map { $0.map(\.bitPattern) })
        for (i, uri) in waveURIs.enumerated() {
            #expect(try ChannelStore.read(dataDir: dir, uri: uri).waveforms == [waves[i]])
        }
        let allWaves = try ChannelStore.read(dataDir: dir, uri: scope.uri)
        #expect(allWaves.waveforms == waves)
        #expect(allWaves.descriptor.valueType == .waveform)
    }

    @Test func storeReadSeesBufferedSamples() throws {
        let store = ChannelStore(dataDir: freshDataDir(), sessionID: UUID(), options: ChannelStore.Options(syncInterval: nil))
        let ch = try store.channel("x", type: .f64, unit: nil)
        let uri = try ch.append(1.5)
        #expect(try store.read(uri).doubles == [1.5])
        try store.close()
    }

    @Test func unknownChannelAndOffsetAreNotFound() throws {
        let dir = freshDataDir()
        let session = UUID()
        let store = ChannelStore(dataDir: dir, sessionID: session, options: noCompaction)
        let ch = try store.channel("x", type: .f64, unit: nil)
        try ch.append(contentsOf: [1, 2, 3])
        try store.close()
        let missing = ChannelURI(channelID: "y", sessionID: session)
        #expect {
            try ChannelStore.read(dataDir: dir, uri: missing)
        } throws: { error in
            let e = error as! ChannelStoreError
            return e.code == .notFound && e.message.contains("no channel \"y\" in session \(session.uuidString.lowercased())")
        }
        #expect {
            try ChannelStore.read(dataDir: dir, uri: ch.uri.pinned(to: 3))
        } throws: { error in
            let e = error as! ChannelStoreError
            return e.code == .notFound && e.message.contains("the channel has 3 samples")
        }
        #expect(throws: ChannelStoreError.self) {
            try ChannelStore.read(dataDir: dir, uri: ChannelURI(channelID: "x", sessionID: UUID()))
        }
    }

    // MARK: Declarations

    @Test func declaringAgainIsIdempotent() throws {
        let store = ChannelStore(dataDir: freshDataDir(), sessionID: UUID(), options: noCompaction)
        let a = try store.channel("vout", type: .f64, unit: "V")
        let b = try store.channel("vout", type: .f64, unit: "V", instrumentRole: "psu")
        #expect(a === b)
        #expect(store.channels.count == 1)
        try store.close()
    }

    @Test func typeAndUnitConflictsNameBoth() throws {
        let store = ChannelStore(dataDir: freshDataDir(), sessionID: UUID(), options: noCompaction)
        _ = try store.channel("vout", type: .f64, unit: "V", instrumentRole: "psu")
        #expect {
            try store.channel("vout", type: .i64, unit: "V")
        } throws: { error in
            let e = error as! ChannelStoreError
            return e.code == .conflict && e.message.contains("as f64 in \"V\" from instrument role \"psu\"")
                && e.message.contains("cannot also be i64 in \"V\"")
        }
        #expect {
            try store.channel("vout", type: .f64, unit: "mV")
        } throws: { error in
            let e = error as! ChannelStoreError
            return e.code == .conflict && e.message.contains("f64 in \"V\"") && e.message.contains("f64 in \"mV\"")
        }
        #expect {
            try store.channel("vout", type: .f64, unit: nil)
        } throws: { error in
            (error as! ChannelStoreError).message.contains("cannot also be f64 with no unit")
        }
        #expect {
            try store.channel("vout", type: .f64, unit: "V", instrumentRole: "dmm")
        } throws: { error in
            (error as! ChannelStoreError).message.contains("from instrument role \"dmm\"")
        }
        try store.close()
    }

    @Test func conflictWithAnEarlierStoreOfTheSession() throws {
        let dir = freshDataDir()
        let session = UUID()
        let first = ChannelStore(dataDir: dir, sessionID: session, options: noCompaction)
        try first.channel("temp", type: .f64, unit: "degC").append(21.5)
        try first.close()
        let second = ChannelStore(dataDir: dir, sessionID: session, options: noCompaction)
        #expect {
            try second.channel("temp", type: .f64, unit: "K")
        } throws: { error in
            let e = error as! ChannelStoreError
            return e.code == .conflict && e.message.contains("f64 in \"degC\"") && e.message.contains("f64 in \"K\"")
        }
        try second.close()
    }

    static let invalidIDs: [(String, String)] = [
        ("../x", "contains \"..\""),
        ("a/b", "contains \"/\""),
        ("", "it is empty"),
        ("a\0b", "contains NUL"),
        ("a\\b", "contains \"\\\""),
        ("..", "contains \"..\""),
        (".", "it is \".\""),
        ("tab\there", "control character U+0009"),
        ("del\u{7F}", "control character U+007F"),
        (String(repeating: "x", count: 129), "129 bytes long"),
    ]

    @Test(arguments: invalidIDs.indices)
    func invalidIDsAreRejected(_ index: Int) throws {
        let (id, why) = Self.invalidIDs[index]
        let dir = freshDataDir()
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: noCompaction)
        #expect {
            try store.channel(id, type: .f64, unit: nil)
        } throws: { error in
            let e = error as! ChannelStoreError
            return e.code == .invalidChannelID && e.message.contains(why)
                && e.message.contains("a channel id is 1 to 128 bytes of UTF-8 text without \"/\", \"\\\", \"..\", NUL or control characters")
        }
        try store.close()
        #expect(!FileManager.default.fileExists(atPath: dir + "/x"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/channels"))
    }

    @Test func unusualButValidIDs() throws {
        let dir = freshDataDir()
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: noCompaction)
        for id in ["psu vout", "température", "a.b", "x=1", "…", String(repeating: "é", count: 64)] {
            let uri = try store.channel(id, type: .i64, unit: nil).append(Int64(7))
            #expect(try store.read(try ChannelURI(parsing: uri.description)).int64s == [7])
        }
        try store.close()
    }

    @Test func typeMismatchesThrow() throws {
        let store = ChannelStore(dataDir: freshDataDir(), sessionID: UUID(), options: noCompaction)
        let f = try store.channel("f", type: .f64, unit: nil)
        let i = try store.channel("i", type: .i64, unit: nil)
        let a = try store.channel("a", type: .f64Array, unit: nil)
        let w = try store.channel("w", type: .waveform, unit: nil)
        #expect {
            try f.append(Int64(1))
        } throws: { error in
            let e = error as! ChannelStoreError
            return e.code == .typeMismatch
                && e.message == "channel \"f\" holds f64 samples; append(Int64) needs a i64 channel (use append(Double) or append(contentsOf: [Double]))"
        }
        #expect(throws: ChannelStoreError.self) { try i.append(1.5) }
        #expect(throws: ChannelStoreError.self) { try i.append(true) }
        #expect(throws: ChannelStoreError.self) { try i.append("x") }
        #expect(throws: ChannelStoreError.self) { try f.appendArray([1]) }
        #expect {
            try a.append(contentsOf: [1.0, 2.0])
        } throws: { error in
            (error as! ChannelStoreError).message.contains("use appendArray(_:)")
        }
        #expect(throws: ChannelStoreError.self) { try a.appendWaveform(t0: .now(), dt: 1, samples: []) }
        #expect(throws: ChannelStoreError.self) { try w.appendArray([1]) }
        #expect {
            try w.appendWaveform(t0: .now(), dt: 0, samples: [1])
        } throws: { error in
            (error as! ChannelStoreError).code == .invalidValue
        }
        #expect(throws: ChannelStoreError.self) { try w.appendWaveform(t0: .now(), dt: .nan, samples: [1]) }
        #expect(throws: ChannelStoreError.self) { try f.append(Int.max) }  // no exact Double
        // Nothing was written, so nothing was started.
        #expect(f.sampleCount == 0 && i.sampleCount == 0)
        try store.close()
    }

    @Test func appendsAfterCloseThrow() throws {
        let store = ChannelStore(dataDir: freshDataDir(), sessionID: UUID(), options: noCompaction)
        let ch = try store.channel("x", type: .f64, unit: nil)
        try ch.append(1)
        try store.close()
        try store.close()  // again: nothing
        #expect {
            try ch.append(2)
        } throws: { error in
            (error as! ChannelStoreError).code == .closed
        }
        #expect(throws: ChannelStoreError.self) { try store.channel("y", type: .f64, unit: nil) }
    }

    @Test func secondWriterOfAChannelIsRefused() throws {
        let dir = freshDataDir()
        let session = UUID()
        let first = ChannelStore(dataDir: dir, sessionID: session, options: noCompaction)
        _ = try first.channel("x", type: .f64, unit: nil)
        let second = ChannelStore(dataDir: dir, sessionID: session, options: noCompaction)
        #expect {
            try second.channel("x", type: .f64, unit: nil)
        } throws: { error in
            let e = error as! ChannelStoreError
            return e.code == .busy && e.message.contains("already open for writing")
        }
        try first.close()
        try second.close()
    }

    // MARK: Events

    @Test func channelStartedAndEndedReachTheSink() throws {
        let sink = RecordingSink()
        let dir = freshDataDir()
        let session = UUID()
        let store = ChannelStore(dataDir: dir, sessionID: session, events: sink, options: noCompaction)
        let a = try store.channel("a", type: .f64, unit: "V", instrumentRole: "dmm")
        _ = try store.channel("unused", type: .i64, unit: nil)
        #expect(sink.events.isEmpty)  // declaring is not writing
        try a.append(1)
        try a.append(contentsOf: [2, 3])
        try a.append(4)
        #expect(sink.events.count == 1)
        try store.close()
        let events = sink.events
        #expect(events.map(\.type) == ["channel.started", "channel.ended"])
        #expect(events.allSatisfy { $0.sessionID == session && $0.runID == nil })
        guard case .channelStarted(let started) = events[0].body, case .channelEnded(let ended) = events[1].body else {
            Issue.record("unexpected events \(events.map(\.type))")
            return
        }
        #expect(started == ChannelStarted(channelID: "a", valueType: "f64", unit: "V", instrumentRole: "dmm"))
        #expect(ended == ChannelEnded(channelID: "a", reason: "session_ended", samples: 4))
        // A declared channel that got no sample leaves no directory behind.
        #expect(!FileManager.default.fileExists(atPath: store.sessionDirectory + "/unused"))
        #expect(FileManager.default.fileExists(atPath: store.sessionDirectory + "/a/seg-000001.bin"))
    }

    @Test func aFailedChannelStartedLeavesTheSampleUnwritten() throws {
        final class FlakySink: EventSink, @unchecked Sendable {
            var failures = 1
            var events: [Event] = []
            struct Refused: Error {}
            func emit(_ event: Event) throws {
                if failures > 0 {
                    failures -= 1
                    throw Refused()
                }
                events.append(event)
            }
        }
        let sink = FlakySink()
        let dir = freshDataDir()
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), events: sink, options: noCompaction)
        let ch = try store.channel("x", type: .f64, unit: nil)
        #expect(throws: FlakySink.Refused.self) { try ch.append(1) }
        #expect(ch.sampleCount == 0)
        #expect(try ch.append(2).sampleOffset == 0)
        try store.close()
        #expect(sink.events.map(\.type) == ["channel.started", "channel.ended"])
        #expect(try ChannelStore.read(dataDir: dir, uri: ch.uri).doubles == [2])
    }

    // MARK: Segments

    @Test func layoutOnDisk() throws {
        let dir = freshDataDir()
        let session = UUID()
        let store = ChannelStore(dataDir: dir, sessionID: session, options: noCompaction)
        try store.channel("psu vout", type: .f64, unit: "V").append(1)
        try store.close()
        let expected = "\(dir)/channels/date=\(Timestamp.now().date)/session=\(session.uuidString.lowercased())"
        #expect(store.sessionDirectory == expected)
        #expect(segments(expected + "/psu vout") == ["seg-000001.bin"])
        // The header record is JSON after the frame and the kind byte.
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: expected + "/psu vout/seg-000001.bin")))
        let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        #expect(bytes[8] == UInt8(ascii: "H"))
        let header = try JSONSerialization.jsonObject(with: Data(bytes[9..<(8 + length)])) as! [String: Any]
        #expect(header["format"] as? String == "litmus.channel-segment")
        #expect(header["channel_id"] as? String == "psu vout")
        #expect(header["value_type"] as? String == "f64")
        #expect(header["unit"] as? String == "V")
        #expect(header["session_id"] as? String == session.uuidString.lowercased())
        #expect(header["first_sample_offset"] as? Int == 0)
    }

    @Test func thousandSmallFlushesMakeOneSegment() throws {
        let dir = freshDataDir()
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: noCompaction)
        let ch = try store.channel("slow", type: .f64, unit: "V")
        for i in 0..<1000 {
            try ch.append(Double(i))
            try ch.flush()
        }
        try store.close()
        let channelDir = store.sessionDirectory + "/slow"
        #expect(segments(channelDir) == ["seg-000001.bin"])
        #expect((try FileManager.default.contentsOfDirectory(atPath: channelDir)).count == 1)
        let all = try ChannelStore.read(dataDir: dir, uri: ch.uri)
        #expect(all.doubles == (0..<1000).map(Double.init))
    }

    @Test func rotationBySizeKeepsOffsetsContinuous() throws {
        let dir = freshDataDir()
        let options = ChannelStore.Options(maxSegmentBytes: 4096, writeBufferBytes: 4096, compactOnClose: false)
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: options)
        let ch = try store.channel("fast", type: .f64, unit: nil)
        var expected: [Double] = []
        var uris: [ChannelURI] = []
        for i in 0..<3000 {
            uris.append(try ch.append(Double(i)))
            expected.append(Double(i))
            if i % 150 == 149 { try ch.flush() }
        }
        let big = (0..<2000).map { Double($0) + 0.25 }  // one 16 KB record: a segment of its own
        try ch.append(contentsOf: big)
        expected += big
        for i in 0..<100 {
            uris.append(try ch.append(Double(-i)))
            expected.append(Double(-i))
        }
        try store.close()

        let channelDir = store.sessionDirectory + "/fast"
        let files = segments(channelDir)
        #expect(files.count > 10)
        #expect(files.first == "seg-000001.bin")
        var next: Int64 = 0
        for (n, name) in files.enumerated() {
            #expect(name == ChannelSegmentFormat.segmentName(n + 1))
            let segment = try ChannelSegmentReader.parse(path: channelDir + "/" + name, number: n + 1)
            #expect(segment.issues.isEmpty)
            #expect(segment.header?.segment == n + 1)
            #expect(segment.header?.firstSampleOffset == next)
            #expect(!segment.records.isEmpty)
            if segment.records.count > 1 { #expect(fileSize(channelDir + "/" + name) <= 4096) }
            for record in segment.records {
                #expect(record.firstOffset == next)
                next += Int64(record.count)
            }
        }
        #expect(next == Int64(expected.count))
        let all = try ChannelStore.read(dataDir: dir, uri: ch.uri)
        #expect(all.sampleOffsets == (0..<Int64(expected.count)).map { $0 })
        #expect(all.doubles == expected)
        for uri in [uris[0], uris[1234], uris[2999], uris[3000], uris.last!] {
            let one = try ChannelStore.read(dataDir: dir, uri: uri)
            #expect(one.sampleOffsets == [uri.sampleOffset!])
            #expect(one.doubles == [expected[Int(uri.sampleOffset!)]])
        }
    }

    @Test func rotationByAge() throws {
        let dir = freshDataDir()
        let options = ChannelStore.Options(maxSegmentAge: .milliseconds(250), syncInterval: nil, compactOnClose: false)
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: options)
        let ch = try store.channel("aging", type: .i64, unit: nil)
        try ch.append(Int64(1))
        try ch.flush()
        try ch.append(Int64(2))
        try ch.flush()
        usleep(500_000)
        try ch.append(Int64(3))
        try store.close()
        #expect(segments(store.sessionDirectory + "/aging") == ["seg-000001.bin", "seg-000002.bin"])
        #expect(try ChannelStore.read(dataDir: dir, uri: ch.uri).int64s == [1, 2, 3])
    }

    @Test func aLaterStoreOfTheSessionContinuesOffsets() throws {
        let dir = freshDataDir()
        let session = UUID()
        let sink = RecordingSink()
        let first = ChannelStore(dataDir: dir, sessionID: session, events: sink, options: noCompaction)
        let a = try first.channel("x", type: .f64, unit: "V")
        try a.append(contentsOf: (0..<10).map(Double.init))
        try first.close()
        let second = ChannelStore(dataDir: dir, sessionID: session, events: sink, options: noCompaction)
        #expect(second.sessionDirectory == first.sessionDirectory)
        let b = try second.channel("x", type: .f64, unit: "V")
        #expect(b.sampleCount == 10)
        #expect(try b.append(10).sampleOffset == 10)
        try second.close()
        #expect(segments(second.sessionDirectory + "/x") == ["seg-000001.bin", "seg-000002.bin"])
        #expect(try ChannelStore.read(dataDir: dir, uri: b.uri).doubles == (0...10).map(Double.init))
        // Started once per (channel, session); each store that wrote ends it.
        #expect(sink.events.map(\.type) == ["channel.started", "channel.ended", "channel.ended"])
    }

    @Test func backgroundSyncWritesWithoutFurtherAppends() throws {
        let dir = freshDataDir()
        let options = ChannelStore.Options(syncInterval: .milliseconds(20), compactOnClose: false)
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: options)
        let ch = try store.channel("idle", type: .f64, unit: nil)
        let uri = try ch.append(42)
        // Nothing flushes explicitly: the background sync must get the sample to the file.
        var found = false
        for _ in 0..<300 where !found {
            usleep(10_000)
            found = (try? ChannelStore.read(dataDir: dir, uri: uri))?.doubles == [42]
        }
        #expect(found)
        try store.close()
    }

    @Test func concurrentAppendsFromSeveralThreads() async throws {
        let dir = freshDataDir()
        let options = ChannelStore.Options(syncInterval: .milliseconds(5), writeBufferBytes: 4096, compactOnClose: false)
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: options)
        let ch = try store.channel("shared", type: .i64, unit: nil)
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<5000 { _ = try? ch.append(Int64(t * 1_000_000 + i)) }
                }
            }
        }
        try store.close()
        let all = try ChannelStore.read(dataDir: dir, uri: ch.uri)
        #expect(all.count == 20_000)
        #expect(Set(all.int64s!).count == 20_000)
        #expect(all.sampleOffsets == (0..<20_000).map { Int64($0) })
    }

    // MARK: Damage

    /// A channel with three data records (three bulk appends) in one segment.
    private func threeRecords() throws -> (dir: String, uri: ChannelURI, segment: String) {
        let dir = freshDataDir()
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: noCompaction)
        let ch = try store.channel("v", type: .f64, unit: nil)
        try ch.append(contentsOf: [1, 2, 3])
        try ch.append(contentsOf: [4, 5, 6])
        try ch.append(contentsOf: [7, 8, 9])
        try store.close()
        return (dir, ch.uri, store.sessionDirectory + "/v/seg-000001.bin")
    }

    @Test func tornTailIsSkipped() throws {
        let (dir, uri, segment) = try threeRecords()
        let size = fileSize(segment)
        #expect(truncate(segment, off_t(size - 5)) == 0)  // the last record loses its end
        let data = try ChannelStore.read(dataDir: dir, uri: uri)
        #expect(data.doubles == [1, 2, 3, 4, 5, 6])
        #expect(data.issues.count == 1)
        #expect(data.issues.first?.kind == .tornTail)
        #expect(data.issues.first?.path == segment)
        #expect(data.issues.first?.byteOffset == Int64(size - 8 - 16 - 8 - 24))
        #expect(try ChannelStore.read(dataDir: dir, uri: uri.pinned(to: 5)).doubles == [6])
        #expect {
            try ChannelStore.read(dataDir: dir, uri: uri.pinned(to: 6))
        } throws: { error in
            (error as! ChannelStoreError).code == .notFound
        }
        // Only the frame survives: still a torn tail.
        #expect(truncate(segment, off_t(size - 56 + 4)) == 0)
        #expect(try ChannelStore.read(dataDir: dir, uri: uri).doubles == [1, 2, 3, 4, 5, 6])
        // A crash can also leave zeros where the tail should be.
        let handle = FileHandle(forWritingAtPath: segment)!
        handle.seekToEndOfFile()
        handle.write(Data(count: 4096))
        handle.closeFile()
        let zeros = try ChannelStore.read(dataDir: dir, uri: uri)
        #expect(zeros.doubles == [1, 2, 3, 4, 5, 6])
        #expect(zeros.issues.map(\.kind) == [.tornTail])
    }

    @Test func aLaterStoreAfterATornTailContinuesCleanly() throws {
        let (dir, uri, segment) = try threeRecords()
        #expect(truncate(segment, off_t(fileSize(segment) - 5)) == 0)
        let store = ChannelStore(dataDir: dir, sessionID: uri.sessionID, options: noCompaction)
        let ch = try store.channel("v", type: .f64, unit: nil)
        #expect(try ch.append(10).sampleOffset == 6)
        try store.close()
        let data = try ChannelStore.read(dataDir: dir, uri: uri)
        #expect(data.doubles == [1, 2, 3, 4, 5, 6, 10])
        #expect(data.issues.map(\.kind) == [.tornTail])
    }

    @Test func midFileCorruptionIsReportedWithItsLocation() throws {
        let (dir, uri, segment) = try threeRecords()
        let parsed = try ChannelSegmentReader.parse(path: segment, number: 1)
        let second = parsed.records[1]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        bytes[second.payload.lowerBound + 30] ^= 0x01  // one bit of the value 5.0
        try bytes.write(to: URL(fileURLWithPath: segment))

        #expect {
            try ChannelStore.read(dataDir: dir, uri: uri)
        } throws: { error in
            let e = error as! ChannelStoreError
            return e.code == .corrupt && e.message.contains(segment)
                && e.message.contains("corruption at byte \(second.position)") && e.message.contains("CRC mismatch")
        }
        let tolerated = try ChannelStore.read(dataDir: dir, uri: uri, tolerateCorruption: true)
        #expect(tolerated.doubles == [1, 2, 3, 7, 8, 9])
        #expect(tolerated.sampleOffsets == [0, 1, 2, 6, 7, 8])
        #expect(tolerated.issues.map(\.kind) == [.corruption, .gap])
        #expect(tolerated.issues[0].byteOffset == Int64(second.position))
        #expect(tolerated.issues[0].byteCount == Int64(second.payload.upperBound - second.position))
        // Samples outside the damage still resolve; those inside say where the damage is.
        #expect(try ChannelStore.read(dataDir: dir, uri: uri.pinned(to: 7)).doubles == [8])
        #expect {
            try ChannelStore.read(dataDir: dir, uri: uri.pinned(to: 4))
        } throws: { error in
            let e = error as! ChannelStoreError
            return e.code == .corrupt && e.message.contains("byte \(second.position)")
        }
    }

    @Test func aBrokenLengthMidFileIsCorruptionNotATornTail() throws {
        let (dir, uri, segment) = try threeRecords()
        let parsed = try ChannelSegmentReader.parse(path: segment, number: 1)
        let second = parsed.records[1]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        bytes[second.position + 3] = 0x7F  // the length now runs far past the end of the file
        try bytes.write(to: URL(fileURLWithPath: segment))
        #expect {
            try ChannelStore.read(dataDir: dir, uri: uri)
        } throws: { error in
            let e = error as! ChannelStoreError
            return e.code == .corrupt && e.message.contains("runs past the end of the file")
                && e.message.contains("valid records resume at byte \(parsed.records[2].position)")
        }
        let tolerated = try ChannelStore.read(dataDir: dir, uri: uri, tolerateCorruption: true)
        #expect(tolerated.doubles == [1, 2, 3, 7, 8, 9])
    }

    @Test func damageBeforeMegabytesOfRandomDataIsClassifiedQuickly() throws {
        let dir = freshDataDir()
        let store = ChannelStore(dataDir: dir, sessionID: UUID(), options: noCompaction)
        let ch = try store.channel("noise", type: .f64, unit: nil)
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<(1 << 19)).map { _ in Double(bitPattern: generator.next()) }
        try ch.append(contentsOf: [1, 2])
        try ch.append(contentsOf: noise)  // 4 MiB of random bits: many byte patterns to resync on
        try store.close()
        let segment = store.sessionDirectory + "/noise/seg-000001.bin"
        let parsed = try ChannelSegmentReader.parse(path: segment, number: 1)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        bytes[parsed.records[1].payload.lowerBound + 100] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: segment))
        let clock = ContinuousClock()
        let start = clock.now
        let data = try ChannelStore.read(dataDir: dir, uri: ch.uri)
        #expect(clock.now - start < .seconds(10))
        #expect(data.doubles == [1, 2])
        #expect(data.issues.map(\.kind) == [.tornTail])  // nothing valid follows: it reads as a torn tail
    }

    // MARK: Parquet

    private struct PythonReaders {
        /// Reads a Parquet file with pyarrow and with DuckDB; each gives
        /// `{"columns": {...}, "types": {...}, "metadata": {...}}` with doubles as their
        /// IEEE 754 bits in hex and timestamps as microseconds.
        static let script = #"""
            import json, struct, sys
            import pyarrow as pa, pyarrow.parquet as pq, duckdb

            def enc(v):
                if isinstance(v, float):
                    return struct.pack('<d', v).hex()
                return v

            path, order = sys.argv[1], sys.argv[2]
            table = pq.read_table(path)
            cols, types = {}, {}
            for name in table.column_names:
                col = table.column(name)
                types[name] = str(col.type)
                if pa.types.is_timestamp(col.type):
                    col = col.cast(pa.int64())
                cols[name] = [enc(v) for v in col.to_pylist()]
            meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
            out = {"pyarrow": {"columns": cols, "types": types, "metadata": meta}}

            con = duckdb.connect()
            source = f"read_parquet('{path}', hive_partitioning = false)"
            described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
            select = ", ".join(
                f'epoch_us("{n}") AS "{n}"' if t.startswith("TIMESTAMP") else f'"{n}"' for n, t, *_ in described)
            rows = con.execute(f"SELECT {select} FROM {source} ORDER BY {order}").fetchall()
            dcols = {n: [enc(r[i]) for r in rows] for i, (n, *_) in enumerate(described)}
            out["duckdb"] = {"columns": dcols, "types": {n: t for n, t, *_ in described}}
            print(json.dumps(out))
            """#

        static func read(_ path: String, orderBy order: String) throws -> [String: Any] {
            try #require(try TestPython.json(script, [path, order]) as? [String: Any])
        }
    }

    private static func hex(_ v: Double) -> String {
        withUnsafeBytes(of: v.bitPattern.littleEndian) { $0.map { String(format: "%02x", $0) }.joined() }
    }

    private static func ints(_ value: Any?) -> [Int64] { ((value as? [Any]) ?? []).map { ($0 as! NSNumber).int64Value } }

    @Test func compactedParquetReadsBackExactly() throws {
        let dir = freshDataDir()
        let session = UUID()
        let store = ChannelStore(dataDir: dir, sessionID: session)
        let base: Int64 = 1_764_170_864_123_456
        func at(_ i: Int) -> Timestamp { Timestamp(microseconds: base + Int64(i)) }

        let f = try store.channel("f64 ch", type: .f64, unit: "V", instrumentRole: "dmm")
        let doubles: [Double] = [0.1, -0.0, .pi, 1e308, .leastNonzeroMagnitude, -.infinity, .infinity, .nan, 3]
        for (i, v) in doubles.enumerated() { try f.append(v, at: at(i)) }
        let i64 = try store.channel("i64", type: .i64, unit: "count")
        let ints: [Int64] = [.min, -1, 0, 1, .max]
        for (i, v) in ints.enumerated() { try i64.append(v, at: at(i)) }
        let b = try store.channel("bool", type: .bool, unit: nil)
        let bools = [true, false, false, true]
        for (i, v) in bools.enumerated() { try b.append(v, at: at(i)) }
        let s = try store.channel("string", type: .string, unit: nil)
        let strings = ["", "ascii", "héllo", "電圧 📈", "quote\" back\\slash\nnewline"]
        for (i, v) in strings.enumerated() { try s.append(v, at: at(i)) }
        let a = try store.channel("array", type: .f64Array, unit: "dBm")
        let arrays: [[Double]] = [[1.5, 2.5, .nan], [], [-0.0]]
        for (i, v) in arrays.enumerated() { try a.appendArray(v, at: at(i)) }
        let w = try store.channel("wave", type: .waveform, unit: "V")
        let waves = [
            Waveform(t0: at(100), dt: 1e-6, samples: [0.25, -0.5, 1e-300]),
            Waveform(t0: at(200), dt: 2.5e-9, samples: [7]),
        ]
        for (i, v) in waves.enumerated() { try w.append(v, at: at(i)) }
        try store.close()

        func check(_ channel: Channel, order: String, types: [String: String], duckTypes: [String: String],
                   _ verify: ([String: Any]) -> Void) throws {
            let path = store.sessionDirectory + "/" + channel.id + "/samples.parquet"
            #expect(FileManager.default.fileExists(atPath: path))
            let out = try PythonReaders.read(path, orderBy: order)
            let arrow = out["pyarrow"] as! [String: Any]
            let duck = out["duckdb"] as! [String: Any]
            #expect(arrow["types"] as! [String: String] == types)
            #expect(duck["types"] as! [String: String] == duckTypes)
            let metadata = arrow["metadata"] as! [String: String]
            #expect(metadata["litmus.schema_version"] == "1")
            let descriptor = try JSONSerialization.jsonObject(with: Data(metadata["litmus.channel_descriptor"]!.utf8))
                as! [String: Any]
            #expect(descriptor["channel_id"] as? String == channel.id)
            #expect(descriptor["value_type"] as? String == channel.valueType.rawValue)
            #expect(descriptor["session_id"] as? String == session.uuidString.lowercased())
            #expect(descriptor["unit"] as? String == channel.unit)
            #expect(descriptor["samples"] as? Int == Int(channel.sampleCount))
            let arrowColumns = arrow["columns"] as! [String: Any]
            let duckColumns = duck["columns"] as! [String: Any]
            verify(arrowColumns)
            verify(duckColumns)
        }
        let ts = "timestamp[us, tz=UTC]"
        let duckTS = "TIMESTAMP WITH TIME ZONE"
        try check(
            f, order: "sample_offset", types: ["sample_offset": "int64", "received_at": ts, "value": "double"],
            duckTypes: ["sample_offset": "BIGINT", "received_at": duckTS, "value": "DOUBLE"]
        ) { columns in
            #expect(Self.ints(columns["sample_offset"]) == (0..<Int64(doubles.count)).map { $0 })
            #expect(Self.ints(columns["received_at"]) == (0..<doubles.count).map { at($0).microseconds })
            #expect(columns["value"] as? [String] == doubles.map(Self.hex))
        }
        try check(
            i64, order: "sample_offset", types: ["sample_offset": "int64", "received_at": ts, "value": "int64"],
            duckTypes: ["sample_offset": "BIGINT", "received_at": duckTS, "value": "BIGINT"]
        ) { columns in
            #expect(Self.ints(columns["value"]) == ints)
        }
        try check(
            b, order: "sample_offset", types: ["sample_offset": "int64", "received_at": ts, "value": "bool"],
            duckTypes: ["sample_offset": "BIGINT", "received_at": duckTS, "value": "BOOLEAN"]
        ) { columns in
            #expect((columns["value"] as? [Bool]) == bools)
        }
        try check(
            s, order: "sample_offset", types: ["sample_offset": "int64", "received_at": ts, "value": "string"],
            duckTypes: ["sample_offset": "BIGINT", "received_at": duckTS, "value": "VARCHAR"]
        ) { columns in
            #expect((columns["value"] as? [String]) == strings)
        }
        try check(
            a, order: "sample_offset, element_index",
            types: ["sample_offset": "int64", "received_at": ts, "element_index": "int64", "value": "double"],
            duckTypes: ["sample_offset": "BIGINT", "received_at": duckTS, "element_index": "BIGINT", "value": "DOUBLE"]
        ) { columns in
            // One row per element; the empty array has none.
            #expect(Self.ints(columns["sample_offset"]) == [0, 0, 0, 2])
            #expect(Self.ints(columns["element_index"]) == [0, 1, 2, 0])
            #expect(Self.ints(columns["received_at"]) == [at(0), at(0), at(0), at(2)].map(\.microseconds))
            #expect(columns["value"] as? [String] == [1.5, 2.5, .nan, -0.0].map(Self.hex))
        }
        try check(
            w, order: "sample_offset, element_index",
            types: [
                "sample_offset": "int64", "received_at": ts, "element_index": "int64", "value": "double", "t0": ts,
                "dt": "double",
            ],
            duckTypes: [
                "sample_offset": "BIGINT", "received_at": duckTS, "element_index": "BIGINT", "value": "DOUBLE",
                "t0": duckTS, "dt": "DOUBLE",
            ]
        ) { columns in
            #expect(Self.ints(columns["sample_offset"]) == [0, 0, 0, 1])
            #expect(Self.ints(columns["element_index"]) == [0, 1, 2, 0])
            #expect(columns["value"] as? [String] == [0.25, -0.5, 1e-300, 7].map(Self.hex))
            #expect(Self.ints(columns["t0"]) == [at(100), at(100), at(100), at(200)].map(\.microseconds))
            #expect(columns["dt"] as? [String] == [1e-6, 1e-6, 1e-6, 2.5e-9].map(Self.hex))
        }
        // The segments stay: they are still what URIs resolve against.
        #expect(try ChannelStore.read(dataDir: dir, uri: f.uri).count == doubles.count)
    }

    @Test func compactingALargeChannelAndAgain() throws {
        let dir = freshDataDir()
        let session = UUID()
        let store = ChannelStore(
            dataDir: dir, sessionID: session, options: ChannelStore.Options(maxSegmentBytes: 1 << 20, compactOnClose: false))
        let ch = try store.channel("big", type: .f64, unit: nil)
        for chunk in 0..<15 { try ch.append(contentsOf: (0..<100_000).map { Double(chunk * 100_000 + $0) }) }
        try store.close()
        #expect(segments(store.sessionDirectory + "/big").count > 5)
        // Compaction of a session whose store did not compact (as after a crash).
        let written = try ChannelStore.compact(dataDir: dir, sessionID: session)
        #expect(written == [store.sessionDirectory + "/big/samples.parquet"])
        #expect(try ChannelStore.compact(dataDir: dir, sessionID: session) == written)  // replaces it
        let row = try TestPython.json(
            "import duckdb,sys,json; print(json.dumps(duckdb.connect().execute(f\"SELECT count(*), sum(value), min(sample_offset), max(sample_offset), count(*) FILTER (WHERE value <> sample_offset) FROM read_parquet('{sys.argv[1]}')\").fetchone()))",
            [written[0]])
        #expect((row as? [Double]) == [1_500_000, 1_124_999_250_000, 0, 1_499_999, 0])
    }
}
