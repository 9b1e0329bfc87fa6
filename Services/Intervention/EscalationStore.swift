import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// The timers (`intervention.timers`) that escalate late tasks, and the follow-up visits of open cases
/// (`intervention.followups`).
struct EscalationStore: Sendable {
    let database: Database
    let configuration: InterventionConfiguration
    var logger: Logger { database.logger }
    var cases: CaseStore { CaseStore(database: database, configuration: configuration) }

    /// Fires the escalation steps that are due, each once: claimed with
    /// `FOR UPDATE SKIP LOCKED` and marked fired in the transaction that
    /// writes its event to the outbox, so replicas never fire the same step.
    /// - Returns: The events, for the caller to put in the outbox in the same transaction.
    func fireDue(at now: Date, limit: Int, on connection: PostgresConnection) async throws -> [Emission] {
        let rows = try await connection.query(prepared: """
            SELECT t.task_id::text, t.step, k.case_id::text, k.subject_id, k.unit, k.measure, k.due_at,
                   coalesce(u.superior, \(configuration.taskForceUnit))
            FROM intervention.timers t
            JOIN intervention.tasks k USING (task_id)
            LEFT JOIN intervention.units u ON u.unit = k.unit
            WHERE t.fired_at IS NULL AND t.cancelled_at IS NULL AND t.due_at <= \(now)
            ORDER BY t.due_at, t.task_id, t.step
            LIMIT \(limit)
            FOR UPDATE OF t SKIP LOCKED
            """, logger: logger)
        var due: [(taskID: String, step: Int, caseID: String, subjectID: String, unit: String, measure: String, dueAt: Date, superior: String)] = []
        for try await row in rows.decode((String, Int, String, String, String, String, Date, String).self) { due.append(row) }
        var emissions: [Emission] = []
        for timer in due {
            switch EscalationStep.kind(of: timer.step) {
            case .reminder:
                emissions.append(Emission(TaskOverdueV1(
                    taskID: timer.taskID, caseID: timer.caseID, subjectID: timer.subjectID, unit: timer.unit, measure: timer.measure,
                    dueAt: timer.dueAt, at: now), subject: timer.caseID))
                try await cases.chronicle(timer.caseID, "task_overdue", "\(timer.measure) by \(timer.unit): reminder", by: CaseStore.Actor.timer, at: now, on: connection)
            case .escalation(let level):
                let to = level == .superior ? timer.superior : configuration.taskForceUnit
                emissions.append(Emission(CaseEscalatedV1(
                    caseID: timer.caseID, taskID: timer.taskID, subjectID: timer.subjectID, unit: timer.unit, level: level,
                    escalatedTo: to, dueAt: timer.dueAt, at: now), subject: timer.caseID))
                try await cases.chronicle(timer.caseID, "escalated", "\(timer.measure) by \(timer.unit): to \(to) (\(level.rawValue))", by: CaseStore.Actor.timer, at: now, on: connection)
            }
        }
        let visits = try await connection.query(prepared: """
            SELECT f.id, c.case_id::text, c.subject_id, c.tier, coalesce(c.school_code, \(configuration.taskForceUnit)), f.due_at
            FROM intervention.followups f JOIN intervention.cases c USING (case_id)
            WHERE f.visited_at IS NULL AND f.notified_at IS NULL AND f.cancelled_at IS NULL AND f.due_at <= \(now)
            ORDER BY f.due_at LIMIT \(limit)
            FOR UPDATE OF f SKIP LOCKED
            """, logger: logger)
        var notified: [Int64] = []
        for try await (id, caseID, subjectID, tier, unit, dueAt) in visits.decode((Int64, String, String, String, String, Date).self) {
            notified.append(id)
            emissions.append(Emission(FollowUpDueV1(
                caseID: caseID, subjectID: subjectID, tier: RiskTier(rawValue: tier) ?? .high, unit: unit, dueAt: dueAt, at: now), subject: caseID))
            try await cases.chronicle(caseID, "followup_due", "a follow-up visit by \(unit) was due", by: CaseStore.Actor.timer, at: now, on: connection)
        }
        if !notified.isEmpty {
            try await connection.query(prepared: "UPDATE intervention.followups SET notified_at = \(now) WHERE id = ANY(\(notified))", logger: logger)
        }
        if !due.isEmpty {
            try await connection.query(prepared: """
                UPDATE intervention.timers AS t SET fired_at = \(now)
                FROM unnest(\(due.map(\.taskID))::text[], \(due.map(\.step))::int[]) AS x(task, step)
                WHERE t.task_id::text = x.task AND t.step = x.step
                """, logger: logger)
        }
        return emissions
    }

    func scheduleFollowUp(_ caseID: String, tier: RiskTier, after time: Date, on connection: PostgresConnection) async throws {
        let due = configuration.followUpDue(tier, after: time)
        try await connection.query(prepared: """
            INSERT INTO intervention.followups (case_id, due_at) VALUES (\(caseID)::uuid, \(due))
            ON CONFLICT (case_id) WHERE visited_at IS NULL AND cancelled_at IS NULL DO NOTHING
            """, logger: logger)
    }

    /// Records a follow-up visit of an open case and schedules the next by its tier.
    func recordFollowUp(caseID: String, by agency: String, note: String?, actor: CaseStore.Actor, at now: Date, on connection: PostgresConnection) async throws -> [Emission] {
        let locked = try await cases.lockCase(caseID, on: connection)
        guard locked.status == "open" else { throw InterventionError(.conflict, "case \(caseID) is \(locked.status)") }
        try await connection.query(prepared: """
            UPDATE intervention.followups SET visited_at = \(now), recorded_by = \(agency), note = \(note)
            WHERE case_id::text = \(caseID) AND visited_at IS NULL AND cancelled_at IS NULL
            """, logger: logger)
        try await scheduleFollowUp(caseID, tier: locked.tier, after: now, on: connection)
        try await cases.chronicle(caseID, "followup", "visit recorded by \(agency)\(note.map { ": \($0)" } ?? "")", by: actor, at: now, on: connection)
        let next = configuration.followUpDue(locked.tier, after: now)
        return [Emission(FollowUpRecordedV1(caseID: caseID, subjectID: locked.subjectID, by: agency, visitedAt: now, nextDueAt: next), subject: caseID)]
    }
}
