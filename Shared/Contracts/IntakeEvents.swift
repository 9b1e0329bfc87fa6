import Foundation

// The domain events intake publishes on `huhang.events` for what agencies sent.
// The rule: an accepted `X.vN` is passed on as `X.accepted.vN` (the incident
// report, the first contract, as `report.accepted.v1`). Each carries
// `intakeId` (intake's id for the accepted event, also in the agency's
// receipt), the verified sending `agency` and its `externalId`, and subject
// ids in place of the people — never an identity number, name or birth date.

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

// MARK: - hotline.call.accepted.v1

/// Intake accepted a 12355 hotline call.
public struct HotlineCallAcceptedV1: EventPayload, Hashable {
    public static let eventType = EventType("hotline.call.accepted", major: 1)

    public var intakeID: String
    public var agency: String
    public var externalID: String
    public var receivedAt: Date
    public var callerRole: HotlineCallV1.CallerRole
    /// The minor the call is about, when the caller named one.
    public var subjectID: String?
    public var topic: HotlineCallV1.Topic
    public var riskFlags: [HotlineCallV1.RiskFlag]
    public var immediateDanger: Bool
    public var cityMatter: Bool
    /// Who harmed the minor, when the counsellor heard.
    public var harmedBy: HotlineCallV1.HarmedBy?

    public init(intakeID: String, agency: String, externalID: String, receivedAt: Date, callerRole: HotlineCallV1.CallerRole,
                subjectID: String?, topic: HotlineCallV1.Topic, riskFlags: [HotlineCallV1.RiskFlag], immediateDanger: Bool, cityMatter: Bool,
                harmedBy: HotlineCallV1.HarmedBy? = nil) {
        self.harmedBy = harmedBy
        self.intakeID = intakeID
        self.agency = agency
        self.externalID = externalID
        self.receivedAt = receivedAt
        self.callerRole = callerRole
        self.subjectID = subjectID
        self.topic = topic
        self.riskFlags = riskFlags
        self.immediateDanger = immediateDanger
        self.cityMatter = cityMatter
    }

    enum CodingKeys: String, CodingKey {
        case intakeID = "intakeId", agency, externalID = "externalId", receivedAt, callerRole, subjectID = "subjectId",
             topic, riskFlags, immediateDanger, cityMatter, harmedBy
    }
}

// MARK: - referral.requested.v1

/// A matter must be handed to another service line at once: 110 (police) for
/// danger now, 12345 (the city's service line) for a city matter. Notification
/// delivers it; intervention tracks it to an outcome.
public struct ReferralRequestedV1: EventPayload, Hashable {
    public static let eventType = EventType("referral.requested", major: 1)

    public enum Target: String, Codable, Sendable, CaseIterable {
        /// 110, the police emergency line.
        case police110 = "police_110"
        /// 12345, the city's public service line.
        case city12345 = "city_12345"
    }

    public var referralID: String
    public var target: Target
    /// Danger now: deliver before anything else.
    public var urgent: Bool
    /// Why, in fixed words, e.g. `immediate danger reported to 12355`.
    public var reason: String
    /// The accepted event the referral comes from (its `intakeId`).
    public var fromIntakeID: String
    public var fromEventType: String
    /// The agency whose event asked for it.
    public var fromAgency: String
    public var subjectID: String?
    public var riskFlags: [HotlineCallV1.RiskFlag]
    public var requestedAt: Date

    public init(referralID: String, target: Target, urgent: Bool, reason: String, fromIntakeID: String, fromEventType: String,
                fromAgency: String, subjectID: String?, riskFlags: [HotlineCallV1.RiskFlag], requestedAt: Date) {
        self.referralID = referralID
        self.target = target
        self.urgent = urgent
        self.reason = reason
        self.fromIntakeID = fromIntakeID
        self.fromEventType = fromEventType
        self.fromAgency = fromAgency
        self.subjectID = subjectID
        self.riskFlags = riskFlags
        self.requestedAt = requestedAt
    }

    enum CodingKeys: String, CodingKey {
        case referralID = "referralId", target, urgent, reason, fromIntakeID = "fromIntakeId", fromEventType, fromAgency,
             subjectID = "subjectId", riskFlags, requestedAt
    }
}

// MARK: - screening.batch.accepted.v1

/// Intake accepted a batch of screening results: the valid rows, each with its subject.
public struct ScreeningBatchAcceptedV1: EventPayload, Hashable {
    public static let eventType = EventType("screening.batch.accepted", major: 1)

