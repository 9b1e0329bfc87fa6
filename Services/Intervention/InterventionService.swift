import Contracts
import Crypto
import Foundation
import Hummingbird
import Logging
import Messaging
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage

/// Intervention (交办 · 管控 · 反馈): a case for every subject at high or
/// critical, a care team, a plan whose measures become tasks for responsible
/// units with deadlines by tier, feedback from those units, escalation of
/// what is late, and closure with a review.
public struct InterventionService: HuhangService {
    public static let name = "intervention"
    public static let defaultHTTPPort = 8083
    public static let migrations = InterventionMigrations.all

    let configuration: InterventionConfiguration
    let store: CaseStore
    let database: Database
    let clock: any WallClock
    let cipher: PersonalDataCipher
    let logger: Logger

    public init(context: ServiceContext) throws {
        configuration = try InterventionConfiguration()
        store = CaseStore(configuration: configuration, logger: context.logger)
        database = context.database
        clock = context.clock
        cipher = try PersonalDataCipher.fromEnvironment(logger: context.logger)
        logger = context.logger
    }

    public func register(_ handlers: inout HandlerRegistry) {
        // A subject at high or critical gets a case (or the signal attaches to the open one) and a first-response task.
        handlers.on(RiskAssessedV1.self) { assessed, context in
            guard assessed.tier >= .high else { return .applied }
            let now = clock.now()
            let actor = CaseStore.Actor.event(context.envelope.id)
            let reason = "risk assessed \(assessed.tier.rawValue)\(assessed.urgent ? ", urgent" : ""): "
                + assessed.reasons.prefix(5).joined(separator: "; ")
            let (caseID, opened, emissions) = try await store.openOrAttach(
                subjectID: assessed.subjectID, tier: assessed.tier, schoolCode: assessed.schoolCode, reason: reason, by: actor, at: now,
                on: context.connection)
            try await context.emit(emissions)
            // A case without a first response yet, or a rise to critical, needs one from the school (or the task force).
            let hasFirstResponse = try await store.hasTask(caseID, measure: .firstResponse, on: context.connection)
            guard opened || !hasFirstResponse || (assessed.tier == .critical && assessed.previousTier != .critical) else { return .applied }
            let assigned = try await store.assign(
                caseID: caseID, subjectID: assessed.subjectID, unit: assessed.schoolCode ?? configuration.taskForceUnit,
                measure: .firstResponse, tier: assessed.tier, urgent: assessed.urgent,
                due: now.addingTimeInterval(configuration.firstResponse[assessed.tier] ?? 3600), by: actor, at: now, on: context.connection)
            let event = try await context.emit(assigned, subject: caseID)
            try await context.connection.query(
                "UPDATE intervention.tasks SET assigned_event_id = \(event.id) WHERE task_id = \(assigned.taskID)::uuid", logger: context.logger)
            return .applied
        }

        // A unit's feedback on its task, through intake.
        handlers.on(TaskFeedbackAcceptedV1.self) { feedback, context in
            let status: TaskUpdatedV1.Status = switch feedback.status {
            case .accepted: .accepted
            case .progress: .progress
            case .completed: .completed
            case .rejected: .rejected
            }
            do {
                let emissions = try await store.update(
                    taskID: feedback.taskID, unit: feedback.unit, status: status, note: feedback.note, reason: feedback.reason,
                    by: .event(context.envelope.id), at: clock.now(), on: context.connection)
                try await context.emit(emissions)
                return .applied
            } catch let error as InterventionError {
                // Feedback on someone else's task, an unknown one, or out of order: kept aside with the reason,
                // and the sending unit hears why through intake (a second receipt).
                let field = error.code == .invalid ? "/reason" : error.code == .conflict ? "/status" : "/taskId"
                try await context.emit(EventRefusedV1(
                    intakeID: feedback.intakeID, eventType: TaskFeedbackV1.eventType.name, service: Self.name,
                    reasons: [FieldError(field: field, problem: error.description)], at: clock.now()), subject: feedback.intakeID)
                context.logger.notice("task feedback refused", metadata: [
                    "intervention.task": "\(feedback.taskID)", "intervention.unit": "\(feedback.unit)", "intervention.refusal": "\(error.code)",
                ])
                return .setAside(reason: error.description)
            }
        }

        // "School blows the whistle, departments report": an incident a school reports opens a case for
        // each victim (else each person reported) and sets the departments that must act to work, with deadlines.
        handlers.on(ReportAcceptedV1.self) { report, context in
            guard let school = report.schoolCode else { return .applied }
            let victims = report.subjects.filter { $0.role == .victim }
            let people = victims.isEmpty ? report.subjects.filter { $0.role == .allegedPerpetrator } : victims
            guard !people.isEmpty else { return .applied }
            let now = clock.now()
            let actor = CaseStore.Actor.event(context.envelope.id)
            let tier: RiskTier = report.immediateDanger ? .critical : .high
            var units = Departments.units(try await store.departments(for: report.category, on: context.connection), schoolCode: school)
            // 一校一警, 法治副校长: the school's police officer and legal vice-principal stand on every bullying and violence case.
            if [.bullying, .violence].contains(report.category) {
                for unit in try await store.schoolUnits(school, on: context.connection) where !units.contains(unit) { units.append(unit) }
            }
            for person in people {
                let (caseID, _, emissions) = try await store.openOrAttach(
                    subjectID: person.subjectID, tier: tier, schoolCode: school,
                    reason: "\(report.category.rawValue) reported by \(report.agency)\(report.immediateDanger ? ", danger now" : "")", by: actor, at: now,
                    on: context.connection)
                try await context.emit(emissions)
                for unit in units {
                    let task = try await store.assign(
                        caseID: caseID, subjectID: person.subjectID, unit: unit, measure: .incidentResponse, tier: tier, urgent: report.immediateDanger,
                        due: now.addingTimeInterval(configuration.firstResponse[tier] ?? 24 * 3600),
                        note: "\(report.category.rawValue) reported at school \(school) (report \(report.reportID))", by: actor, at: now, on: context.connection)
                    try await context.emit(task, subject: caseID)
                }
            }
            return .applied
        }

        // A venue that admitted minors (一书一函, 责令限期整改): its regulator gets a rectification task by the deadline,
        // the minors' schools a joint follow-up task naming no one; a repeated breach while one is open goes to the task force.
        handlers.on(VenueFlaggedV1.self) { flagged, context in
            let now = clock.now()
            let actor = CaseStore.Actor.event(context.envelope.id)
            let subject = SchoolCase.subjectID("venue|" + flagged.venueKey)
            let (caseID, _, emissions) = try await store.openOrAttach(
                subjectID: subject, tier: .high, schoolCode: nil,
                reason: "venue \(flagged.name): \(flagged.reason) (finding \(flagged.findingID))", by: actor, at: now, on: context.connection)
            try await context.emit(emissions)
            let open = try await store.openTasks(caseID: caseID, measure: .venueRectification, on: context.connection)
            let regulator = flagged.regulatorUnit ?? configuration.taskForceUnit
            let repeated = !open.isEmpty
            let task = try await store.assign(
                caseID: caseID, subjectID: subject, unit: repeated ? configuration.taskForceUnit : regulator, measure: .venueRectification,
                tier: .high, urgent: repeated, due: repeated ? now.addingTimeInterval(configuration.plan[.critical] ?? 24 * 3600) : flagged.dueAt,
                note: repeated
                    ? "repeated breach at \(flagged.kind.rawValue) \(flagged.name) (\(flagged.venueKey)) while \(regulator)'s rectification is open"
                        + " (\(flagged.breaches) within the window)"
                    : "rectify \(flagged.kind.rawValue) \(flagged.name) (\(flagged.venueKey)): \(flagged.reason)",
                by: actor, at: now, on: context.connection)
            try await context.emit(task, subject: caseID)
            for school in flagged.schoolCodes {
                let followUp = try await store.assign(
                    caseID: caseID, subjectID: subject, unit: school, measure: .jointFollowUp, tier: .high, urgent: false,
                    due: now.addingTimeInterval(configuration.plan[.high] ?? 72 * 3600),
                    note: "minors of this school were found at \(flagged.kind.rawValue) \(flagged.name) (finding \(flagged.findingID)); follow up with \(regulator)",
                    by: actor, at: now, on: context.connection)
                try await context.emit(followUp, subject: caseID)
            }
            return .applied
        }

        // The registry names who stands beside a school; a later change replaces an earlier one.
        handlers.on(SchoolUpdatedV1.self) { school, context in
            try await store.setSchoolUnits(school, on: context.connection)
            return .applied
        }

        // A hazard an inspection found is a task for the unit that must rectify it, by its deadline, on the school's case.
        handlers.on(HazardReportedV1.self) { hazard, context in
            let now = clock.now()
            let actor = CaseStore.Actor.event(context.envelope.id)
            let subject = SchoolCase.subjectID(hazard.schoolCode)
            let (caseID, _, emissions) = try await store.openOrAttach(
                subjectID: subject, tier: hazard.severity == .critical ? .critical : .high, schoolCode: hazard.schoolCode,
                reason: "school safety: \(hazard.severity.rawValue) hazard \(hazard.item) found by \(hazard.inspectedBy)", by: actor, at: now,
                on: context.connection)
            try await context.emit(emissions)
            let task = try await store.assign(
                caseID: caseID, subjectID: subject, unit: hazard.unit, measure: .hazardRectification, tier: hazard.severity == .critical ? .critical : .high,
                urgent: hazard.severity == .critical, due: hazard.dueAt, note: "\(hazard.item) (hazard \(hazard.hazardID))", by: actor, at: now,
                on: context.connection)
            try await context.emit(task, subject: caseID)
            return .applied
        }

        // A school whose rating fell is put under focus: a supervision task for the education bureau.
        handlers.on(RatingChangedV1.self) { rating, context in
            guard rating.fell else { return .applied }
            let now = clock.now()
            let actor = CaseStore.Actor.event(context.envelope.id)
            let subject = SchoolCase.subjectID(rating.schoolCode)
            let (caseID, _, emissions) = try await store.openOrAttach(
                subjectID: subject, tier: .high, schoolCode: rating.schoolCode,
                reason: "school safety rating fell to \(rating.rating.rawValue) in \(rating.quarter)", by: actor, at: now, on: context.connection)
            try await context.emit(emissions)
            let unit = Departments.units(["education-{district}"], schoolCode: rating.schoolCode)[0]
            let task = try await store.assign(
                caseID: caseID, subjectID: subject, unit: unit, measure: .schoolSupervision, tier: .high, urgent: false,
                due: now.addingTimeInterval(configuration.plan[.high] ?? 72 * 3600),
                note: "\(rating.quarter): \(rating.reasons.joined(separator: "; "))", by: actor, at: now, on: context.connection)
            try await context.emit(task, subject: caseID)
            return .applied
        }

        // A 110 or 12345 referral from intake is tracked to its outcome, on the subject's case when there is one.
        handlers.on(ReferralRequestedV1.self) { referral, context in
            let kind: ReferralKind = referral.target == .police110 ? .police110 : .city12345
            let caseID = try await referral.subjectID.asyncFlatMap { try await store.openCase(of: $0, on: context.connection) }
            try await store.openReferral(
                id: referral.referralID, kind: kind, caseID: caseID, taskID: nil, subjectID: referral.subjectID, fromAgency: referral.fromAgency,
                urgent: referral.urgent, fromIntakeID: referral.fromIntakeID, fromEventType: referral.fromEventType,
                by: .event(context.envelope.id), at: clock.now(), on: context.connection)
            return .applied
        }

        // A student back at school (劝返复学): the return is the outcome the persuade-to-return task exists for.
        // The case records it and every open persuade-to-return task of the student is completed with it.
        handlers.on(AttendanceSignalAcceptedV1.self) { signal, context in
            guard signal.kind == .returned, let caseID = try await store.openCase(of: signal.subjectID, on: context.connection) else {
                return .applied
            }
            let now = clock.now()
            let actor = CaseStore.Actor.event(context.envelope.id)
            try await store.chronicle(
                caseID, "returned_to_school", "attendance signal from \(signal.agency): back at school since \(signal.since)", by: actor, at: now,
                on: context.connection)
            for taskID in try await store.openTasks(caseID: caseID, measure: .persuadeReturn, on: context.connection) {
                try await context.emit(try await store.update(
                    taskID: taskID, unit: nil, status: .completed, note: "returned to school since \(signal.since) (attendance signal)",
                    reason: nil, by: actor, at: now, on: context.connection))
            }
            return .applied
        }

        // A case lead under a seal order (档案封存) seals the subject's cases, now and later.
        handlers.on(CaseLeadAcceptedV1.self) { lead, context in
            guard lead.sealed else { return .applied }
            try await store.sealSubject(
                lead.subjectID, order: "case lead \(lead.externalID) from \(lead.agency)", actor: .event(context.envelope.id), at: clock.now(),
                on: context.connection)
            return .applied
        }

        // The case's chronology records that the responsible unit was told.
        handlers.on(NotificationDeliveredV1.self) { delivered, context in
            let rows = try await context.connection.query("""
                SELECT case_id::text FROM intervention.tasks WHERE assigned_event_id = \(delivered.aboutEventID)
                """, logger: context.logger)
            var cases: [String] = []
            for try await caseID in rows.decode(String.self) { cases.append(caseID) }
            for caseID in cases {
                try await store.chronicle(
                    caseID, "unit_notified", "\(delivered.recipient) via \(delivered.channel.rawValue)", by: .event(context.envelope.id),
                    at: clock.now(), on: context.connection)
            }
            return .applied
        }
    }

    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {
        InterventionRoutes(store: store, database: database, clock: clock, cipher: cipher, configuration: configuration).add(to: v1)
    }

