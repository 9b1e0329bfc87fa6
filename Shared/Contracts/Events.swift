import Foundation

// MARK: - Shared vocabulary

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

// MARK: - report.incident.v1 (agency → intake)

/// An agency reports an incident involving minors. Published by the agency on
/// `huhang.intake` with routing key `report.incident.v1`.
public struct IncidentReportV1: EventPayload, Hashable {
    public static let eventType = EventType("report.incident", major: 1)

    /// A person named in the report. Identity fields are read by intake and
    /// replaced by a subject id; they never leave intake.
    public struct Person: Codable, Sendable, Hashable {
        public var role: PersonRole
        /// Resident identity number (18 characters); hashed at intake, never stored.
        public var idNumber: String?
        /// Student number at ``IncidentReportV1/schoolCode``.
        public var studentNumber: String?
        public var name: String?
        /// `YYYY-MM-DD`.
        public var birthDate: String?

        public init(role: PersonRole, idNumber: String? = nil, studentNumber: String? = nil, name: String? = nil, birthDate: String? = nil) {
            self.role = role
            self.idNumber = idNumber
            self.studentNumber = studentNumber
            self.name = name
            self.birthDate = birthDate
        }
    }

    /// The agency's own id for this report; (agency, event type, externalID) is unique.
    public var externalID: String
    public var category: IncidentCategory
    /// Danger is happening now (self-harm under way, ongoing violence, abuse).
    public var immediateDanger: Bool
    public var occurredAt: Date
    /// The school concerned, by its code in the schools registry.
    public var schoolCode: String?
    public var place: String?
    public var narrative: String?
    public var people: [Person]
    /// How the report reached the agency: counted in intake's statistics (`GET /v1/stats`).
    public var channel: ReportChannel?

    public init(
        externalID: String, category: IncidentCategory, immediateDanger: Bool, occurredAt: Date,
        schoolCode: String? = nil, place: String? = nil, narrative: String? = nil, people: [Person], channel: ReportChannel? = nil
    ) {
        self.externalID = externalID
        self.category = category
        self.immediateDanger = immediateDanger
        self.occurredAt = occurredAt
        self.schoolCode = schoolCode
        self.place = place
        self.narrative = narrative
        self.people = people
        self.channel = channel
    }

    enum CodingKeys: String, CodingKey {
        case externalID = "externalId", category, immediateDanger, occurredAt, schoolCode, place, narrative, people, channel
    }
}

/// How a report reached the agency that sends it.
public enum ReportChannel: String, Codable, Sendable, CaseIterable {
    /// A QR-code reporting page (扫码举报), e.g. on a campus poster.
    case qrCode = "qr_code"
    /// The 110 mailbox or alarm line.
    case mailbox110 = "mailbox_110"
    /// A hotline: 12355, a school's or a bureau's own.
    case hotline
    /// Found on patrol or inspection.
    case patrol
    /// Someone came in person.
    case walkIn = "walk_in"
    /// A school's own report: a teacher, the anti-bullying mailbox.
    case school
    /// A website, an app or a messaging account.
    case online
    case other
}

// MARK: - report.accepted.v1 (intake → all)

/// Intake accepted an agency's report. Carries subject ids, never identities.
public struct ReportAcceptedV1: EventPayload, Hashable {
    public static let eventType = EventType("report.accepted", major: 1)

    public struct Subject: Codable, Sendable, Hashable {
        public var subjectID: String
        public var role: PersonRole
        public init(subjectID: String, role: PersonRole) {
            self.subjectID = subjectID
            self.role = role
        }
        enum CodingKeys: String, CodingKey { case subjectID = "subjectId", role }
    }

    public var reportID: String
    /// The verified sending agency.
    public var agency: String
    public var externalID: String
    public var category: IncidentCategory
    public var immediateDanger: Bool
    public var occurredAt: Date
    public var schoolCode: String?
    public var subjects: [Subject]
    /// How the report reached the agency, when it said.
    public var channel: ReportChannel?

    public init(
        reportID: String, agency: String, externalID: String, category: IncidentCategory,
        immediateDanger: Bool, occurredAt: Date, schoolCode: String?, subjects: [Subject], channel: ReportChannel? = nil
    ) {
        self.reportID = reportID
        self.agency = agency
        self.externalID = externalID
        self.category = category
        self.immediateDanger = immediateDanger
        self.occurredAt = occurredAt
        self.schoolCode = schoolCode
        self.subjects = subjects
        self.channel = channel
    }

    enum CodingKeys: String, CodingKey {
        case reportID = "reportId", agency, externalID = "externalId", category, immediateDanger, occurredAt, schoolCode, subjects, channel
    }
}

// MARK: - risk.assessed.v1 (assessment → all)

/// A subject's risk tier changed.
public struct RiskAssessedV1: EventPayload, Hashable {
    public static let eventType = EventType("risk.assessed", major: 1)