    public struct Result: Codable, Sendable, Hashable {
        public var subjectID: String
        public var score: Double
        public var threshold: Double
        /// `score >= threshold`: the student screened positive.
        public var positive: Bool

        public init(subjectID: String, score: Double, threshold: Double) {
            self.subjectID = subjectID
            self.score = score
            self.threshold = threshold
            self.positive = score >= threshold
        }

        enum CodingKeys: String, CodingKey { case subjectID = "subjectId", score, threshold, positive }
    }

    public var intakeID: String
    public var agency: String
    public var externalID: String
    public var schoolCode: String
    public var scale: String
    public var screenedAt: Date
    public var results: [Result]
    /// Rows left out because they were invalid; the agency's receipt lists why.
    public var rejectedRows: Int

    public init(intakeID: String, agency: String, externalID: String, schoolCode: String, scale: String, screenedAt: Date,
                results: [Result], rejectedRows: Int) {
        self.intakeID = intakeID
        self.agency = agency
        self.externalID = externalID
        self.schoolCode = schoolCode
        self.scale = scale
        self.screenedAt = screenedAt
        self.results = results
        self.rejectedRows = rejectedRows
    }

    enum CodingKeys: String, CodingKey {
        case intakeID = "intakeId", agency, externalID = "externalId", schoolCode, scale, screenedAt, results, rejectedRows
    }
}

// MARK: - attendance.signal.accepted.v1

/// Intake accepted a change in a student's attendance.
public struct AttendanceSignalAcceptedV1: EventPayload, Hashable {
    public static let eventType = EventType("attendance.signal.accepted", major: 1)

    public var intakeID: String
    public var agency: String
    public var externalID: String
    public var schoolCode: String
    public var subjectID: String
    public var kind: AttendanceSignalV1.Kind
    /// `YYYY-MM-DD`.
    public var since: String
    public var daysAbsent: Int?

    public init(intakeID: String, agency: String, externalID: String, schoolCode: String, subjectID: String,
                kind: AttendanceSignalV1.Kind, since: String, daysAbsent: Int?) {
        self.intakeID = intakeID
        self.agency = agency
        self.externalID = externalID
        self.schoolCode = schoolCode
        self.subjectID = subjectID
        self.kind = kind
        self.since = since
        self.daysAbsent = daysAbsent
    }

    enum CodingKeys: String, CodingKey {
        case intakeID = "intakeId", agency, externalID = "externalId", schoolCode, subjectID = "subjectId", kind, since, daysAbsent
    }
}

// MARK: - family.situation.accepted.v1

/// Intake accepted what an agency knows of a child's family.
public struct FamilySituationAcceptedV1: EventPayload, Hashable {
    public static let eventType = EventType("family.situation.accepted", major: 1)

    public var intakeID: String
    public var agency: String
    public var externalID: String
    public var subjectID: String
    public var schoolCode: String?
    public var flags: [FamilySituationV1.Flag]
    public var notedAt: Date

    public init(intakeID: String, agency: String, externalID: String, subjectID: String, schoolCode: String?,
                flags: [FamilySituationV1.Flag], notedAt: Date) {
        self.intakeID = intakeID
        self.agency = agency
        self.externalID = externalID
        self.subjectID = subjectID
        self.schoolCode = schoolCode
        self.flags = flags
        self.notedAt = notedAt
    }

    enum CodingKeys: String, CodingKey {
        case intakeID = "intakeId", agency, externalID = "externalId", subjectID = "subjectId", schoolCode, flags, notedAt
    }
}

// MARK: - venue.finding.accepted.v1

/// Intake accepted a finding of minors in a venue.
public struct VenueFindingAcceptedV1: EventPayload, Hashable {
    public static let eventType = EventType("venue.finding.accepted", major: 1)

    public var intakeID: String
    public var agency: String
    public var externalID: String
    public var venue: VenueFindingV1.Venue
    public var foundAt: Date
    public var subjectIDs: [String]
    public var activities: [VenueFindingV1.Activity]
    public var actionTaken: VenueFindingV1.Action
    /// The schools the minors attend, where the agency named them: told for joint follow-up, with no one named.
    public var schoolCodes: [String]?

    public init(intakeID: String, agency: String, externalID: String, venue: VenueFindingV1.Venue, foundAt: Date,
                subjectIDs: [String], activities: [VenueFindingV1.Activity], actionTaken: VenueFindingV1.Action, schoolCodes: [String]? = nil) {
        self.schoolCodes = schoolCodes
        self.intakeID = intakeID
        self.agency = agency
        self.externalID = externalID
        self.venue = venue
        self.foundAt = foundAt
        self.subjectIDs = subjectIDs
        self.activities = activities
        self.actionTaken = actionTaken
    }

