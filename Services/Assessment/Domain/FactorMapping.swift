import Contracts
import Foundation

/// What one event says about the subjects it names.
struct Observation: Sendable, Hashable {
    var subjectID: String
    var signals: [Signal]
    var schoolCode: String?
    /// The agency whose event it was: it may read this subject's assessment.
    var agency: String
}

/// Which event sets or clears which factor. The table, kept in step with the
/// code by the unit tests and shown in the README:
///
/// | event | sets | clears |
/// |---|---|---|
/// | `report.accepted.v1`, victim | `bullying` → bullying_victim; `self_harm` → self_harm_ideation; `violence`, `sexual_abuse`, `gang`, `online_harm`, `campus_loan`, `telecom_fraud`, `theft` → marker victim_of_harm; `drugs` → substance_use; `sexual_abuse` → trigger sexual_abuse; immediate danger → trigger immediate_danger | — |
/// | `report.accepted.v1`, alleged perpetrator | `bullying` → bullying_perpetrator; `violence`, `sexual_abuse` → aggression; `drugs` → substance_use; `gang`, `telecom_fraud` → delinquent_peers; `theft`, `campus_loan`, `online_harm`, `other` → disciplinary_record | — |
/// | `report.accepted.v1`, victim of `running_away` | guardian_absent_or_unfit | — |
/// | `hotline.call.accepted.v1` | flags: `self_harm` → self_harm_ideation; `abuse` → domestic_violence; `violence` → victim_of_harm; `bullying` → bullying_victim; `neglect` → guardian_absent_or_unfit; `violence` or `abuse` `harmedBy` a guardian → domestic_violence and guardian_absent_or_unfit, by a family member (or unsaid in a call on `family`) → domestic_violence; danger now → trigger immediate_danger | — |
/// | `screening.batch.accepted.v1` | positive → positive_screening | negative → positive_screening |
/// | `attendance.signal.accepted.v1` | `suspended`, `repeated_leave`, `long_leave` → chronic_absence; `enrolled_absent` → enrolled_absent; `dropped_out` → both | `returned` → both |
/// | `family.situation.accepted.v1` | `single_parent`, `divorced` → single_parent_or_divorced; `remarried` → remarried_family; `left_behind`; `disability_in_family`; `hardship` → economic_hardship; `guardian_absent`, `guardian_unfit` → guardian_absent_or_unfit; `domestic_violence` | — |
/// | `venue.finding.accepted.v1` | prohibited_venues; `gambling` → delinquent_peers; `fighting` → aggression; `drinking` → substance_use; an internet café → internet_addiction | — |
/// | `case.lead.accepted.v1` | prior_offence; a guardianship supervision order also guardian_absent_or_unfit | — |
///
/// How long each counts is the factor's `days` in the model. mental_disorder
/// comes from no event yet: a diagnosis is not something agencies send.
enum FactorMapping {
    /// The factors some event sets: a model must have them all.
    static let sourcedFactors = [
        "self_harm_ideation", "positive_screening", "aggression", "substance_use", "internet_addiction", "prior_offence",
        "left_behind", "single_parent_or_divorced", "remarried_family", "guardian_absent_or_unfit", "domestic_violence",
        "economic_hardship", "disability_in_family", "chronic_absence", "enrolled_absent", "disciplinary_record",
        "bullying_perpetrator", "bullying_victim", "prohibited_venues", "delinquent_peers",
        "immediate_danger", "sexual_abuse", "victim_of_harm",
    ]

