import Contracts
import Crypto
import Foundation

/// What notification needs of an event: who must act on it, what to tell
/// them (fixed words and ids, the least that serves), and whether it is critical.
struct Notice: Sendable, Hashable {
    /// Recipient roles the routing rules may name, each resolved from the event: `unit`, `escalated_to`, `task_force`, …
    var roles: [String: String]
    var text: String
    var critical: Bool
}

/// The events notification routes, and how each names its recipients.
enum Routing {
    /// Reads the recipients and the words of an event.
    /// - Parameters:
    ///   - type: The event type.
    ///   - body: The event's JSON body.
    ///   - taskForce: The task force's unit code.
    static func notice(type: String, body: [UInt8], taskForce: String) throws -> Notice? {
        let decoder = ContractCoding.decoder()
        let data = Data(body)
        switch type {
        case TaskAssignedV1.eventType.name:
            let task = try decoder.decode(TaskAssignedV1.self, from: data)
            return Notice(
                roles: ["unit": task.unit, "task_force": taskForce],
                text: "Task \(task.measure) for case \(task.caseID.prefix(8)) (tier \(task.tier.rawValue)) due \(ContractCoding.formatTime(task.dueAt))",
                critical: task.urgent)
        case TaskOverdueV1.eventType.name:
            let task = try decoder.decode(TaskOverdueV1.self, from: data)
            return Notice(
                roles: ["unit": task.unit, "task_force": taskForce],
                text: "Task \(task.measure) for case \(task.caseID.prefix(8)) is late: it was due \(ContractCoding.formatTime(task.dueAt))",
                critical: false)
        case CaseEscalatedV1.eventType.name:
            let escalation = try decoder.decode(CaseEscalatedV1.self, from: data)
            return Notice(
                roles: ["escalated_to": escalation.escalatedTo, "unit": escalation.unit, "task_force": taskForce],
                text: "Case \(escalation.caseID.prefix(8)): \(escalation.unit)'s task was due \(ContractCoding.formatTime(escalation.dueAt)) and is escalated to you (\(escalation.level.rawValue))",
                critical: escalation.level == .taskForce)
        case ReferralRequestedV1.eventType.name:
            let referral = try decoder.decode(ReferralRequestedV1.self, from: data)
            let target = referral.target == .police110 ? "police-110" : "city-12345"
            return Notice(
                roles: ["target": target, "task_force": taskForce],
                text: "Referral from \(referral.fromAgency): \(referral.reason)", critical: referral.urgent)
        case HazardOverdueV1.eventType.name:
            let hazard = try decoder.decode(HazardOverdueV1.self, from: data)
            return Notice(
                roles: ["unit": hazard.unit, "school": hazard.schoolCode, "task_force": taskForce],
                text: "Hazard \(hazard.item) (\(hazard.severity.rawValue)) at \(hazard.schoolCode) was due for rectification \(ContractCoding.formatTime(hazard.dueAt))",
                critical: hazard.severity == .critical)
        case RatingChangedV1.eventType.name:
            let rating = try decoder.decode(RatingChangedV1.self, from: data)
            return Notice(
                roles: ["school": rating.schoolCode, "task_force": taskForce],
                text: "\(rating.quarter) safety rating: \(rating.rating.rawValue)\(rating.fell ? " (fell; under focus)" : "")", critical: false)
        case FollowUpDueV1.eventType.name:
            let visit = try decoder.decode(FollowUpDueV1.self, from: data)
            return Notice(
                roles: ["unit": visit.unit, "task_force": taskForce],
                text: "A follow-up visit for case \(visit.caseID.prefix(8)) was due \(ContractCoding.formatTime(visit.dueAt))", critical: false)
        case DailyDigestV1.eventType.name:
            let digest = try decoder.decode(DailyDigestV1.self, from: data)
            return Notice(
                roles: ["recipient": digest.recipient],
                text: "\(digest.day): \(digest.casesOpened) new cases, \(digest.tasksAssigned) tasks assigned, \(digest.tasksLate) late, "
                    + "\(digest.tasksCompleted) completed, \(digest.casesClosed) closed; \(digest.openCases) open, \(digest.lateTasksOutstanding) late outstanding",
                critical: false)
        case RiskAssessedV1.eventType.name:
            let risk = try decoder.decode(RiskAssessedV1.self, from: data)
            guard risk.tier == .critical else { return nil }
            return Notice(
                roles: ["task_force": taskForce, "school": risk.schoolCode ?? taskForce],
                text: "A subject is at critical risk\(risk.urgent ? ", act now" : "")", critical: true)
        default:
            return nil
        }
    }

    /// The event types notification consumes.
    static let types: [EventType] = [
        TaskAssignedV1.eventType, TaskOverdueV1.eventType, CaseEscalatedV1.eventType, ReferralRequestedV1.eventType,
        HazardOverdueV1.eventType, RatingChangedV1.eventType, FollowUpDueV1.eventType, DailyDigestV1.eventType, RiskAssessedV1.eventType,
    ]
}

/// A webhook's signature, for the receiving agency to verify: HMAC-SHA256 of
/// `<timestamp>.<body>` with the endpoint's secret, hex, in `X-Huhang-Signature: sha256=<hex>`,
/// the timestamp (Unix seconds) in `X-Huhang-Timestamp`.
enum WebhookSignature {
    static func sign(body: [UInt8], timestamp: Int, secret: String) -> String {
        var message = Array("\(timestamp).".utf8)
        message += body
        return "sha256=" + Hex.string(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8))))
    }
}
