import Contracts
import Crypto
import Foundation

/// A domain event intake passes on, with the subject (its CloudEvents `subject`) it is about.
struct Outgoing {
    var payload: any EventPayload
    var subject: String?
}

/// What intake does with one agency event type beyond its JSON Schema: the
/// checks that need code, and the domain events it passes on.
protocol IntakeRules: EventPayload {
    /// The agency's own id; (agency, event type, externalId) is unique.
    var externalID: String { get }
    /// For a batch that may be accepted in part, the JSON pointer of its rows
    /// (`/results`): an invalid row is left out and explained in the receipt
    /// while the valid ones are accepted. Nil: all or nothing.
    static var rows: String? { get }
    /// The same event without the rows at these indices.
    func dropping(rows: Set<Int>) -> Self
    /// How many rows the batch holds.
    var rowCount: Int { get }
    /// Problems the schema cannot see: who is named, times, combinations.
    /// - Parameter now: The time of receipt.
    func problems(now: Date) -> [FieldError]
    /// The domain events to pass on; people become subject ids through `acceptance`.
    func passOn(_ acceptance: inout Acceptance) throws -> [Outgoing]
}

extension IntakeRules {
    static var rows: String? { nil }
    func dropping(rows: Set<Int>) -> Self { self }
    var rowCount: Int { 0 }
}

/// Shared checks.
enum Validity {
    /// Times more than a day ahead are refused: clocks drift, dates do not.
    static func notFuture(_ date: Date, _ field: String, now: Date) -> [FieldError] {
        date > now.addingTimeInterval(24 * 3600) ? [FieldError(field: field, problem: "is in the future")] : []
    }

    /// A `YYYY-MM-DD` day that exists and is not ahead of `now`.
    static func day(_ text: String, _ field: String, now: Date) -> [FieldError] {
        guard let start = startOfDay(text) else {
            return [FieldError(field: field, problem: "is not a calendar day", allowed: "YYYY-MM-DD")]
        }
        return notFuture(start, field, now: now)
    }

    /// The start of a `YYYY-MM-DD` day of the Gregorian calendar in China Standard Time (UTC+8); nil when the text
    /// is not such a day (February 30th, a 13th month, other digits or separators). Read by hand: a date
    /// formatter costs more to make than the rest of an event's checks.
    static func startOfDay(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), year >= 1, (1...12).contains(month) else {
            return nil
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return nil }
        // Days since 1970-01-01 (the civil-from-days inverse, proleptic Gregorian).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let daysSinceEpoch = era * 146_097 + dayOfEra - 719_468
        return Date(timeIntervalSince1970: TimeInterval(daysSinceEpoch * 86_400 - 8 * 3600))
    }
}

extension IncidentReportV1: IntakeRules {
    func problems(now: Date) -> [FieldError] {
        var problems = Validity.notFuture(occurredAt, "/occurredAt", now: now)
        for (index, person) in people.enumerated() {
            problems += PersonRef(person).problems(at: "/people/\(index)", schoolCode: schoolCode)
        }
        return problems
    }

    func passOn(_ acceptance: inout Acceptance) throws -> [Outgoing] {
        acceptance.channel = channel?.rawValue
        var subjects: [ReportAcceptedV1.Subject] = []
        for person in people {
            let id = try acceptance.subject(PersonRef(person), role: person.role.rawValue, schoolCode: schoolCode)
            if !subjects.contains(.init(subjectID: id, role: person.role)) { subjects.append(.init(subjectID: id, role: person.role)) }
        }
        return [Outgoing(payload: ReportAcceptedV1(
            reportID: acceptance.intakeID, agency: acceptance.agency, externalID: externalID, category: category,
            immediateDanger: immediateDanger, occurredAt: occurredAt, schoolCode: schoolCode, subjects: subjects, channel: channel),
            subject: acceptance.intakeID)]
    }
}

extension HotlineCallV1: IntakeRules {
    func problems(now: Date) -> [FieldError] {
        Validity.notFuture(receivedAt, "/receivedAt", now: now) + (minor?.problems(at: "/minor", schoolCode: nil) ?? [])
    }

