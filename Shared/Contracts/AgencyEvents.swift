import Foundation

// The events agencies publish on `huhang.intake`.
// Every one carries `externalId`, the agency's own id: (agency, event type, externalId) is
// unique at intake. People are named by `PersonRef`; intake turns each into a
// subject id and keeps no identity number in clear.

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

// MARK: - hotline.call.v1 (12355 → intake)

/// A call to the Youth League's 12355 hotline.
public struct HotlineCallV1: EventPayload, Hashable {
    public static let eventType = EventType("hotline.call", major: 1)

    public enum CallerRole: String, Codable, Sendable, CaseIterable {
        case minor, parent, teacher, relative, other
    }

    public enum Topic: String, Codable, Sendable, CaseIterable {
        case psychological, legal, rights, family, school, other
    }

    /// Risks the counsellor heard.
    public enum RiskFlag: String, Codable, Sendable, CaseIterable {
        case selfHarm = "self_harm"
        case violence
        case abuse
        case bullying
        case runningAway = "running_away"
        case neglect
    }

    public var externalID: String
    public var receivedAt: Date
    public var callerRole: CallerRole
    /// The minor the call is about, when named.
    public var minor: PersonRef?
    public var topic: Topic
    public var riskFlags: [RiskFlag]
    /// Danger now: the call must be transferred to 110 at once.
    public var immediateDanger: Bool
    /// A matter for the city's 12345 service line.
    public var cityMatter: Bool
    public var summary: String?
    /// Who harmed the minor, for `violence` and `abuse`: a guardian's violence is domestic violence and
    /// tells of guardianship that fails the child.
    public var harmedBy: HarmedBy?

    /// Who harmed the minor.
    public enum HarmedBy: String, Codable, Sendable, CaseIterable {
        /// A parent or other guardian.
        case guardian
        /// Another member of the household.
        case familyMember = "family_member"
        case peer, teacher, stranger, other
    }

    public init(externalID: String, receivedAt: Date, callerRole: CallerRole, minor: PersonRef?, topic: Topic,
                riskFlags: [RiskFlag], immediateDanger: Bool, cityMatter: Bool, summary: String?, harmedBy: HarmedBy? = nil) {
        self.harmedBy = harmedBy
        self.externalID = externalID
        self.receivedAt = receivedAt
        self.callerRole = callerRole
        self.minor = minor
        self.topic = topic
        self.riskFlags = riskFlags
        self.immediateDanger = immediateDanger
        self.cityMatter = cityMatter
        self.summary = summary
    }

    enum CodingKeys: String, CodingKey {
        case externalID = "externalId", receivedAt, callerRole, minor, topic, riskFlags, immediateDanger, cityMatter, summary, harmedBy
    }
}

// MARK: - screening.batch.v1 (school counsellors, health → intake)

/// A batch of psychological screening results from one school.
public struct ScreeningBatchV1: EventPayload, Hashable {
    public static let eventType = EventType("screening.batch", major: 1)

    public struct Result: Codable, Sendable, Hashable {
        public var student: PersonRef
        public var score: Double
        /// The scale's cut-off for this student.
        public var threshold: Double

        public init(student: PersonRef, score: Double, threshold: Double) {
            self.student = student
            self.score = score
            self.threshold = threshold
        }
    }

    public var externalID: String
    public var schoolCode: String
    /// The instrument, e.g. `MHT`, `PHQ-9`, `SCL-90`.
    public var scale: String
    public var screenedAt: Date
    /// Up to 10,000 results.
    public var results: [Result]

    public init(externalID: String, schoolCode: String, scale: String, screenedAt: Date, results: [Result]) {
        self.externalID = externalID
        self.schoolCode = schoolCode
        self.scale = scale
        self.screenedAt = screenedAt
        self.results = results
    }

    enum CodingKeys: String, CodingKey { case externalID = "externalId", schoolCode, scale, screenedAt, results }
}

// MARK: - attendance.signal.v1 (schools, education bureau → intake)

