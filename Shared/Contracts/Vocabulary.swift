import Foundation

// The words every contract shares.

/// What an incident report is about.
public enum IncidentCategory: String, Codable, Sendable, CaseIterable {
    /// 校园欺凌
    case bullying
    case violence
    /// 性侵
    case sexualAbuse = "sexual_abuse"
    /// 轻生: self-harm or suicide risk
    case selfHarm = "self_harm"
    case runningAway = "running_away"
    /// 禁毒
    case drugs
    /// 电诈
    case telecomFraud = "telecom_fraud"
    /// 校园贷
    case campusLoan = "campus_loan"
    case onlineHarm = "online_harm"
    case gang
    case theft
    case other
}

/// The part a person plays in an incident.
public enum PersonRole: String, Codable, Sendable, CaseIterable {
    case victim
    case allegedPerpetrator = "alleged_perpetrator"
    case witness
    case reporter
}

/// A subject's risk tier, lowest first.
public enum RiskTier: String, Codable, Sendable, CaseIterable, Comparable {
    case low, medium, high, critical

    public static func < (lhs: RiskTier, rhs: RiskTier) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A minor named in an agency's event. Give the identity number when known;
/// else the student number with the school (the event's `schoolCode`, or the
/// person's own where the event has none or the minor attends another school);
/// else name and birth date.
public struct PersonRef: Codable, Sendable, Hashable {
    /// Resident identity number, 18 characters; hashed at intake, never stored.
    public var idNumber: String?
    public var studentNumber: String?
    public var name: String?
    /// `YYYY-MM-DD`.
    public var birthDate: String?
    /// The school the minor attends, when the event names none (a hotline call, a venue finding, a case
    /// lead) or another; it scopes `studentNumber` and tells Huhang which school to involve.
    public var schoolCode: String?

    public init(idNumber: String? = nil, studentNumber: String? = nil, name: String? = nil, birthDate: String? = nil, schoolCode: String? = nil) {
        self.idNumber = idNumber
        self.studentNumber = studentNumber
        self.name = name
        self.birthDate = birthDate
        self.schoolCode = schoolCode
    }
}
