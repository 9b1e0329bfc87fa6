import Contracts
import Foundation

/// The kinds of agency Huhang works with.
enum AgencyKind: String, Codable, CaseIterable {
    case police, procuratorate, court, justice, education, school
    /// The Youth League's 12355 hotline.
    case youthLeagueHotline = "youth_league_hotline"
    case civilAffairs = "civil_affairs"
    case cultureTourism = "culture_tourism"
    case fire
    case urbanManagement = "urban_management"
    case health
    case socialWork = "social_work"
    case community
    case other

    /// What an agency of this kind may send when its registration names no list.
    var defaultEventTypes: [EventType] {
        let feedback = TaskFeedbackV1.eventType
        switch self {
        case .school:
            return [IncidentReportV1.eventType, ScreeningBatchV1.eventType, AttendanceSignalV1.eventType,
                    FamilySituationV1.eventType, InspectionReportV1.eventType, feedback]
        case .education:
            return [IncidentReportV1.eventType, AttendanceSignalV1.eventType, InspectionReportV1.eventType, feedback]
        case .police:
            return [IncidentReportV1.eventType, VenueFindingV1.eventType, CaseLeadV1.eventType, InspectionReportV1.eventType, feedback]
        case .procuratorate, .court, .justice:
            return [CaseLeadV1.eventType, feedback]
        case .youthLeagueHotline:
            return [HotlineCallV1.eventType, IncidentReportV1.eventType, feedback]
        case .civilAffairs, .community, .socialWork:
            return [FamilySituationV1.eventType, IncidentReportV1.eventType, feedback]
        case .cultureTourism:
            return [VenueFindingV1.eventType, feedback]
        case .fire:
            return [InspectionReportV1.eventType, feedback]
        case .health:
            return [ScreeningBatchV1.eventType, IncidentReportV1.eventType, feedback]
        case .urbanManagement, .other:
            return [IncidentReportV1.eventType, feedback]
        }
    }
}

/// A registered agency: who may publish on `huhang.intake`, and what.
struct Agency: Codable, Equatable {
    /// The agency's code; also its RabbitMQ login, checked by the broker on every publish.
    var code: String
    var name: String
    var kind: AgencyKind
    /// Event types the agency may send.
    var eventTypes: [String]
    var active: Bool
    /// The unit the agency is to the services: its tasks, notices and inbox. A school's is its school code
    /// (what its reports name as `schoolCode`); for other agencies it is the code itself.
    var unit: String

    /// How an agency's code looks (it is also its broker login).
    static let codePattern = #"^[a-z0-9][a-z0-9._-]{1,63}$"#
    /// A unit's name: a school code (`370102-M03`) or a unit such as `psb-370102`.
    static let unitPattern = #"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"#

    /// What the registry says of a sender, from what it holds of the agency.
    /// - Parameters:
    ///   - agency: The sender's code.
    ///   - type: The event type it sent.
    ///   - active: Whether the agency is active.
    ///   - eventTypes: What it may send.
    ///   - unit: The unit it acts as.
    ///   - kind: Its kind.
    static func authorization(
        _ agency: String, type: String, active: Bool, eventTypes: [String], unit: String, kind: AgencyKind
    ) -> AgencyAuthorization {
        if !active { return .refused("agency \(agency) is deactivated") }
        if !eventTypes.contains(type) {
            return .refused("agency \(agency) may not send \(type); it may send \(eventTypes.sorted().joined(separator: ", "))")
        }
        return .allowed(unit: unit, kind: kind)
    }

    init(code: String, name: String, kind: AgencyKind, eventTypes: [String], active: Bool, unit: String? = nil) {
        self.code = code
        self.name = name
        self.kind = kind
        self.eventTypes = eventTypes
        self.active = active
        self.unit = unit.flatMap { $0.isEmpty ? nil : $0 } ?? code
    }
}

/// What the registry says of a sender: refused with a reason, or allowed and acting as a unit.
enum AgencyAuthorization: Equatable {
    case allowed(unit: String, kind: AgencyKind)
    case refused(String)
}