/// A change in a student's attendance.
public struct AttendanceSignalV1: EventPayload, Hashable {
    public static let eventType = EventType("attendance.signal", major: 1)

    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// 休学
        case suspended
        /// 多次请假
        case repeatedLeave = "repeated_leave"
        /// 长期请假
        case longLeave = "long_leave"
        /// 名在人不在
        case enrolledAbsent = "enrolled_absent"
        case droppedOut = "dropped_out"
        case returned
    }

    public var externalID: String
    public var schoolCode: String
    public var student: PersonRef
    public var kind: Kind
    /// `YYYY-MM-DD` the situation began.
    public var since: String
    /// Days absent so far, when counted.
    public var daysAbsent: Int?

    public init(externalID: String, schoolCode: String, student: PersonRef, kind: Kind, since: String, daysAbsent: Int?) {
        self.externalID = externalID
        self.schoolCode = schoolCode
        self.student = student
        self.kind = kind
        self.since = since
        self.daysAbsent = daysAbsent
    }

    enum CodingKeys: String, CodingKey { case externalID = "externalId", schoolCode, student, kind, since, daysAbsent }
}

// MARK: - family.situation.v1 (civil affairs, schools, communities → intake)

/// What is known of a child's family.
public struct FamilySituationV1: EventPayload, Hashable {
    public static let eventType = EventType("family.situation", major: 1)

    public enum Flag: String, Codable, Sendable, CaseIterable {
        case singleParent = "single_parent"
        case divorced
        case remarried
        /// 留守
        case leftBehind = "left_behind"
        case disabilityInFamily = "disability_in_family"
        /// 困境 / 低保
        case hardship
        case guardianAbsent = "guardian_absent"
        case guardianUnfit = "guardian_unfit"
        case domesticViolence = "domestic_violence"
    }

    public var externalID: String
    public var child: PersonRef
    public var schoolCode: String?
    public var flags: [Flag]
    public var notedAt: Date

    public init(externalID: String, child: PersonRef, schoolCode: String?, flags: [Flag], notedAt: Date) {
        self.externalID = externalID
        self.child = child
        self.schoolCode = schoolCode
        self.flags = flags
        self.notedAt = notedAt
    }

    enum CodingKeys: String, CodingKey { case externalID = "externalId", child, schoolCode, flags, notedAt }
}

// MARK: - venue.finding.v1 (police, culture and tourism → intake)

/// Minors found in a venue they should not be in.
public struct VenueFindingV1: EventPayload, Hashable {
    public static let eventType = EventType("venue.finding", major: 1)

    public enum VenueKind: String, Codable, Sendable, CaseIterable {
        case internetCafe = "internet_cafe"
        case ktv, bar
        case tattooShop = "tattoo_shop"
        case hotel
        /// 网约房
        case shortLet = "short_let"
        case other
    }

    public enum Activity: String, Codable, Sendable, CaseIterable {
        case present, gambling, fighting, drinking, smoking, other
    }

    public enum Action: String, Codable, Sendable, CaseIterable {
        case none, warning, fine
        case rectificationOrder = "rectification_order"
        case closure
    }

    public struct Venue: Codable, Sendable, Hashable {
        public var kind: VenueKind
        public var name: String
        public var address: String?
        /// The venue's business licence number.
        public var licence: String?
        /// The county-level division the venue is in (six digits, e.g. `370102`): whose regulator must act.
        public var district: String?
        /// For a hotel or short-let room: whether it made the checks the law asks before taking in a minor
        /// (五必须: identity, guardian contact, who accompanies, …). `false` is a breach at the first finding.
        public var minorChecks: Bool?

        public init(kind: VenueKind, name: String, address: String? = nil, licence: String? = nil, district: String? = nil, minorChecks: Bool? = nil) {
            self.kind = kind
            self.name = name
            self.address = address
            self.licence = licence
            self.district = district
            self.minorChecks = minorChecks
        }

        /// Whether finding minors here is a breach from the first finding: an internet café, a bar or a KTV
        /// admits no minor at all; a hotel or short-let room none without the checks for minors.
        /// - Parameter minors: How many minors were found.
        public func isBreach(minors: Int) -> Bool {
            guard minors > 0 else { return false }
            switch kind {
            case .internetCafe, .bar, .ktv: return true
            case .hotel, .shortLet: return minorChecks == false
            case .tattooShop, .other: return false
            }
        }
    }

    public var externalID: String
    public var venue: Venue
    public var foundAt: Date
    public var minors: [PersonRef]
    public var activities: [Activity]
    public var actionTaken: Action

    public init(externalID: String, venue: Venue, foundAt: Date, minors: [PersonRef], activities: [Activity], actionTaken: Action) {
        self.externalID = externalID
        self.venue = venue
        self.foundAt = foundAt
        self.minors = minors
        self.activities = activities
        self.actionTaken = actionTaken
    }

    enum CodingKeys: String, CodingKey { case externalID = "externalId", venue, foundAt, minors, activities, actionTaken }
}