    /// A factor that counted, with its weight in the model used.
    public struct Factor: Codable, Sendable, Hashable {
        /// The factor's id in the model, e.g. `bullying_victim`.
        public var id: String
        /// `personal`, `guardianship`, `school` or `social`.
        public var dimension: String
        public var weight: Double

        public init(id: String, dimension: String, weight: Double) {
            self.id = id
            self.dimension = dimension
            self.weight = weight
        }
    }

    public var subjectID: String
    public var tier: RiskTier
    public var previousTier: RiskTier?
    public var score: Double
    /// Why: the factors or triggers that produced the tier.
    public var reasons: [String]
    public var modelVersion: String
    /// A first tier set from one report, before the full model has run.
    public var provisional: Bool
    /// Immediate danger: act now.
    public var urgent: Bool
    public var schoolCode: String?
    public var assessedAt: Date
    /// The factors that produced the score (added in 1.1; absent from provisional assessments).
    public var factors: [Factor]?

    public init(
        subjectID: String, tier: RiskTier, previousTier: RiskTier?, score: Double, reasons: [String],
        modelVersion: String, provisional: Bool, urgent: Bool, schoolCode: String?, assessedAt: Date, factors: [Factor]? = nil
    ) {
        self.subjectID = subjectID
        self.tier = tier
        self.previousTier = previousTier
        self.score = score
        self.reasons = reasons
        self.modelVersion = modelVersion
        self.provisional = provisional
        self.urgent = urgent
        self.schoolCode = schoolCode
        self.assessedAt = assessedAt
        self.factors = factors
    }

    enum CodingKeys: String, CodingKey {
        case subjectID = "subjectId", tier, previousTier, score, reasons, modelVersion, provisional, urgent, schoolCode, assessedAt, factors
    }
}

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

// MARK: - notification.delivered.v1 (notification → all)

/// A notice reached its recipient on a channel.
public struct NotificationDeliveredV1: EventPayload, Hashable {
    public static let eventType = EventType("notification.delivered", major: 1)

    public enum Channel: String, Codable, Sendable, CaseIterable {
        case inbox, webhook, sms, email
    }

    public var deliveryID: String
    /// The event the notice is about.
    public var aboutEventID: String
    public var aboutEventType: String
    public var recipient: String
    public var channel: Channel
    public var deliveredAt: Date

    public init(deliveryID: String, aboutEventID: String, aboutEventType: String, recipient: String, channel: Channel, deliveredAt: Date) {
        self.deliveryID = deliveryID
        self.aboutEventID = aboutEventID
        self.aboutEventType = aboutEventType
        self.recipient = recipient
        self.channel = channel
        self.deliveredAt = deliveredAt
    }

    enum CodingKeys: String, CodingKey {
        case deliveryID = "deliveryId", aboutEventID = "aboutEventId", aboutEventType, recipient, channel, deliveredAt
    }
}

/// Every event type of the contracts package, for tooling and documentation.
public enum Contracts {
    public static let allPayloads: [any EventPayload.Type] = agencyPayloads + [
        IntakeReceiptV1.self, EventRefusedV1.self, ReportAcceptedV1.self, RiskAssessedV1.self, TaskAssignedV1.self, NotificationDeliveredV1.self,
    ] + intakePayloads + [LedgerChangedV1.self] + interventionPayloads

    /// What intervention publishes besides `task.assigned.v1`.
    public static let interventionPayloads: [any EventPayload.Type] = [
        CaseOpenedV1.self, TaskUpdatedV1.self, TaskOverdueV1.self, CaseEscalatedV1.self, CaseClosedV1.self,
        FollowUpDueV1.self, FollowUpRecordedV1.self, DailyDigestV1.self, ReferralResolvedV1.self, CareTeamChangedV1.self,
        SubjectSealedV1.self,
    ] + inspectionPayloads

    /// What inspection publishes.
    public static let inspectionPayloads: [any EventPayload.Type] = [
        HazardReportedV1.self, HazardOverdueV1.self, RatingChangedV1.self, SchoolUpdatedV1.self, VenueFlaggedV1.self,
    ]

    /// The domain events intake passes on for accepted agency events, and the referrals it raises.
    public static let intakePayloads: [any EventPayload.Type] = [
        HotlineCallAcceptedV1.self, ReferralRequestedV1.self, ScreeningBatchAcceptedV1.self, AttendanceSignalAcceptedV1.self,
        FamilySituationAcceptedV1.self, VenueFindingAcceptedV1.self, CaseLeadAcceptedV1.self, TaskFeedbackAcceptedV1.self,
        InspectionReportAcceptedV1.self,
    ]

    /// The events agencies publish on `huhang.intake`.
    public static let agencyPayloads: [any EventPayload.Type] = [
        IncidentReportV1.self, HotlineCallV1.self, ScreeningBatchV1.self, AttendanceSignalV1.self,
        FamilySituationV1.self, VenueFindingV1.self, CaseLeadV1.self, TaskFeedbackV1.self, InspectionReportV1.self,
    ]
}

// MARK: - intake.receipt.v1 (intake → the sending agency)