    static func observations(_ report: ReportAcceptedV1, eventID: String) -> [Observation] {
        report.subjects.compactMap { subject in
            var ids: [String] = []
            switch (subject.role, report.category) {
            case (.victim, .bullying): ids = ["bullying_victim"]
            case (.victim, .selfHarm): ids = ["self_harm_ideation"]
            case (.victim, .sexualAbuse): ids = ["sexual_abuse", "victim_of_harm"]
            case (.victim, .violence), (.victim, .gang), (.victim, .onlineHarm), (.victim, .campusLoan),
                 (.victim, .telecomFraud), (.victim, .theft): ids = ["victim_of_harm"]
            case (.victim, .drugs), (.allegedPerpetrator, .drugs): ids = ["substance_use"]
            case (.victim, .runningAway): ids = ["guardian_absent_or_unfit"]
            case (.allegedPerpetrator, .bullying): ids = ["bullying_perpetrator"]
            case (.allegedPerpetrator, .violence), (.allegedPerpetrator, .sexualAbuse): ids = ["aggression"]
            case (.allegedPerpetrator, .gang), (.allegedPerpetrator, .telecomFraud): ids = ["delinquent_peers"]
            case (.allegedPerpetrator, .theft), (.allegedPerpetrator, .campusLoan), (.allegedPerpetrator, .onlineHarm),
                 (.allegedPerpetrator, .other): ids = ["disciplinary_record"]
            default: ids = []
            }
            if report.immediateDanger && subject.role == .victim { ids.append("immediate_danger") }
            guard !ids.isEmpty else { return nil }
            let detail = "\(report.category.rawValue) reported as \(subject.role.rawValue)\(report.immediateDanger ? ", danger now" : "")"
            let matter: Signal.Matter? = subject.role == .allegedPerpetrator ? .offence : nil
            return Observation(
                subjectID: subject.subjectID,
                signals: ids.map { Signal(factor: $0, kind: .set, at: report.occurredAt, eventID: eventID, detail: detail, matter: matter) },
                schoolCode: report.schoolCode, agency: report.agency)
        }
    }

    static func observations(_ call: HotlineCallAcceptedV1, eventID: String) -> [Observation] {
        guard let subjectID = call.subjectID else { return [] }
        var ids: [String] = call.riskFlags.compactMap { flag in
            switch flag {
            case .selfHarm: "self_harm_ideation"
            case .abuse: "domestic_violence"
            case .violence: "victim_of_harm"
            case .bullying: "bullying_victim"
            case .neglect: "guardian_absent_or_unfit"
            case .runningAway: nil
            }
        }
        // Violence at home: by a guardian it is domestic violence and guardianship that fails the child; by
        // another member of the household (or, unsaid, in a call about the family) domestic violence.
        let harm = call.riskFlags.contains(.violence) || call.riskFlags.contains(.abuse)
        if harm && (call.harmedBy == .guardian || call.harmedBy == .familyMember || (call.harmedBy == nil && call.topic == .family)) {
            ids.append("domestic_violence")
        }
        if harm && call.harmedBy == .guardian { ids.append("guardian_absent_or_unfit") }
        ids = ids.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        if call.immediateDanger { ids.append("immediate_danger") }
        guard !ids.isEmpty else { return [] }
        let flags = call.riskFlags.map(\.rawValue).joined(separator: ", ")
        let by = call.harmedBy.map { " by \($0.rawValue)" } ?? ""
        let detail = "12355 call: \(flags.isEmpty ? call.topic.rawValue : flags)\(by)\(call.immediateDanger ? ", danger now" : "")"
        return [Observation(
            subjectID: subjectID,
            signals: ids.map { Signal(factor: $0, kind: .set, at: call.receivedAt, eventID: eventID, detail: detail) },
            schoolCode: nil, agency: call.agency)]
    }

    static func observations(_ batch: ScreeningBatchAcceptedV1, eventID: String) -> [Observation] {
        batch.results.map { result in
            let detail = "\(batch.scale) screening \(Evaluation.number(result.score)) against \(Evaluation.number(result.threshold))"
            return Observation(
                subjectID: result.subjectID,
                signals: [Signal(factor: "positive_screening", kind: result.positive ? .set : .clear, at: batch.screenedAt, eventID: eventID, detail: detail)],
                schoolCode: batch.schoolCode, agency: batch.agency)
        }
    }

