import Foundation

// The events intervention publishes on `huhang.events` besides `task.assigned.v1`.

// MARK: - task.assigned.v1 (intervention → all)

/// A task was assigned to a responsible unit with a deadline.
public struct TaskAssignedV1: EventPayload, Hashable {
    public static let eventType = EventType("task.assigned", major: 1)

    public var taskID: String
    public var caseID: String
    public var subjectID: String
    /// The responsible unit (an agency code or the district task force).
    public var unit: String
    /// The measure from the plan catalogue, e.g. `first_response`, `counselling`.
    public var measure: String
    public var tier: RiskTier
    public var dueAt: Date
    public var urgent: Bool

    public init(taskID: String, caseID: String, subjectID: String, unit: String, measure: String, tier: RiskTier, dueAt: Date, urgent: Bool) {
        self.taskID = taskID
        self.caseID = caseID
        self.subjectID = subjectID
        self.unit = unit
        self.measure = measure
        self.tier = tier
        self.dueAt = dueAt
        self.urgent = urgent
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "taskId", caseID = "caseId", subjectID = "subjectId", unit, measure, tier, dueAt, urgent
    }
}

// MARK: - case.opened.v1

/// A case was opened (or reopened) for a subject. An announcement: published only when the operator turns
/// it on (`ANNOUNCE`); the tasks and notices a case brings are events of their own.
public struct CaseOpenedV1: EventPayload, Hashable {
    public static let eventType = EventType("case.opened", major: 1)
    public static let isAnnouncement = true

    public var caseID: String
    public var subjectID: String
    public var tier: RiskTier
    /// Why, in fixed words: the assessment or incident that opened it, or the reason for reopening.
    public var reason: String
    public var schoolCode: String?
    public var reopened: Bool
    public var at: Date

    public init(caseID: String, subjectID: String, tier: RiskTier, reason: String, schoolCode: String?, reopened: Bool, at: Date) {
        self.caseID = caseID
        self.subjectID = subjectID
        self.tier = tier
        self.reason = reason
        self.schoolCode = schoolCode
        self.reopened = reopened
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case caseID = "caseId", subjectID = "subjectId", tier, reason, schoolCode, reopened, at }
}

// MARK: - task.updated.v1

/// A task's status changed: the unit accepted it, reported progress, completed
/// it with feedback or rejected it with a reason; or it was cancelled.
public struct TaskUpdatedV1: EventPayload, Hashable {
    public static let eventType = EventType("task.updated", major: 1)

    public enum Status: String, Codable, Sendable, CaseIterable {
        case assigned, accepted, progress, completed, rejected, cancelled
    }

    public var taskID: String
    public var caseID: String
    public var unit: String
    public var status: Status
    public var note: String?
    public var reason: String?
    public var at: Date

    public init(taskID: String, caseID: String, unit: String, status: Status, note: String?, reason: String?, at: Date) {
        self.taskID = taskID
        self.caseID = caseID
        self.unit = unit
        self.status = status
        self.note = note
        self.reason = reason
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case taskID = "taskId", caseID = "caseId", unit, status, note, reason, at }
}

// MARK: - task.overdue.v1

/// A task passed its deadline: the first step of escalation, a reminder to the unit.
public struct TaskOverdueV1: EventPayload, Hashable {
    public static let eventType = EventType("task.overdue", major: 1)

    public var taskID: String
    public var caseID: String
    public var subjectID: String
    public var unit: String
    public var measure: String
    public var dueAt: Date
    public var at: Date

    public init(taskID: String, caseID: String, subjectID: String, unit: String, measure: String, dueAt: Date, at: Date) {
        self.taskID = taskID
        self.caseID = caseID
        self.subjectID = subjectID
        self.unit = unit
        self.measure = measure
        self.dueAt = dueAt
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case taskID = "taskId", caseID = "caseId", subjectID = "subjectId", unit, measure, dueAt, at }
}

// MARK: - case.escalated.v1

/// A late task was escalated beyond its unit: to the unit's superior, then to the district task force.
public struct CaseEscalatedV1: EventPayload, Hashable {
    public static let eventType = EventType("case.escalated", major: 1)

    public enum Level: String, Codable, Sendable, CaseIterable {
        /// The responsible unit's superior (e.g. a school's education bureau).
        case superior
        /// The district task force (专班).
        case taskForce = "task_force"
    }

    public var caseID: String
    public var taskID: String
    public var subjectID: String
    public var unit: String
    public var level: Level
    /// Who must now act.
    public var escalatedTo: String
    public var dueAt: Date
    public var at: Date

