import Contracts
import Foundation
import Messaging
import ToolKit

/// An agency of the pipeline benchmark: its broker user and intake registration.
package struct BenchAgency: Sendable {
    package var code: String
    package var kind: String
    package var eventTypes: [String]
    /// The school whose pupils it names by student number, for a school.
    package var schoolCode: String?
}

/// Where an event's path through the loop ends, which is when the benchmark counts it done.
package enum PathEnd: Sendable {
    /// Someone must act: the event raised a minor to high or critical, so a case opens, a task is assigned
    /// (or the task force is alerted) and notification records the notice — `notification.delivered.v1`.
    case notified
    /// A concern to watch, not to act on yet: the minor rises to medium and goes on a watch ledger, and
    /// nobody is notified — assessment's `risk.assessed.v1` is the end.
    case assessed
}

/// The events agencies send, in the proportions of a working district: incident reports and the 12355
/// hotline first, then attendance, screening, family, venue and court matters. Every event is a new concern
/// about a minor Huhang has not seen; about two in three are serious enough that someone must act (high or
/// critical: a case, a task, a notice), the rest put the minor on a watch ledger at medium (a screening
/// positive, an absence, a left-behind child, a first sighting in an internet café, a first case lead).
package enum EventMix {
    package static let agencies: [BenchAgency] = [
        BenchAgency(code: "bench-school-a", kind: "school",
                    eventTypes: ["report.incident.v1", "screening.batch.v1", "attendance.signal.v1"], schoolCode: "BENCH-SCH-A"),
        BenchAgency(code: "bench-school-b", kind: "school",
                    eventTypes: ["report.incident.v1", "screening.batch.v1", "attendance.signal.v1"], schoolCode: "BENCH-SCH-B"),
        BenchAgency(code: "bench-hotline", kind: "youth_league_hotline", eventTypes: ["hotline.call.v1"]),
        BenchAgency(code: "bench-police", kind: "police", eventTypes: ["venue.finding.v1"]),
        BenchAgency(code: "bench-procuratorate", kind: "procuratorate", eventTypes: ["case.lead.v1"]),
        BenchAgency(code: "bench-civil-affairs", kind: "civil_affairs", eventTypes: ["family.situation.v1"]),
    ]

    /// Shares out of 100, by event type.
    package static let shares: [(type: String, share: Int)] = [
        ("report.incident.v1", 35), ("hotline.call.v1", 20), ("attendance.signal.v1", 15), ("screening.batch.v1", 10),
        ("family.situation.v1", 8), ("venue.finding.v1", 7), ("case.lead.v1", 5),
    ]

    /// Event `index` of run `run`: which agency sends it, the message (its id is `<run>-<index>`, which every
    /// event it causes carries as its correlation id) and where its path ends. `first` numbers the people: the
    /// events of a run with `first` = f name people f·8 … (f + n)·8 − 1, so runs kept apart name nobody twice.
    package static func event(_ index: Int, run: String, first: Int = 0) throws -> (agency: Int, message: OutgoingMessage, end: PathEnd) {
        var rng = SplitMix64(state: UInt64(index) &* 0x2545_F491_4F6C_DD1D &+ 1)
        var pick = Int.random(in: 0..<100, using: &rng)
        var type = shares[0].type
        for (candidate, share) in shares {
            if pick < share { type = candidate; break }
            pick -= share
        }
        let now = Date().addingTimeInterval(-600)
        let externalID = "\(run)-\(index)"
        // A person no earlier event named: an identity number or a pupil number unique to this event.
        func idNumber(_ k: Int) -> String { String(format: "3701%014d", (first + index) * 8 + k) }
        func pupil(_ k: Int) -> String { "P\((first + index) * 8 + k)" }
        let school = index % 2
        let agency: Int
        let payload: any EventPayload
        var end = PathEnd.notified
        switch type {
        case "report.incident.v1":
            agency = school
            let code = agencies[agency].schoolCode!
            let category: IncidentCategory = [.bullying, .bullying, .selfHarm, .drugs][Int.random(in: 0..<4, using: &rng)]
            var people: [IncidentReportV1.Person] = [.init(role: .victim, studentNumber: pupil(0))]
            if category == .bullying { people.append(.init(role: .allegedPerpetrator, studentNumber: pupil(1))) }
            payload = IncidentReportV1(
                externalID: externalID, category: category, immediateDanger: Int.random(in: 0..<20, using: &rng) == 0, occurredAt: now,
                schoolCode: code, narrative: "pipeline benchmark", people: people)
        case "hotline.call.v1":
            agency = 2
            let flags: [HotlineCallV1.RiskFlag] = [[.selfHarm], [.abuse, .neglect], [.bullying]][Int.random(in: 0..<3, using: &rng)]
            payload = HotlineCallV1(
                externalID: externalID, receivedAt: now, callerRole: .minor, minor: PersonRef(idNumber: idNumber(0)),
                topic: flags == [.selfHarm] ? .psychological : .family, riskFlags: flags,
                immediateDanger: Int.random(in: 0..<10, using: &rng) == 0, cityMatter: false, summary: "pipeline benchmark")
        case "attendance.signal.v1":
            agency = school
            let dropped = Int.random(in: 0..<3, using: &rng) == 0
            if !dropped { end = .assessed }
            payload = AttendanceSignalV1(
                externalID: externalID, schoolCode: agencies[agency].schoolCode!, student: PersonRef(studentNumber: pupil(0)),
                kind: dropped ? .droppedOut : .enrolledAbsent, since: "2026-10-08", daysAbsent: 29)
        case "screening.batch.v1":
            agency = school
            end = .assessed
            let results = (0..<Int.random(in: 1...4, using: &rng)).map { k in
                ScreeningBatchV1.Result(student: PersonRef(studentNumber: pupil(k)), score: 72, threshold: 65)
            }
            payload = ScreeningBatchV1(
                externalID: externalID, schoolCode: agencies[agency].schoolCode!, scale: "MHT", screenedAt: now, results: results)
        case "family.situation.v1":
            agency = 5
            let violence = Bool.random(using: &rng)
            if !violence { end = .assessed }
            let flags: [FamilySituationV1.Flag] = violence ? [.domesticViolence, .guardianAbsent] : [.leftBehind, .guardianAbsent]
            payload = FamilySituationV1(externalID: externalID, child: PersonRef(idNumber: idNumber(0)), schoolCode: nil, flags: flags, notedAt: now)
        case "venue.finding.v1":
            agency = 3
            let drinking = Bool.random(using: &rng)
            if !drinking { end = .assessed }
            payload = VenueFindingV1(
                externalID: externalID, venue: .init(kind: .internetCafe, name: "网咖 \(index % 40)", address: "历下区", licence: "370102-WB-\(1000 + index % 40)"),
                foundAt: now, minors: [PersonRef(idNumber: idNumber(0)), PersonRef(idNumber: idNumber(1))],
                activities: drinking ? [.present, .drinking] : [.present], actionTaken: .warning)
        default:
            agency = 4
            let order = Bool.random(using: &rng)
            if !order { end = .assessed }
            payload = CaseLeadV1(
                externalID: externalID, minor: PersonRef(idNumber: idNumber(0)),
                kind: order ? .guardianshipSupervisionOrder : .conditionalNonProsecution, decidedAt: now, offence: "theft", sealed: false)
        }
        var envelope = EventEnvelope(id: "\(run)-\(index)", type: type, source: agencies[agency].code)
        envelope.sender = agencies[agency].code
        return (agency, try OutgoingMessage(payload, envelope: envelope, exchange: ExchangeName.intake), end)
    }
}