    static func observations(_ signal: AttendanceSignalAcceptedV1, eventID: String) -> [Observation] {
        let (ids, kind): ([String], Signal.Kind) = switch signal.kind {
        case .suspended, .repeatedLeave, .longLeave: (["chronic_absence"], .set)
        case .enrolledAbsent: (["enrolled_absent"], .set)
        case .droppedOut: (["chronic_absence", "enrolled_absent"], .set)
        case .returned: (["chronic_absence", "enrolled_absent"], .clear)
        }
        let at = day(signal.since) ?? Date()
        let detail = "\(signal.kind.rawValue) since \(signal.since)\(signal.daysAbsent.map { ", \($0) days absent" } ?? "")"
        return [Observation(
            subjectID: signal.subjectID, signals: ids.map { Signal(factor: $0, kind: kind, at: at, eventID: eventID, detail: detail) },
            schoolCode: signal.schoolCode, agency: signal.agency)]
    }

    static func observations(_ note: FamilySituationAcceptedV1, eventID: String) -> [Observation] {
        var ids: [String] = []
        for flag in note.flags {
            let id = switch flag {
            case .singleParent, .divorced: "single_parent_or_divorced"
            case .remarried: "remarried_family"
            case .leftBehind: "left_behind"
            case .disabilityInFamily: "disability_in_family"
            case .hardship: "economic_hardship"
            case .guardianAbsent, .guardianUnfit: "guardian_absent_or_unfit"
            case .domesticViolence: "domestic_violence"
            }
            if !ids.contains(id) { ids.append(id) }
        }
        let detail = "family: " + note.flags.map(\.rawValue).joined(separator: ", ")
        return [Observation(
            subjectID: note.subjectID, signals: ids.map { Signal(factor: $0, kind: .set, at: note.notedAt, eventID: eventID, detail: detail) },
            schoolCode: note.schoolCode, agency: note.agency)]
    }

    static func observations(_ finding: VenueFindingAcceptedV1, eventID: String) -> [Observation] {
        var ids = ["prohibited_venues"]
        if finding.venue.kind == .internetCafe { ids.append("internet_addiction") }
        for activity in finding.activities {
            switch activity {
            case .gambling: ids.append("delinquent_peers")
            case .fighting: ids.append("aggression")
            case .drinking: ids.append("substance_use")
            case .present, .smoking, .other: break
            }
        }
        let activities = finding.activities.map(\.rawValue).joined(separator: ", ")
        let detail = "found in a \(finding.venue.kind.rawValue)\(activities.isEmpty ? "" : " (\(activities))")"
        return finding.subjectIDs.map { subjectID in
            Observation(
                subjectID: subjectID, signals: ids.map { Signal(factor: $0, kind: .set, at: finding.foundAt, eventID: eventID, detail: detail) },
                schoolCode: nil, agency: finding.agency)
        }
    }

    static func observations(_ lead: CaseLeadAcceptedV1, eventID: String) -> [Observation] {
        var ids = ["prior_offence"]
        if lead.kind == .guardianshipSupervisionOrder { ids.append("guardian_absent_or_unfit") }
        // A lead under a seal order (档案封存) is kept but neither counted nor shown, until an order unseals it.
        let detail = lead.sealed ? "case lead (sealed record)" : "case lead: \(lead.kind.rawValue)"
        return [Observation(
            subjectID: lead.subjectID,
            signals: ids.map {
                Signal(factor: $0, kind: .set, at: lead.decidedAt, eventID: eventID, detail: detail, matter: .offence, sealed: lead.sealed)
            },
            schoolCode: nil, agency: lead.agency)]
    }

    /// A `YYYY-MM-DD` day at midnight in China Standard Time.
    static func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2]))
    }

    /// The county-level division a school is in: the first six digits of its code (`370102-M03` → `370102`).
    static func district(_ schoolCode: String?) -> String? {
        guard let code = schoolCode, code.count >= 6, code.prefix(6).allSatisfy(\.isNumber) else { return nil }
        return String(code.prefix(6))
    }
}