    enum CodingKeys: String, CodingKey {
        case intakeID = "intakeId", agency, externalID = "externalId", venue, foundAt, subjectIDs = "subjectIds", activities, actionTaken, schoolCodes
    }
}

// MARK: - case.lead.accepted.v1

/// Intake accepted a case lead from the police, a procuratorate, a court or the justice bureau.
public struct CaseLeadAcceptedV1: EventPayload, Hashable {
    public static let eventType = EventType("case.lead.accepted", major: 1)

    public var intakeID: String
    public var agency: String
    public var externalID: String
    public var subjectID: String
    public var kind: CaseLeadV1.Kind
    public var decidedAt: Date
    public var offence: String?
    /// The record is to be sealed (档案封存): readers hide it from lists and statistics.
    public var sealed: Bool

    public init(intakeID: String, agency: String, externalID: String, subjectID: String, kind: CaseLeadV1.Kind, decidedAt: Date,
                offence: String?, sealed: Bool) {
        self.intakeID = intakeID
        self.agency = agency
        self.externalID = externalID
        self.subjectID = subjectID
        self.kind = kind
        self.decidedAt = decidedAt
        self.offence = offence
        self.sealed = sealed
    }

    enum CodingKeys: String, CodingKey {
        case intakeID = "intakeId", agency, externalID = "externalId", subjectID = "subjectId", kind, decidedAt, offence, sealed
    }
}

// MARK: - task.feedback.accepted.v1

/// Intake accepted a unit's report on a task; `unit` is the verified sender.
public struct TaskFeedbackAcceptedV1: EventPayload, Hashable {
    public static let eventType = EventType("task.feedback.accepted", major: 1)

    public var intakeID: String
    /// The reporting unit: the agency that sent the feedback.
    public var unit: String
    public var externalID: String
    public var taskID: String
    public var status: TaskFeedbackV1.Status
    public var reportedAt: Date
    public var note: String?
    public var reason: String?

    public init(intakeID: String, unit: String, externalID: String, taskID: String, status: TaskFeedbackV1.Status,
                reportedAt: Date, note: String?, reason: String?) {
        self.intakeID = intakeID
        self.unit = unit
        self.externalID = externalID
        self.taskID = taskID
        self.status = status
        self.reportedAt = reportedAt
        self.note = note
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case intakeID = "intakeId", unit, externalID = "externalId", taskID = "taskId", status, reportedAt, note, reason
    }
}

// MARK: - inspection.report.accepted.v1

/// Intake accepted a school safety inspection; `unit` is the verified sender.
public struct InspectionReportAcceptedV1: EventPayload, Hashable {
    public static let eventType = EventType("inspection.report.accepted", major: 1)

    public var intakeID: String
    /// The inspecting unit: the agency that sent the report.
    public var unit: String
    public var externalID: String
    public var schoolCode: String
    public var kind: InspectionReportV1.Kind
    public var inspectedAt: Date
    public var checks: [InspectionReportV1.Check]

    public init(intakeID: String, unit: String, externalID: String, schoolCode: String, kind: InspectionReportV1.Kind,
                inspectedAt: Date, checks: [InspectionReportV1.Check]) {
        self.intakeID = intakeID
        self.unit = unit
        self.externalID = externalID
        self.schoolCode = schoolCode
        self.kind = kind
        self.inspectedAt = inspectedAt
        self.checks = checks
    }

    enum CodingKeys: String, CodingKey {
        case intakeID = "intakeId", unit, externalID = "externalId", schoolCode, kind, inspectedAt, checks
    }
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

extension Contracts {
    /// What intake publishes: on `huhang.events` the domain event of each accepted agency event and the
    /// referrals it raises; on `huhang.replies` each agency's receipts.
    public static let intakePayloads: [any EventPayload.Type] = [
        ReportAcceptedV1.self, HotlineCallAcceptedV1.self, ReferralRequestedV1.self, ScreeningBatchAcceptedV1.self,
        AttendanceSignalAcceptedV1.self, FamilySituationAcceptedV1.self, VenueFindingAcceptedV1.self, CaseLeadAcceptedV1.self,
        TaskFeedbackAcceptedV1.self, InspectionReportAcceptedV1.self, IntakeReceiptV1.self,
    ]
}
