import Contracts
import Foundation
@testable import Intake
import ServiceKit
import Testing

/// Intake's rules that need no broker or database: how identifiers resolve to subjects, and how a
/// refused request body is explained.
@Suite("Intake rules")
struct IntakeRulesTests {
    static let known = ["i-1": "s-A", "st-1": "s-A", "st-2": "s-B", "c-1": "s-A"]

    @Test("identifiers known for one subject resolve to it, and what the event adds is learned for it")
    func learnsForKnownSubject() {
        // A second report: the student number only; a third: the identity number only.
        let byStudent = IdentifierRegistry.plan([IdentifierKeys(identity: nil, student: "st-1", candidate: nil)], known: Self.known)
        #expect(byStudent.subject(for: IdentifierKeys(identity: nil, student: "st-1", candidate: nil)) == "s-A")
        #expect(byStudent.learned.isEmpty && byStudent.candidates.isEmpty)
        let new = IdentifierRegistry.plan([IdentifierKeys(identity: "i-1", student: "st-9", candidate: "c-9")], known: Self.known)
        #expect(new.subject(for: IdentifierKeys(identity: "i-1", student: "st-9", candidate: "c-9")) == "s-A")
        #expect(Set(new.learned.map(\.key)) == ["st-9", "c-9"] && new.learned.allSatisfy { $0.subjectID == "s-A" })
    }

    @Test("a new person gets the subject of their strongest identifier, and every identifier is learned for it")
    func newPerson() {
        let plan = IdentifierRegistry.plan([IdentifierKeys(identity: "i-new", student: "st-new", candidate: nil)], known: Self.known)
        #expect(plan.subject(for: IdentifierKeys(identity: "i-new", student: "st-new", candidate: nil)) == "i-new")
        #expect(plan.learned == [.init(key: "i-new", subjectID: "i-new", kind: "identity"), .init(key: "st-new", subjectID: "i-new", kind: "student")])
    }

    @Test("identifiers of two known subjects in one reference: the identity number decides, the task force is asked, nothing is merged")
    func collisionBecomesCandidate() {
        let keys = IdentifierKeys(identity: "i-1", student: "st-2", candidate: nil)
        let plan = IdentifierRegistry.plan([keys], known: Self.known)
        #expect(plan.subject(for: keys) == "s-A")
        #expect(plan.candidates.map { [$0.subjectID, $0.otherSubjectID] } == [["s-A", "s-B"]])
        #expect(plan.learned.isEmpty, "the student number stays with s-B until the task force decides")
    }

    @Test("a name and birth date matching a known subject is a candidate for the task force, never a match")
    func nameOnlyIsCandidate() {
        let keys = IdentifierKeys(identity: nil, student: nil, candidate: "c-1")
        let plan = IdentifierRegistry.plan([keys], known: Self.known)
        #expect(plan.subject(for: keys) == nil)
        #expect(plan.candidates.count == 1 && plan.candidates[0].basis.contains("name and birth date"))
    }

    @Test("a refused body names the field: missing, wrong type, unknown key")
    func readableErrors() throws {
        struct Body: Codable { var measures: [String]; var note: String? }
        let decoder = ContractCoding.decoder()
        do {
            _ = try decoder.decode(Body.self, from: Data(#"{"note":"x"}"#.utf8))
            Issue.record("decoded without measures")
        } catch {
            #expect(RequestProblem.describe(error) == "/measures: is required")
        }
        do {
            _ = try decoder.decode(Body.self, from: Data(#"{"measures":[1]}"#.utf8))
            Issue.record("decoded a number as a string")
        } catch {
            #expect(RequestProblem.describe(error).hasPrefix("/measures/0: has the wrong type"))
        }
        let sent = try JSONValue.parse(Array(#"{"measures":["a"],"notes":"typo","note":null}"#.utf8))
        let understood = try JSONValue.parse(Array(try ContractCoding.encoder().encode(Body(measures: ["a"], note: nil))))
        let unknown = RequestProblem.unknownFields(sent: sent, understood: understood)
        #expect(unknown.map(\.field) == ["/notes"])
    }

    @Test("a venue that admits minors where the law forbids it is in breach from the first finding")
    func venueBreach() {
        typealias Venue = VenueFindingV1.Venue
        #expect(Venue(kind: .internetCafe, name: "x").isBreach(minors: 1))
        #expect(Venue(kind: .ktv, name: "x").isBreach(minors: 2))
        #expect(!Venue(kind: .internetCafe, name: "x").isBreach(minors: 0))
        #expect(Venue(kind: .hotel, name: "x", minorChecks: false).isBreach(minors: 1))
        #expect(!Venue(kind: .hotel, name: "x", minorChecks: true).isBreach(minors: 1))
        #expect(!Venue(kind: .hotel, name: "x").isBreach(minors: 1))
        #expect(!Venue(kind: .tattooShop, name: "x").isBreach(minors: 1))
    }
}

@Suite("Calendar days read by hand")
struct CalendarDayTests {
    @Test("every day from 1900 to 2100 is read as the formatter of China Standard Time reads it; impossible days are refused")
    func daysAsTheFormatterReadsThem() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        formatter.dateFormat = "yyyy-MM-dd"
        var day = formatter.date(from: "1900-01-01")!
        let end = formatter.date(from: "2100-12-31")!
        var checked = 0
        while day <= end {
            let text = formatter.string(from: day)
            #expect(Validity.startOfDay(text) == day, "\(text)")
            day = day.addingTimeInterval(86_400)
            checked += 1
        }
        #expect(checked == 201 * 365 + 49)
        for bad in ["2023-02-29", "2024-02-30", "2100-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-1-01", "2024/01/01",
                    "20240101", "2024-01-0a", "", "0000-01-01", "2024-01-01T00:00:00Z"] {
            #expect(Validity.startOfDay(bad) == nil, "\(bad)")
        }
        #expect(Validity.startOfDay("2000-02-29") != nil)
        #expect(Validity.day("2999-01-01", "/birthDate", now: Date()).map(\.problem) == ["is in the future"])
    }
}
