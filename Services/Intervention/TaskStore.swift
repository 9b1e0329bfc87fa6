import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// Tasks (`intervention.tasks`): assigned to units with deadlines and the three escalation timers,
/// moved through ``TaskStatus`` by the units' feedback.
struct TaskStore: Sendable {
    let database: Database
    let configuration: InterventionConfiguration
    var logger: Logger { database.logger }
    var cases: CaseStore { CaseStore(database: database, configuration: configuration) }
    var referrals: ReferralStore { ReferralStore(database: database, configuration: configuration) }

    /// Assigns a measure to a unit with a deadline, and sets the three escalation steps: at the
    /// deadline (reminder), then to the unit's superior, then to the task force.
    func assign(
        caseID: String, subjectID: String, unit: String, measure: Measure, tier: RiskTier, urgent: Bool, due: Date,
        note: String? = nil, by actor: CaseStore.Actor, at now: Date, on connection: PostgresConnection
    ) async throws -> TaskAssignedV1 {
        let task = plan(caseID: caseID, subjectID: subjectID, unit: unit, measure: measure, tier: tier, urgent: urgent, due: due)
        try await assign(task, measure: measure, note: note, announcedBy: nil, by: actor, at: now, on: connection)
        return task
    }

    /// The task a measure becomes, before it is stored: its event can then be emitted first, and the task
    /// stored with the id of the event that announced it.
    func plan(caseID: String, subjectID: String, unit: String, measure: Measure, tier: RiskTier, urgent: Bool, due: Date) -> TaskAssignedV1 {
        TaskAssignedV1(
            taskID: UUID().uuidString.lowercased(), caseID: caseID, subjectID: subjectID, unit: unit, measure: measure.rawValue, tier: tier,
            dueAt: due, urgent: urgent)
    }

    /// Stores a planned task with its escalation steps and its line in the case's chronology, in one statement.
    /// - Parameters:
    ///   - announcedBy: The id of the event that tells the unit of the task, so that its delivery can be chronicled on the case.
    func assign(
        _ task: TaskAssignedV1, measure: Measure, note: String?, announcedBy eventID: String?, by actor: CaseStore.Actor, at now: Date,
        on connection: PostgresConnection
    ) async throws {
        try await assign([Planned(task: task, measure: measure, note: note, announcedBy: eventID)], by: actor, at: now, on: connection)
    }

    /// A task to store with others (``assign(_:by:at:on:)``).
    struct Planned: Sendable {
        var task: TaskAssignedV1
        var measure: Measure
        var note: String?
        /// The id of the event that tells the unit of the task, so that its delivery can be chronicled on the case.
        var announcedBy: String?
        /// Who assigns it, where the tasks stored together come from several events; nil for the one ``assign(_:by:at:on:)`` names.
        var actor: CaseStore.Actor?
    }

    /// Stores planned tasks — e.g. a report's, one per department and person — with their escalation steps and
    /// their lines in the cases' chronologies, in one statement, and opens the referrals their measures are.
    func assign(_ planned: [Planned], by actor: CaseStore.Actor, at now: Date, on connection: PostgresConnection) async throws {
        guard !planned.isEmpty else { return }
        let tasks = planned.map(\.task)
        let steps = tasks.map { task in configuration.escalationSteps(due: task.dueAt).map { (task: task.taskID, step: $0.step, at: $0.at) } }.flatMap { $0 }
        try await connection.query(prepared: """
            WITH task AS (
                INSERT INTO intervention.tasks (task_id, case_id, subject_id, unit, measure, due_at, status, note, created_at, updated_at, assigned_event_id)
                SELECT t::uuid, c::uuid, s, u, m, d, 'assigned', NULLIF(n, ''), \(now), \(now), NULLIF(e, '')
                FROM unnest(\(tasks.map(\.taskID))::text[], \(tasks.map(\.caseID))::text[], \(tasks.map(\.subjectID))::text[], \(tasks.map(\.unit))::text[],
                            \(planned.map(\.measure.rawValue))::text[], \(tasks.map(\.dueAt))::timestamptz[], \(planned.map { $0.note ?? "" })::text[],
                            \(planned.map { $0.announcedBy ?? "" })::text[])
                     WITH ORDINALITY AS x(t, c, s, u, m, d, n, e, o)
                ORDER BY o
                RETURNING task_id
            ), timers AS (
                INSERT INTO intervention.timers (task_id, step, due_at)
                SELECT t::uuid, step, at FROM unnest(\(steps.map(\.task))::text[], \(steps.map(\.step))::int[], \(steps.map(\.at))::timestamptz[]) AS x(t, step, at)
            )
            INSERT INTO intervention.chronology (case_id, kind, detail, event_id, at)
            SELECT c::uuid, 'task_assigned', d, a, \(now)
            FROM unnest(\(tasks.map(\.caseID))::text[],
                        \(planned.map { "\($0.measure.rawValue) to \($0.task.unit), due \(ContractCoding.formatTime($0.task.dueAt))" })::text[],
                        \(planned.map { ($0.actor ?? actor).text })::text[])
                 WITH ORDINALITY AS x(c, d, a, o)
            ORDER BY o
            """, logger: logger)
        for plan in planned {
            guard let kind = ReferralKind(plan.measure) else { continue }
            let task = plan.task
            try await referrals.openReferral(
                id: task.taskID, kind: kind, caseID: task.caseID, taskID: task.taskID, subjectID: task.subjectID, fromAgency: task.unit,
                urgent: task.urgent, by: plan.actor ?? actor, at: now, on: connection)
        }
    }