    /// The call, and at once a referral to 110 for danger now and to 12345 for a city matter.
    func passOn(_ acceptance: inout Acceptance) throws -> [Outgoing] {
        let subjectID = try minor.map { try acceptance.subject($0, role: "minor", schoolCode: nil) }
        var outgoing = [Outgoing(payload: HotlineCallAcceptedV1(
            intakeID: acceptance.intakeID, agency: acceptance.agency, externalID: externalID, receivedAt: receivedAt,
            callerRole: callerRole, subjectID: subjectID, topic: topic, riskFlags: riskFlags,
            immediateDanger: immediateDanger, cityMatter: cityMatter, harmedBy: harmedBy), subject: subjectID ?? acceptance.intakeID)]
        func referral(_ target: ReferralRequestedV1.Target, urgent: Bool, reason: String) -> Outgoing {
            // The id follows from the call's and the target's, so the call's referrals can be found from it.
            let id = DerivedID.make(acceptance.intakeID, target.rawValue)
            return Outgoing(payload: ReferralRequestedV1(
                referralID: id, target: target, urgent: urgent, reason: reason, fromIntakeID: acceptance.intakeID,
                fromEventType: Self.eventType.name, fromAgency: acceptance.agency, subjectID: subjectID, riskFlags: riskFlags,
                requestedAt: acceptance.now), subject: id)
        }
        if immediateDanger { outgoing.append(referral(.police110, urgent: true, reason: "immediate danger reported to 12355")) }
        if cityMatter { outgoing.append(referral(.city12345, urgent: false, reason: "a city matter reported to 12355")) }
        return outgoing
    }
}

extension ScreeningBatchV1: IntakeRules {
    static var rows: String? { "/results" }
    var rowCount: Int { results.count }

    func dropping(rows: Set<Int>) -> Self {
        var copy = self
        copy.results = results.enumerated().filter { !rows.contains($0.offset) }.map(\.element)
        return copy
    }

    func problems(now: Date) -> [FieldError] {
        var problems = Validity.notFuture(screenedAt, "/screenedAt", now: now)
        var seen: [String: Int] = [:]
        for (index, result) in results.enumerated() {
            problems += result.student.problems(at: "/results/\(index)/student", schoolCode: schoolCode)
            if !result.score.isFinite || !result.threshold.isFinite {
                problems.append(FieldError(field: "/results/\(index)", problem: "score and threshold must be finite numbers"))
            }
            let key = [result.student.idNumber ?? "", result.student.studentNumber ?? "", result.student.name ?? ""].joined(separator: "|")
            if key == "||" { continue }  // names nobody: said above
            if let first = seen[key] {
                problems.append(FieldError(field: "/results/\(index)/student", problem: "the same student as row \(first)"))
            } else {
                seen[key] = index
            }
        }
        return problems
    }

    func passOn(_ acceptance: inout Acceptance) throws -> [Outgoing] {
        let rows = try results.map { result in
            ScreeningBatchAcceptedV1.Result(
                subjectID: try acceptance.subject(result.student, role: "student", schoolCode: schoolCode),
                score: result.score, threshold: result.threshold)
        }
        return [Outgoing(payload: ScreeningBatchAcceptedV1(
            intakeID: acceptance.intakeID, agency: acceptance.agency, externalID: externalID, schoolCode: schoolCode,
            scale: scale, screenedAt: screenedAt, results: rows, rejectedRows: acceptance.rejectedRows), subject: schoolCode)]
    }
}

extension AttendanceSignalV1: IntakeRules {
    func problems(now: Date) -> [FieldError] {
        student.problems(at: "/student", schoolCode: schoolCode) + Validity.day(since, "/since", now: now)
    }

    func passOn(_ acceptance: inout Acceptance) throws -> [Outgoing] {
        let subjectID = try acceptance.subject(student, role: "student", schoolCode: schoolCode)
        return [Outgoing(payload: AttendanceSignalAcceptedV1(
            intakeID: acceptance.intakeID, agency: acceptance.agency, externalID: externalID, schoolCode: schoolCode,
            subjectID: subjectID, kind: kind, since: since, daysAbsent: daysAbsent), subject: subjectID)]
    }
}

extension FamilySituationV1: IntakeRules {
    func problems(now: Date) -> [FieldError] {
        child.problems(at: "/child", schoolCode: schoolCode) + Validity.notFuture(notedAt, "/notedAt", now: now)
    }

