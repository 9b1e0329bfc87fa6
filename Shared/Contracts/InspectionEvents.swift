import Foundation

// The events inspection publishes on `huhang.events`.

// MARK: - hazard.reported.v1

/// A failed checklist item became a hazard with a responsible unit and a rectification deadline.
public struct HazardReportedV1: EventPayload, Hashable {
    public static let eventType = EventType("hazard.reported", major: 1)

    public enum Severity: String, Codable, Sendable, CaseIterable { case minor, major, critical }

    public var hazardID: String
    public var schoolCode: String
    /// The checklist item, e.g. `one_key_alarm`.
    public var item: String
    public var severity: Severity
    /// Who must rectify it.
    public var unit: String
    public var dueAt: Date
    /// The inspection that found it (intake's id) and the inspecting unit.
    public var inspectionID: String
    public var inspectedBy: String
    public var note: String?
    public var at: Date

    public init(hazardID: String, schoolCode: String, item: String, severity: Severity, unit: String, dueAt: Date, inspectionID: String,
                inspectedBy: String, note: String?, at: Date) {
        self.hazardID = hazardID
        self.schoolCode = schoolCode
        self.item = item
        self.severity = severity
        self.unit = unit
        self.dueAt = dueAt
        self.inspectionID = inspectionID
        self.inspectedBy = inspectedBy
        self.note = note
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case hazardID = "hazardId", schoolCode, item, severity, unit, dueAt, inspectionID = "inspectionId", inspectedBy, note, at
    }
}

// MARK: - hazard.overdue.v1

/// A hazard was not rectified by its deadline; fires once per hazard.
public struct HazardOverdueV1: EventPayload, Hashable {
    public static let eventType = EventType("hazard.overdue", major: 1)

    public var hazardID: String
    public var schoolCode: String
    public var item: String
    public var severity: HazardReportedV1.Severity
    public var unit: String
    public var dueAt: Date
    public var at: Date

    public init(hazardID: String, schoolCode: String, item: String, severity: HazardReportedV1.Severity, unit: String, dueAt: Date, at: Date) {
        self.hazardID = hazardID
        self.schoolCode = schoolCode
        self.item = item
        self.severity = severity
        self.unit = unit
        self.dueAt = dueAt
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case hazardID = "hazardId", schoolCode, item, severity, unit, dueAt, at }
}

// MARK: - rating.changed.v1

/// A school's quarterly safety rating was set or changed.
public struct RatingChangedV1: EventPayload, Hashable {
    public static let eventType = EventType("rating.changed", major: 1)

    public enum Rating: String, Codable, Sendable, CaseIterable, Comparable {
        /// 不合格
        case nonCompliant = "non_compliant"
        /// 达标
        case compliant
        /// 示范
        case model

        public static func < (lhs: Rating, rhs: Rating) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    public var schoolCode: String
    /// `YYYY-Qn`.
    public var quarter: String
    public var rating: Rating
    /// The rating of the quarter before, when there was one.
    public var previousRating: Rating?
    /// The school fell: it is put under focus with a supervision task.
    public var fell: Bool
    /// Why, rule by rule.
    public var reasons: [String]
    public var at: Date

    public init(schoolCode: String, quarter: String, rating: Rating, previousRating: Rating?, fell: Bool, reasons: [String], at: Date) {
        self.schoolCode = schoolCode
        self.quarter = quarter
        self.rating = rating
        self.previousRating = previousRating
        self.fell = fell
        self.reasons = reasons
        self.at = at
    }
}

// MARK: - school.updated.v1 (inspection → intervention)

/// The schools registry changed for a school: who stands beside it. The school's police officer (一校一警)
/// and its legal vice-principal (法治副校长) are named by the units they act for, so that intervention puts
/// them on every bullying and violence case of the school. No person is named.
public struct SchoolUpdatedV1: EventPayload, Hashable {
    public static let eventType = EventType("school.updated", major: 1)

    public var schoolCode: String
    public var district: String?
    /// The unit of the school's police officer (e.g. the police station `psb-370102-lx`).
    public var policeUnit: String?
    /// The unit of the school's legal vice-principal (e.g. a procuratorate or court).
    public var legalVicePrincipalUnit: String?
    public var at: Date

    public init(schoolCode: String, district: String?, policeUnit: String?, legalVicePrincipalUnit: String?, at: Date) {
        self.schoolCode = schoolCode
        self.district = district
        self.policeUnit = policeUnit
        self.legalVicePrincipalUnit = legalVicePrincipalUnit
        self.at = at
    }
}

// MARK: - venue.flagged.v1 (inspection → intervention)

/// A venue admitted minors where the law forbids it (an internet café, bar or KTV; a hotel without the
/// checks for minors), or was found with minors often enough to be flagged. Intervention gives its
/// regulator a rectification task by `dueAt` (一书一函, 责令限期整改), tells the minors' schools for
/// joint follow-up, and escalates a repeated breach to the task force. No minor is named.
public struct VenueFlaggedV1: EventPayload, Hashable {
    public static let eventType = EventType("venue.flagged", major: 1)

    public var venueKey: String
    public var kind: VenueFindingV1.VenueKind
    public var name: String
    public var district: String?
    /// Who must see to the rectification: culture and tourism enforcement (`culture-{district}`) for an
    /// internet café, bar or KTV; the police (`psb-{district}`) for a hotel or short-let room; none when the
    /// district is not known (the task force then).
    public var regulatorUnit: String?
    public var dueAt: Date
    /// Why, in fixed words.
    public var reason: String
    /// The finding that flagged it (intake's id).
    public var findingID: String
    /// Breaches at this venue within the window, this one included.
    public var breaches: Int
    /// The schools of the minors found, where named.
    public var schoolCodes: [String]
    public var at: Date

    public init(
        venueKey: String, kind: VenueFindingV1.VenueKind, name: String, district: String?, regulatorUnit: String?, dueAt: Date,
        reason: String, findingID: String, breaches: Int, schoolCodes: [String], at: Date
    ) {
        self.venueKey = venueKey
        self.kind = kind
        self.name = name
        self.district = district
        self.regulatorUnit = regulatorUnit
        self.dueAt = dueAt
        self.reason = reason
        self.findingID = findingID
        self.breaches = breaches
        self.schoolCodes = schoolCodes
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case venueKey, kind, name, district, regulatorUnit, dueAt, reason, findingID = "findingId", breaches, schoolCodes, at
    }
}

extension Contracts {
    /// What inspection publishes.
    public static let inspectionPayloads: [any EventPayload.Type] = [
        HazardReportedV1.self, HazardOverdueV1.self, RatingChangedV1.self, SchoolUpdatedV1.self, VenueFlaggedV1.self,
    ]
}