    /// A unit's report on its task, or a cancellation: the next status, if the task may move there.
    /// - Parameters:
    ///   - unit: Who reports: the task's unit; nil for the task force (cancelling).
    func update(
        taskID: String, unit: String?, status: TaskUpdatedV1.Status, note: String?, reason: String?, by actor: CaseStore.Actor, at now: Date,
        on connection: PostgresConnection
    ) async throws -> [Emission] {
        let rows = try await connection.query(prepared: """
            SELECT case_id::text, unit, status FROM intervention.tasks WHERE task_id::text = \(taskID) FOR UPDATE
            """, logger: logger)
        var found: (caseID: String, unit: String, status: String)?
        for try await row in rows.decode((String, String, String).self) { found = row }
        guard let (caseID, taskUnit, current) = found else { throw InterventionError(.notFound, "no task \(taskID)") }
        if let unit, unit != taskUnit { throw InterventionError(.forbidden, "task \(taskID) is assigned to \(taskUnit), not \(unit)") }
        let next = TaskStatus(status)
        try (TaskStatus(rawValue: current) ?? .cancelled).check(next, reason: reason, taskID: taskID)
        let finished = next.isFinished
        try await connection.query(prepared: """
            UPDATE intervention.tasks SET status = \(status.rawValue), note = coalesce(\(note), note), reason = coalesce(\(reason), reason),
                   updated_at = \(now), completed_at = CASE WHEN \(finished) THEN \(now) ELSE completed_at END
            WHERE task_id::text = \(taskID)
            """, logger: logger)
        if finished {
            // A finished task escalates no further.
            try await connection.query(prepared: """
                UPDATE intervention.timers SET cancelled_at = \(now) WHERE task_id::text = \(taskID) AND fired_at IS NULL AND cancelled_at IS NULL
                """, logger: logger)
        }
        try await cases.chronicle(caseID, "task_\(status.rawValue)", [taskUnit, note, reason].compactMap { $0 }.joined(separator: ": "), by: actor, at: now, on: connection)
        return [Emission(TaskUpdatedV1(taskID: taskID, caseID: caseID, unit: taskUnit, status: status, note: note, reason: reason, at: now), subject: caseID)]
    }

    /// The tasks of a case for one measure that are still to be done.
    func openTasks(caseID: String, measure: Measure, on connection: PostgresConnection) async throws -> [String] {
        let rows = try await connection.query(prepared: """
            SELECT task_id::text FROM intervention.tasks
            WHERE case_id::text = \(caseID) AND measure = \(measure.rawValue) AND status = ANY(\(TaskStatus.openNames)::text[]) ORDER BY seq
            """, logger: logger)
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    /// A unit's tasks in cases that are not sealed, by deadline.
    /// - Parameters:
    ///   - unit: The unit.
    ///   - statuses: Only tasks in these; nil for all.
    ///   - now: Tasks past their deadline by now are late.
    func tasks(of unit: String, statuses: [String]?, now: Date) async throws -> [TaskLine] {
            let rows = try await database.query("""
                SELECT t.task_id::text, t.case_id::text, t.measure, t.status, t.due_at, t.note, t.reason
                FROM intervention.tasks t JOIN intervention.cases c USING (case_id)
                WHERE t.unit = \(unit) AND NOT c.sealed AND (\(statuses)::text[] IS NULL OR t.status = ANY(\(statuses)::text[]))
                ORDER BY t.due_at LIMIT 500
                """)
                var tasks: [TaskLine] = []
            for try await (id, caseID, measure, status, due, note, reason) in rows.decode((String, String, String, String, Date, String?, String?).self) {
                tasks.append(TaskLine(
                    taskID: id, caseID: caseID, unit: unit, measure: measure, status: status, dueAt: due,
                    late: TaskStatus.isLate(status, due: due, now: now), note: note, reason: reason))
            }
        return tasks
    }

    struct TaskLine: Codable {
        var taskID: String
        var caseID: String
        var unit: String
        var measure: String
        var status: String
        var dueAt: Date
        var late: Bool
        var note: String?
        var reason: String?
        enum CodingKeys: String, CodingKey { case taskID = "taskId", caseID = "caseId", unit, measure, status, dueAt, late, note, reason }
    }
}