    public init(caseID: String, taskID: String, subjectID: String, unit: String, level: Level, escalatedTo: String, dueAt: Date, at: Date) {
        self.caseID = caseID
        self.taskID = taskID
        self.subjectID = subjectID
        self.unit = unit
        self.level = level
        self.escalatedTo = escalatedTo
        self.dueAt = dueAt
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case caseID = "caseId", taskID = "taskId", subjectID = "subjectId", unit, level, escalatedTo, dueAt, at
    }
}

// MARK: - case.closed.v1

/// A case was closed after its tasks were done or cancelled and a closing review was recorded.
public struct CaseClosedV1: EventPayload, Hashable {
    public static let eventType = EventType("case.closed", major: 1)

    public var caseID: String
    public var subjectID: String
    /// Who recorded the closing review (agency code).
    public var closedBy: String
    public var tasksCompleted: Int
    public var tasksCancelled: Int
    public var at: Date

    public init(caseID: String, subjectID: String, closedBy: String, tasksCompleted: Int, tasksCancelled: Int, at: Date) {
        self.caseID = caseID
        self.subjectID = subjectID
        self.closedBy = closedBy
        self.tasksCompleted = tasksCompleted
        self.tasksCancelled = tasksCancelled
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case caseID = "caseId", subjectID = "subjectId", closedBy, tasksCompleted, tasksCancelled, at }
}

// MARK: - followup.due.v1

/// A follow-up visit (回访) of an open case is due and not yet recorded.
public struct FollowUpDueV1: EventPayload, Hashable {
    public static let eventType = EventType("followup.due", major: 1)

    public var caseID: String
    public var subjectID: String
    public var tier: RiskTier
    /// The unit that visits: the school, else the task force.
    public var unit: String
    public var dueAt: Date
    public var at: Date

    public init(caseID: String, subjectID: String, tier: RiskTier, unit: String, dueAt: Date, at: Date) {
        self.caseID = caseID
        self.subjectID = subjectID
        self.tier = tier
        self.unit = unit
        self.dueAt = dueAt
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case caseID = "caseId", subjectID = "subjectId", tier, unit, dueAt, at }
}

// MARK: - followup.recorded.v1

/// A follow-up visit was recorded; the next one is scheduled by the tier.
public struct FollowUpRecordedV1: EventPayload, Hashable {
    public static let eventType = EventType("followup.recorded", major: 1)

    public var caseID: String
    public var subjectID: String
    /// Who recorded it (agency code).
    public var by: String
    public var visitedAt: Date
    public var nextDueAt: Date?

    public init(caseID: String, subjectID: String, by: String, visitedAt: Date, nextDueAt: Date?) {
        self.caseID = caseID
        self.subjectID = subjectID
        self.by = by
        self.visitedAt = visitedAt
        self.nextDueAt = nextDueAt
    }

    enum CodingKeys: String, CodingKey { case caseID = "caseId", subjectID = "subjectId", by, visitedAt, nextDueAt }
}

// MARK: - daily.digest.v1

/// The day's loop for the task force (日研判、日指令、日盯办、日化解): what is new,
/// assigned, late and resolved. Sealed cases are not counted.
public struct DailyDigestV1: EventPayload, Hashable {
    public static let eventType = EventType("daily.digest", major: 1)

    /// `YYYY-MM-DD`, China Standard Time.
    public var day: String
    public var casesOpened: Int
    public var tasksAssigned: Int
    /// Tasks that passed their deadline that day.
    public var tasksLate: Int
    public var tasksCompleted: Int
    public var casesClosed: Int
    /// Open cases and late tasks at the end of the day.
    public var openCases: Int
    public var lateTasksOutstanding: Int
    /// Who it is for.
    public var recipient: String

    public init(day: String, casesOpened: Int, tasksAssigned: Int, tasksLate: Int, tasksCompleted: Int, casesClosed: Int,
                openCases: Int, lateTasksOutstanding: Int, recipient: String) {
        self.day = day
        self.casesOpened = casesOpened
        self.tasksAssigned = tasksAssigned
        self.tasksLate = tasksLate
        self.tasksCompleted = tasksCompleted
        self.casesClosed = casesClosed
        self.openCases = openCases
        self.lateTasksOutstanding = lateTasksOutstanding
        self.recipient = recipient
    }
}

// MARK: - referral.resolved.v1

