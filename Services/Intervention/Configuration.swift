import Contracts
import Foundation
import ServiceKit

/// Intervention's own settings: deadlines by tier (docs/DOMAIN.md's table) and the escalation ladder.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `FIRST_RESPONSE_HOURS` | `1,24,120` | hours to first response for critical, high, medium |
/// | `PLAN_HOURS` | `24,72,240` | hours for a plan's measures for critical, high, medium (low: the medium figure) |
/// | `ESCALATE_SUPERIOR_AFTER_HOURS` | `24` | hours after a deadline before a late task goes to the unit's superior |
/// | `ESCALATE_TASK_FORCE_AFTER_HOURS` | `72` | hours after a deadline before it goes to the district task force |
/// | `TASK_FORCE_UNIT` | `district-task-force` | the task force's unit code; also the superior of units without one |
/// | `ESCALATION_POLL_MS` | `1000` | how often the escalation timer looks for due steps, follow-ups and the digest |
/// | `FOLLOW_UP_DAYS` | `7,14,30` | days between follow-up visits for critical, high, medium (low: 90) |
/// | `SEALED_ACCESS_MINUTES` | `30` | how long a stated reason opens a sealed case to its reader |
/// | `DAILY_DIGEST_HOUR` | `8` | the hour (China Standard Time) at which the previous day's digest goes out |
struct InterventionConfiguration: Sendable {
    var firstResponse: [RiskTier: TimeInterval]
    var plan: [RiskTier: TimeInterval]
    var superiorAfter: TimeInterval
    var taskForceAfter: TimeInterval
    var taskForceUnit: String
    var escalationPoll: Duration
    var followUp: [RiskTier: TimeInterval]
    var sealedAccess: TimeInterval
    var digestHour: Int

    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func hours(_ key: String, _ fallback: [Double]) throws -> [RiskTier: TimeInterval] {
            let values: [Double]
            if let text = environment[key], !text.isEmpty {
                let parsed = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard parsed.count == 3, parsed.allSatisfy({ $0 > 0 }) else {
                    throw ConfigurationError(key: key, value: text, expected: "three positive numbers: critical,high,medium")
                }
                values = parsed
            } else {
                values = fallback
            }
            return [.critical: values[0] * 3600, .high: values[1] * 3600, .medium: values[2] * 3600, .low: values[2] * 3600]
        }
        let reader = EnvironmentReader(environment)
        func number(_ key: String, _ fallback: Double) throws -> Double { try reader.positive(key, default: fallback) }
        firstResponse = try hours("FIRST_RESPONSE_HOURS", [1, 24, 120])
        plan = try hours("PLAN_HOURS", [24, 72, 240])
        superiorAfter = try number("ESCALATE_SUPERIOR_AFTER_HOURS", 24) * 3600
        taskForceAfter = try number("ESCALATE_TASK_FORCE_AFTER_HOURS", 72) * 3600
        guard taskForceAfter > superiorAfter else {
            throw ConfigurationError(
                key: "ESCALATE_TASK_FORCE_AFTER_HOURS", value: String(taskForceAfter / 3600), expected: "more than ESCALATE_SUPERIOR_AFTER_HOURS")
        }
        taskForceUnit = reader.taskForceUnit
        escalationPoll = .milliseconds(Int(try number("ESCALATION_POLL_MS", 1000)))
        var days = try hours("FOLLOW_UP_DAYS", [7, 14, 30])
        for tier in RiskTier.allCases { days[tier] = (days[tier] ?? 0) * 24 }
        days[.low] = 90 * 86_400
        followUp = days
        sealedAccess = try number("SEALED_ACCESS_MINUTES", 30) * 60
        let hourText = environment["DAILY_DIGEST_HOUR"].flatMap { $0.isEmpty ? nil : $0 } ?? "8"
        guard let hour = Int(hourText), (0..<24).contains(hour) else {
            throw ConfigurationError(key: "DAILY_DIGEST_HOUR", value: hourText, expected: "an hour, 0 to 23")
        }
        digestHour = hour
    }
}

