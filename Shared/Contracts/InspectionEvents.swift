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