    func passOn(_ acceptance: inout Acceptance) throws -> [Outgoing] {
        let subjectID = try acceptance.subject(child, role: "child", schoolCode: schoolCode)
        return [Outgoing(payload: FamilySituationAcceptedV1(
            intakeID: acceptance.intakeID, agency: acceptance.agency, externalID: externalID, subjectID: subjectID,
            schoolCode: schoolCode, flags: flags, notedAt: notedAt), subject: subjectID)]
    }
}

extension VenueFindingV1: IntakeRules {
    func problems(now: Date) -> [FieldError] {
        minors.enumerated().flatMap { $0.element.problems(at: "/minors/\($0.offset)", schoolCode: nil) }
            + Validity.notFuture(foundAt, "/foundAt", now: now)
    }

    func passOn(_ acceptance: inout Acceptance) throws -> [Outgoing] {
        var subjectIDs: [String] = []
        for minor in minors {
            let id = try acceptance.subject(minor, role: "minor", schoolCode: nil)
            if !subjectIDs.contains(id) { subjectIDs.append(id) }
        }
        let schools = minors.compactMap(\.schoolCode).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        return [Outgoing(payload: VenueFindingAcceptedV1(
            intakeID: acceptance.intakeID, agency: acceptance.agency, externalID: externalID, venue: venue, foundAt: foundAt,
            subjectIDs: subjectIDs, activities: activities, actionTaken: actionTaken, schoolCodes: schools.isEmpty ? nil : schools),
            subject: acceptance.intakeID)]
    }
}

extension CaseLeadV1: IntakeRules {
    func problems(now: Date) -> [FieldError] {
        minor.problems(at: "/minor", schoolCode: nil) + Validity.notFuture(decidedAt, "/decidedAt", now: now)
    }

    func passOn(_ acceptance: inout Acceptance) throws -> [Outgoing] {
        let subjectID = try acceptance.subject(minor, role: "minor", schoolCode: nil)
        return [Outgoing(payload: CaseLeadAcceptedV1(
            intakeID: acceptance.intakeID, agency: acceptance.agency, externalID: externalID, subjectID: subjectID,
            kind: kind, decidedAt: decidedAt, offence: offence, sealed: sealed), subject: subjectID)]
    }
}

extension TaskFeedbackV1: IntakeRules {
    func problems(now: Date) -> [FieldError] {
        var problems = Validity.notFuture(reportedAt, "/reportedAt", now: now)
        if status == .rejected && (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append(FieldError(field: "/reason", problem: "is required when status is rejected"))
        }
        return problems
    }

    func passOn(_ acceptance: inout Acceptance) throws -> [Outgoing] {
        [Outgoing(payload: TaskFeedbackAcceptedV1(
            intakeID: acceptance.intakeID, unit: acceptance.unit, externalID: externalID, taskID: taskID, status: status,
            reportedAt: reportedAt, note: note, reason: reason), subject: taskID)]
    }
}

extension InspectionReportV1: IntakeRules {
    func problems(now: Date) -> [FieldError] {
        var problems = Validity.notFuture(inspectedAt, "/inspectedAt", now: now)
        var seen: Set<Item> = []
        for (index, check) in checks.enumerated() where !seen.insert(check.item).inserted {
            problems.append(FieldError(field: "/checks/\(index)/item", problem: "\(check.item.rawValue) is checked twice"))
        }
        return problems
    }

    func passOn(_ acceptance: inout Acceptance) throws -> [Outgoing] {
        [Outgoing(payload: InspectionReportAcceptedV1(
            intakeID: acceptance.intakeID, unit: acceptance.unit, externalID: externalID, schoolCode: schoolCode, kind: kind,
            inspectedAt: inspectedAt, checks: checks), subject: schoolCode)]
    }
}

/// Ids derived from others.
enum DerivedID {
    /// A UUID-shaped id from the SHA-256 of the parts.
    static func make(_ parts: String...) -> String {
        let digest = Array(SHA256.hash(data: Data(parts.joined(separator: "|").utf8)))
        let hex = Hex.string(digest.prefix(16))
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }
}