// MARK: - case.lead.v1 (police, procuratorate, court, justice → intake)

/// A minor involved in an offence, and what the authority decided.
public struct CaseLeadV1: EventPayload, Hashable {
    public static let eventType = EventType("case.lead", major: 1)

    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// 训诫
        case admonition
        /// 附条件不起诉
        case conditionalNonProsecution = "conditional_non_prosecution"
        case judgment
        /// 社区矫正
        case communityCorrection = "community_correction"
        /// 督促监护令
        case guardianshipSupervisionOrder = "guardianship_supervision_order"
    }

    public var externalID: String
    public var minor: PersonRef
    public var kind: Kind
    public var decidedAt: Date
    /// The offence in the authority's words.
    public var offence: String?
    /// The record is to be sealed (档案封存).
    public var sealed: Bool

    public init(externalID: String, minor: PersonRef, kind: Kind, decidedAt: Date, offence: String?, sealed: Bool) {
        self.externalID = externalID
        self.minor = minor
        self.kind = kind
        self.decidedAt = decidedAt
        self.offence = offence
        self.sealed = sealed
    }

    enum CodingKeys: String, CodingKey { case externalID = "externalId", minor, kind, decidedAt, offence, sealed }
}

// MARK: - task.feedback.v1 (any assigned unit → intake)

/// A unit reports on a task Huhang assigned to it.
public struct TaskFeedbackV1: EventPayload, Hashable {
    public static let eventType = EventType("task.feedback", major: 1)

    public enum Status: String, Codable, Sendable, CaseIterable {
        case accepted, progress, completed, rejected
    }

    public var externalID: String
    public var taskID: String
    public var status: Status
    public var reportedAt: Date
    /// What was done.
    public var note: String?
    /// Why the task is refused; required when `status` is `rejected`.
    public var reason: String?

    public init(externalID: String, taskID: String, status: Status, reportedAt: Date, note: String?, reason: String?) {
        self.externalID = externalID
        self.taskID = taskID
        self.status = status
        self.reportedAt = reportedAt
        self.note = note
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case externalID = "externalId", taskID = "taskId", status, reportedAt, note, reason }
}

// MARK: - inspection.report.v1 (schools, police, education, fire → intake)

/// The result of a school safety inspection.
public struct InspectionReportV1: EventPayload, Hashable {
    public static let eventType = EventType("inspection.report", major: 1)

    public enum Kind: String, Codable, Sendable, CaseIterable {
        case dailyCheck = "daily_check"
        case supervisoryPatrol = "supervisory_patrol"
        case specialRectification = "special_rectification"
        case jointPatrol = "joint_patrol"
        case videoPatrol = "video_patrol"
    }

    public enum Item: String, Codable, Sendable, CaseIterable {
        /// One-key alarm working and linked to 110.
        case oneKeyAlarm = "one_key_alarm"
        case videoSurveillance = "video_surveillance"
        case guardsOnDuty = "guards_on_duty"
        /// 护学岗 staffed at arrival and dismissal.
        case guardPostStaffed = "guard_post_staffed"
        case fireFacilities = "fire_facilities"
        case electricityAndGas = "electricity_and_gas"
        case closedCampus = "closed_campus"
        case antiBullyingMailbox = "anti_bullying_mailbox"
        case psychologicalTeacher = "psychological_teacher"
    }

    public struct Check: Codable, Sendable, Hashable {
        public var item: Item
        public var passed: Bool
        public var note: String?

        public init(item: Item, passed: Bool, note: String? = nil) {
            self.item = item
            self.passed = passed
            self.note = note
        }
    }

    public var externalID: String
    public var schoolCode: String
    public var kind: Kind
    public var inspectedAt: Date
    public var checks: [Check]

    public init(externalID: String, schoolCode: String, kind: Kind, inspectedAt: Date, checks: [Check]) {
        self.externalID = externalID
        self.schoolCode = schoolCode
        self.kind = kind
        self.inspectedAt = inspectedAt
        self.checks = checks
    }

    enum CodingKeys: String, CodingKey { case externalID = "externalId", schoolCode, kind, inspectedAt, checks }
}

extension Contracts {
    /// The events agencies publish on `huhang.intake`.
    public static let agencyPayloads: [any EventPayload.Type] = [
        IncidentReportV1.self, HotlineCallV1.self, ScreeningBatchV1.self, AttendanceSignalV1.self,
        FamilySituationV1.self, VenueFindingV1.self, CaseLeadV1.self, TaskFeedbackV1.self, InspectionReportV1.self,
    ]
}