/// The measures a plan is made of ("one person, one plan").
enum Measure: String, Codable, Sendable, CaseIterable {
    /// The response to a new case.
    case firstResponse = "first_response"
    /// A department's answer to an incident a school reported ("school blows the whistle, departments report").
    case incidentResponse = "incident_response"
    /// Rectifying a hazard an inspection found.
    case hazardRectification = "hazard_rectification"
    /// Supervising a school whose safety rating fell.
    case schoolSupervision = "school_supervision"
    /// A regulator seeing a venue that admitted minors rectified by its deadline (责令限期整改).
    case venueRectification = "venue_rectification"
    /// A school following up, with the regulator, minors of its own found at a venue (家校联合跟进).
    case jointFollowUp = "joint_follow_up"
    case counselling
    /// 亲职教育
    case familyEducation = "family_education"
    case legalEducation = "legal_education"
    case skillsTraining = "skills_training"
    /// 劝返
    case persuadeReturn = "persuade_return"
    /// 专门学校
    case specialisedSchool = "specialised_school"
    case judicialAid = "judicial_aid"
    case socialAid = "social_aid"
    case medicalGreenChannel = "medical_green_channel"
    case guardianshipSupervisionOrder = "guardianship_supervision_order"
    case temporaryGuardian = "temporary_guardian"
}

/// The four on a case's care team ("four-on-one", 四包一).
enum CareRole: String, Codable, Sendable, CaseIterable {
    case guardian
    case headTeacher = "head_teacher"
    case psychologicalTeacher = "psychological_teacher"
    case communityPolice = "community_police"
}

/// The kinds of referral intervention tracks to an outcome, and the outcomes each may have.
enum ReferralKind: String, Codable, Sendable, CaseIterable {
    case police110 = "police_110"
    case city12345 = "city_12345"
    case specialisedSchool = "specialised_school"
    case judicialAid = "judicial_aid"
    case socialAid = "social_aid"

    var outcomes: [String] {
        switch self {
        case .police110, .city12345: ["dispatched", "resolved", "no_action"]
        case .specialisedSchool: ["back_to_school", "technical_school", "into_society"]
        case .judicialAid, .socialAid: ["granted", "refused"]
        }
    }

    /// The referral a plan's measure makes, if any.
    init?(_ measure: Measure) {
        switch measure {
        case .specialisedSchool: self = .specialisedSchool
        case .judicialAid: self = .judicialAid
        case .socialAid: self = .socialAid
        default: return nil
        }
    }
}

/// Which departments answer an incident a school reports, by category, unless
/// the task force sets others (`PUT /v1/departments/{category}`). `{district}`
/// is the school's county-level division code.
enum Departments {
    static let defaults: [IncidentCategory: [String]] = [
        .bullying: ["education-{district}"],
        .violence: ["psb-{district}", "education-{district}"],
        .sexualAbuse: ["psb-{district}", "procuratorate-{district}"],
        .selfHarm: ["health-{district}", "education-{district}"],
        .runningAway: ["psb-{district}", "civil-affairs-{district}"],
        .drugs: ["psb-{district}"],
        .telecomFraud: ["psb-{district}"],
        .campusLoan: ["finance-{district}", "education-{district}"],
        .onlineHarm: ["cyberspace-{district}"],
        .gang: ["psb-{district}"],
        .theft: ["psb-{district}"],
        .other: ["education-{district}"],
    ]

    static func units(_ templates: [String], schoolCode: String) -> [String] {
        let district = schoolCode.count >= 6 && schoolCode.prefix(6).allSatisfy(\.isNumber) ? String(schoolCode.prefix(6)) : schoolCode
        return templates.map { $0.replacingOccurrences(of: "{district}", with: district) }
    }
}