/// A referral reached its outcome: a 110 or 12345 referral from the hotline,
/// or a plan's referral to a specialised school or to judicial or social aid.
public struct ReferralResolvedV1: EventPayload, Hashable {
    public static let eventType = EventType("referral.resolved", major: 1)

    public var referralID: String
    /// `police_110`, `city_12345`, `specialised_school`, `judicial_aid` or `social_aid`.
    public var kind: String
    /// For 110 and 12345: `dispatched`, `resolved`, `no_action`; a specialised school:
    /// `back_to_school`, `technical_school`, `into_society`; aid: `granted`, `refused`.
    public var outcome: String
    public var caseID: String?
    public var subjectID: String?
    /// Who reported the outcome (agency code).
    public var by: String
    public var at: Date

    public init(referralID: String, kind: String, outcome: String, caseID: String?, subjectID: String?, by: String, at: Date) {
        self.referralID = referralID
        self.kind = kind
        self.outcome = outcome
        self.caseID = caseID
        self.subjectID = subjectID
        self.by = by
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case referralID = "referralId", kind, outcome, caseID = "caseId", subjectID = "subjectId", by, at }
}

// MARK: - careteam.changed.v1

/// A case's care team ("four-on-one", 四包一) was named or changed, or named
/// again on reopening: who notification may tell of the case, and how. Names
/// never travel; each contact travels sealed with the deployment's personal-data
/// key (`PERSONAL_DATA_KEY`), so the bus and its dead letters hold no phone
/// number or address in clear.
public struct CareTeamChangedV1: EventPayload, Hashable {
    public static let eventType = EventType("careteam.changed", major: 1)

    public struct Member: Codable, Hashable, Sendable {
        public enum Role: String, Codable, Hashable, Sendable, CaseIterable {
            case guardian
            case headTeacher = "head_teacher"
            case psychologicalTeacher = "psychological_teacher"
            case communityPolice = "community_police"
        }

        public var role: Role
        /// The member's unit (school, police station), where they have one; never for a guardian.
        public var unit: String?
        /// A phone number or e-mail address, sealed (`hk1` AES-256-GCM, base64).
        public var contact: String

        public init(role: Role, unit: String?, contact: String) {
            self.role = role
            self.unit = unit
            self.contact = contact
        }

        /// How a contact is reached: `email` for an e-mail address, `sms` for a phone number, nil for anything else.
        /// - Parameter contact: The contact in clear.
        public static func channel(ofContact contact: String) -> String? {
            let text = contact.trimmingCharacters(in: .whitespaces)
            if text.contains("@"), !text.hasPrefix("@"), !text.hasSuffix("@"), !text.contains(" ") { return "email" }
            let digits = text.filter(\.isNumber).count
            let phone = !text.isEmpty && text.allSatisfy { $0.isNumber || "+- ()".contains($0) } && (5...20).contains(digits)
            return phone ? "sms" : nil
        }
    }

    public var caseID: String
    public var subjectID: String
    /// The whole team as it now is; a member left out is no longer on it.
    public var members: [Member]
    public var at: Date

    public init(caseID: String, subjectID: String, members: [Member], at: Date) {
        self.caseID = caseID
        self.subjectID = subjectID
        self.members = members
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case caseID = "caseId", subjectID = "subjectId", members, at }
}

// MARK: - subject.sealed.v1 (intervention → assessment)

/// A seal order (档案封存) reached a minor's record, or an order lifted it. Assessment then keeps what the
/// minor is said to have done — case leads, reports naming them as the alleged perpetrator — but neither
/// counts nor shows it, in any ledger, statistic or risk explanation, until an order unseals it. The
/// order's reference stays with intervention.
public struct SubjectSealedV1: EventPayload, Hashable {
    public static let eventType = EventType("subject.sealed", major: 1)

    public var subjectID: String
    /// True for a seal, false for an order that unseals.
    public var sealed: Bool
    public var at: Date

    public init(subjectID: String, sealed: Bool, at: Date) {
        self.subjectID = subjectID
        self.sealed = sealed
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case subjectID = "subjectId", sealed, at }
}

extension Contracts {
    /// What intervention publishes.
    public static let interventionPayloads: [any EventPayload.Type] = [
        CaseOpenedV1.self, TaskAssignedV1.self, TaskUpdatedV1.self, TaskOverdueV1.self, CaseEscalatedV1.self, CaseClosedV1.self,
        FollowUpDueV1.self, FollowUpRecordedV1.self, DailyDigestV1.self, ReferralResolvedV1.self, CareTeamChangedV1.self,
        SubjectSealedV1.self,
    ]
}