/// Intake's answer to an agency about one event it sent, on `huhang.replies`
/// with the agency's code as routing key (read from `agency.<code>.replies`).
public struct IntakeReceiptV1: EventPayload, Hashable {
    public static let eventType = EventType("intake.receipt", major: 1)

    public enum Status: String, Codable, Sendable, CaseIterable {
        /// Taken in and passed on.
        case accepted
        /// The same (agency, event type, externalId) with the same content was sent before; nothing changed.
        case duplicate
        /// The same (agency, event type, externalId) was sent before with different content; kept for review.
        case conflict
        /// The event breaks its contract; see `reasons`.
        case rejected
        /// The agency may not send this event type, or is not registered or active.
        case forbidden
    }

    /// The message id of the event this answers.
    public var eventID: String
    public var eventType: String
    public var externalID: String?
    public var status: Status
    /// Field by field, why it was not accepted.
    public var reasons: [FieldError]
    /// Intake's id for the accepted event: the `reportId` or `intakeId` of
    /// the domain event passed on.
    public var reportID: String?
    public var at: Date
    /// Set on a second receipt, `rejected`, for an event intake accepted and a service then could not
    /// apply (feedback on another unit's task, say): which service, with the reasons.
    public var refusedBy: String?
    /// For a batch (`screening.batch.v1`): how many rows were accepted and passed on, and how many left out
    /// (each named in `reasons`). Assessment's `GET /v1/screenings/{reportId}` says how many it has applied.
    public var acceptedRows: Int?
    public var rejectedRows: Int?

    public init(
        eventID: String, eventType: String, externalID: String?, status: Status, reasons: [FieldError], reportID: String?, at: Date,
        refusedBy: String? = nil, acceptedRows: Int? = nil, rejectedRows: Int? = nil
    ) {
        self.acceptedRows = acceptedRows
        self.rejectedRows = rejectedRows
        self.eventID = eventID
        self.eventType = eventType
        self.externalID = externalID
        self.status = status
        self.reasons = reasons
        self.reportID = reportID
        self.at = at
        self.refusedBy = refusedBy
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "eventId", eventType, externalID = "externalId", status, reasons, reportID = "reportId", at, refusedBy, acceptedRows, rejectedRows
    }
}

// MARK: - event.refused.v1 (any service → intake)

/// A service could not apply an agency's event that intake had accepted: intake tells the sending
/// agency with a second receipt (`rejected`, `refusedBy`), so nothing an agency sends is refused in silence.
public struct EventRefusedV1: EventPayload, Hashable {
    public static let eventType = EventType("event.refused", major: 1)

    /// Intake's id for the accepted event (the `intakeId` of the domain event).
    public var intakeID: String
    /// The agency's event type, e.g. `task.feedback.v1`.
    public var eventType: String
    /// The service that refused it.
    public var service: String
    /// Field by field, why.
    public var reasons: [FieldError]
    public var at: Date

    public init(intakeID: String, eventType: String, service: String, reasons: [FieldError], at: Date) {
        self.intakeID = intakeID
        self.eventType = eventType
        self.service = service
        self.reasons = reasons
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case intakeID = "intakeId", eventType, service, reasons, at }
}

// MARK: - ledger.changed.v1 (assessment → all)

/// A subject entered or left one of the watch ledgers (台账).
public struct LedgerChangedV1: EventPayload, Hashable {
    public static let eventType = EventType("ledger.changed", major: 1)

    /// The ledgers the articles ask for.
    public enum Ledger: String, Codable, Sendable, CaseIterable {
        /// 心理风险学生
        case psychologicalRisk = "psychological_risk"
        /// 欺凌倾向学生
        case bullyProne = "bully_prone"
        /// 违法犯罪未成年人
        case delinquent
        /// 不良行为未成年人
        case badBehaviour = "bad_behaviour"
        /// 辍学风险学生
        case dropoutRisk = "dropout_risk"
        /// 需救助的受害者
        case victimsNeedingAid = "victims_needing_aid"
        /// 困境儿童
        case childrenInHardship = "children_in_hardship"
    }

    public enum Change: String, Codable, Sendable, CaseIterable { case entered, left }

    public var subjectID: String
    public var ledger: Ledger
    public var change: Change
    /// Why: the factors that put the subject on the ledger, or that no longer hold.
    public var reason: String
    public var tier: RiskTier
    public var schoolCode: String?
    /// The county-level division code (the first six digits of the school code).
    public var district: String?
    public var modelVersion: String
    public var at: Date

    public init(subjectID: String, ledger: Ledger, change: Change, reason: String, tier: RiskTier, schoolCode: String?,
                district: String?, modelVersion: String, at: Date) {
        self.subjectID = subjectID
        self.ledger = ledger
        self.change = change
        self.reason = reason
        self.tier = tier
        self.schoolCode = schoolCode
        self.district = district
        self.modelVersion = modelVersion
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case subjectID = "subjectId", ledger, change, reason, tier, schoolCode, district, modelVersion, at
    }
}
