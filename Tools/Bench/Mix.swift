import Contracts
import Foundation
import Messaging
import ToolKit

/// An agency of the pipeline benchmark: its broker user and intake registration.
struct BenchAgency: Sendable {
    var code: String
    var kind: String
    var eventTypes: [String]
    /// The school whose pupils it names by student number, for a school.
    var schoolCode: String?
}

/// The events agencies send, in the proportions of a working district: incident reports and the 12355
/// hotline first, then attendance, screening, family, venue and court matters. Every event is a new concern
/// about a minor Huhang has not seen, strong enough to raise a tier (so each one ends in at least one
/// notification — the end the benchmark measures); some rise to high or critical and also open a case,
/// assign a first-response task and notify the unit.
enum EventMix {
    static let agencies: [BenchAgency] = [
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
    static let shares: [(type: String, share: Int)] = [
        ("report.incident.v1", 35), ("hotline.call.v1", 20), ("attendance.signal.v1", 15), ("screening.batch.v1", 10),
        ("family.situation.v1", 8), ("venue.finding.v1", 7), ("case.lead.v1", 5),
    ]

    /// Event `index` of run `run`: which agency sends it, and the message (its id is `<run>-<index>`, which
    /// every event it causes carries as its correlation id).
    static func event(_ index: Int, run: String) throws -> (agency: Int, message: OutgoingMessage) {
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
        func idNumber(_ k: Int) -> String { String(format: "3701%014d", index * 8 + k) }
        func pupil(_ k: Int) -> String { "P\(index * 8 + k)" }
        let school = index % 2
        let agency: Int
        let payload: any EventPayload
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
            let flag: HotlineCallV1.RiskFlag = [.selfHarm, .abuse, .neglect][Int.random(in: 0..<3, using: &rng)]
            payload = HotlineCallV1(
                externalID: externalID, receivedAt: now, callerRole: .minor, minor: PersonRef(idNumber: idNumber(0)),
                topic: flag == .selfHarm ? .psychological : .family, riskFlags: [flag],
                immediateDanger: Int.random(in: 0..<10, using: &rng) == 0, cityMatter: false, summary: "pipeline benchmark")
        case "attendance.signal.v1":
            agency = school
            payload = AttendanceSignalV1(
                externalID: externalID, schoolCode: agencies[agency].schoolCode!, student: PersonRef(studentNumber: pupil(0)),
                kind: Int.random(in: 0..<3, using: &rng) == 0 ? .droppedOut : .enrolledAbsent, since: "2026-10-08", daysAbsent: 29)
        case "screening.batch.v1":
            agency = school
            let results = (0..<Int.random(in: 1...4, using: &rng)).map { k in
                ScreeningBatchV1.Result(student: PersonRef(studentNumber: pupil(k)), score: 72, threshold: 65)
            }
            payload = ScreeningBatchV1(
                externalID: externalID, schoolCode: agencies[agency].schoolCode!, scale: "MHT", screenedAt: now, results: results)
        case "family.situation.v1":
            agency = 5
            let flags: [FamilySituationV1.Flag] = Bool.random(using: &rng) ? [.leftBehind, .guardianAbsent] : [.domesticViolence]
            payload = FamilySituationV1(externalID: externalID, child: PersonRef(idNumber: idNumber(0)), schoolCode: nil, flags: flags, notedAt: now)
        case "venue.finding.v1":
            agency = 3
            payload = VenueFindingV1(
                externalID: externalID, venue: .init(kind: .internetCafe, name: "网咖", address: "历下区", licence: "370102-WB-0042"),
                foundAt: now, minors: [PersonRef(idNumber: idNumber(0)), PersonRef(idNumber: idNumber(1))],
                activities: Bool.random(using: &rng) ? [.present, .drinking] : [.present], actionTaken: .warning)
        default:
            agency = 4
            payload = CaseLeadV1(
                externalID: externalID, minor: PersonRef(idNumber: idNumber(0)), kind: .conditionalNonProsecution, decidedAt: now,
                offence: "theft", sealed: false)
        }
        var envelope = EventEnvelope(id: "\(run)-\(index)", type: type, source: agencies[agency].code)
        envelope.sender = agencies[agency].code
        return (agency, try OutgoingMessage(payload, envelope: envelope, exchange: ExchangeName.intake))
    }
}
