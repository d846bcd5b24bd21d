import Foundation
import Testing

@testable import Litmus

@Suite struct EventIDTests {
    @Test func idsAreUniqueVersion7AndStartWithTheirTime() {
        let t = Timestamp(iso8601: "2026-11-26T15:27:44.123456Z")!
        var seen = Set<UUID>()
        for _ in 0..<200_000 { seen.insert(EventID.make(at: t)) }
        #expect(seen.count == 200_000)
        let id = EventID.make(at: t)
        let text = id.uuidString.lowercased()
        #expect(text.hasPrefix(String(format: "%08llx", (t.microseconds / 1000) >> 16)))
        #expect(Array(text)[14] == "7")  // version
        #expect("89ab".contains(Array(text)[19]))  // RFC 4122 variant
        // Later times sort after earlier ones.
        let later = EventID.make(at: Timestamp(microseconds: t.microseconds + 2000))
        #expect(later.uuidString > id.uuidString)
    }

    @Test func eventsGetOneUnlessGiven() {
        let a = Event(sessionID: UUID(), .sessionEnded(SessionEnded()))
        let b = Event(sessionID: UUID(), .sessionEnded(SessionEnded()))
        #expect(a.id != b.id)
        let fixed = UUID()
        #expect(Event(sessionID: UUID(), .sessionEnded(SessionEnded()), id: fixed).id == fixed)
    }
}
