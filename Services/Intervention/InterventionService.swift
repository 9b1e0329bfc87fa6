import Contracts
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
struct InterventionService: HuhangService {
    static let name = "intervention"
    static let defaultHTTPPort = 8083
    static let migrations = InterventionMigrations.all

    let configuration: InterventionConfiguration
    let store: CaseStore
    let database: Database
    let clock: any WallClock
    let cipher: PersonalDataCipher
    let logger: Logger

    init(context: ServiceContext) throws {
        configuration = try InterventionConfiguration()
        store = CaseStore(configuration: configuration, logger: context.logger)
        database = context.database
        clock = context.clock
        cipher = try PersonalDataCipher.fromEnvironment(logger: context.logger)
        logger = context.logger
    }

    func register(_ handlers: inout HandlerRegistry) {
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
            // A new case, or a rise to critical, needs a first response from the school (or the task force).
            guard opened || (assessed.tier == .critical && assessed.previousTier != .critical) else { return .applied }
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
                // Feedback on someone else's task, an unknown one, or out of order: kept aside with the reason.
                return .setAside(reason: error.description)
            }
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

    func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {
        InterventionRoutes(store: store, database: database, clock: clock, cipher: cipher, configuration: configuration).add(to: v1)
    }

    func backgroundServices() -> [any Service] {
        [Escalator(store: store, database: database, clock: clock, poll: configuration.escalationPoll, logger: logger)]
    }
}

/// Fires due escalation steps until graceful shutdown; replicas share the
/// timers without firing one twice.
struct Escalator: Service {
    let store: CaseStore
    let database: Database
    let clock: any WallClock
    let poll: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
            while !Task.isCancelled {
                do {
                    let fired = try await fireOnce()
                    backoff.reset()
                    if fired >= 100 { continue }
                    try? await Task.sleep(for: poll)
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("escalation round failed", metadata: ["error.message": "\(error)"])
                    try? await Task.sleep(for: backoff.next())
                }
            }
        }
    }

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