    public func backgroundServices() -> [any Service] {
        let escalator = Escalator(store: store, database: database, clock: clock, logger: logger)
        return [RepeatingJob("escalation", every: configuration.escalationPoll, logger: logger) { try await escalator.fireOnce() >= 100 }]
    }
}

/// Fires due escalation steps, follow-ups and the daily digest; replicas share
/// the timers without firing one twice. Runs as a ``RepeatingJob``.
struct Escalator: Sendable {
    let store: CaseStore
    let database: Database
    let clock: any WallClock
    let logger: Logger

    /// Fires one batch of due steps. - Returns: How many fired.
    @discardableResult
    func fireOnce() async throws -> Int {
        try await database.withTransaction { connection in
            let now = clock.now()
            let emissions = try await store.fireDue(at: now, limit: 100, on: connection) + store.digestIfDue(at: now, on: connection)
            try await Origination.enqueue(emissions, source: InterventionService.name, on: connection, schema: database.schema, logger: logger)
            if !emissions.isEmpty { logger.info("escalation steps fired", metadata: ["intervention.steps": "\(emissions.count)"]) }
            return emissions.count
        }
    }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

/// A school's own case — hazards to rectify, supervision after a falling rating — under a subject id
/// derived from the school code, shaped like every other subject id.
enum SchoolCase {
    static func subjectID(_ schoolCode: String) -> String {
        "s-" + Hex.string(SHA256.hash(data: Data("school|\(schoolCode)".utf8)).prefix(16))
    }
}
