import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// Why a case or task operation was refused; the API answers with the matching status.
struct InterventionError: Error, CustomStringConvertible {
    enum Code: Sendable { case notFound, forbidden, conflict, invalid }
    var code: Code
    var description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// Cases and their tasks in the database: every operation runs in the
/// caller's transaction, writes the case's chronology, and returns the events
/// to emit — so the same code serves message handlers, the API and timers.
struct CaseStore {
    let configuration: InterventionConfiguration
    let logger: Logger

    /// Who did something: an event (its id) or an API caller.
    struct Actor: Sendable {
        var text: String
        static func event(_ id: String) -> Actor { Actor(text: "event:\(id)") }
        /// An API caller; a person signed in to the console is named (`api:agency/role/person`).
        static func api(_ identity: APIIdentity) -> Actor {
            Actor(text: "api:\(identity.agency)/\(identity.role)" + (identity.person.map { "/\($0)" } ?? ""))
        }
        static let timer = Actor(text: "timer")
    }

    func chronicle(_ caseID: String, _ kind: String, _ detail: String, by actor: Actor, at: Date, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO intervention.chronology (case_id, kind, detail, event_id, at)
            VALUES (\(caseID)::uuid, \(kind), \(detail), \(actor.text), \(at))
            """, logger: logger)
    }

    /// The subject's open case, opened now if there is none; a new signal attaches to an open case.
    /// - Returns: The case id and the events to emit (`case.opened.v1` when opened).
    func openOrAttach(
        subjectID: String, tier: RiskTier, schoolCode: String?, reason: String, by actor: Actor, at now: Date, on connection: PostgresConnection
    ) async throws -> (caseID: String, opened: Bool, emissions: [Emission]) {
        let caseID = UUID().uuidString.lowercased()
        let opened = try await connection.query("""
            INSERT INTO intervention.cases (case_id, subject_id, tier, opened_by_event, opened_at, school_code, reason, updated_at)
            VALUES (\(caseID)::uuid, \(subjectID), \(tier.rawValue), \(actor.text), \(now), \(schoolCode), \(reason), \(now))
            ON CONFLICT (subject_id) WHERE status = 'open' DO NOTHING
            RETURNING case_id::text
            """, logger: logger)
        for try await _ in opened.decode(String.self) {
            try await chronicle(caseID, "opened", reason, by: actor, at: now, on: connection)
            // A subject under a seal order gets sealed cases.
            try await connection.query("""
                UPDATE intervention.cases c SET sealed = true, sealed_order = s.order_ref, sealed_at = \(now)
                FROM intervention.sealed_subjects s WHERE c.case_id = \(caseID)::uuid AND s.subject_id = c.subject_id
                """, logger: logger)
            try await scheduleFollowUp(caseID, tier: tier, after: now, on: connection)
            return (caseID, true, [Emission(CaseOpenedV1(
                caseID: caseID, subjectID: subjectID, tier: tier, reason: reason, schoolCode: schoolCode, reopened: false, at: now), subject: caseID)])
        }
        let rows = try await connection.query("""
            UPDATE intervention.cases SET tier = \(tier.rawValue), school_code = coalesce(\(schoolCode), school_code), updated_at = \(now)
            WHERE subject_id = \(subjectID) AND status = 'open' RETURNING case_id::text
            """, logger: logger)
        for try await existing in rows.decode(String.self) {
            try await chronicle(existing, "signal", reason, by: actor, at: now, on: connection)
            return (existing, false, [])
        }
        throw InterventionError(.conflict, "no open case could be found or opened for \(subjectID)")
    }

    /// Assigns a measure to a unit with a deadline, and sets the three escalation steps: at the
    /// deadline (reminder), then to the unit's superior, then to the task force.
    func assign(
        caseID: String, subjectID: String, unit: String, measure: Measure, tier: RiskTier, urgent: Bool, due: Date,
        note: String? = nil, by actor: Actor, at now: Date, on connection: PostgresConnection
    ) async throws -> TaskAssignedV1 {
        let taskID = UUID().uuidString.lowercased()
        try await connection.query("""
            INSERT INTO intervention.tasks (task_id, case_id, subject_id, unit, measure, due_at, status, note, created_at, updated_at)
            VALUES (\(taskID)::uuid, \(caseID)::uuid, \(subjectID), \(unit), \(measure.rawValue), \(due), 'assigned', \(note), \(now), \(now))
            """, logger: logger)
        try await connection.query("""
            INSERT INTO intervention.timers (task_id, step, due_at)
            SELECT \(taskID)::uuid, step, at FROM unnest(ARRAY[1, 2, 3], \([due, due.addingTimeInterval(configuration.superiorAfter), due.addingTimeInterval(configuration.taskForceAfter)])::timestamptz[]) AS t(step, at)
            """, logger: logger)
        try await chronicle(caseID, "task_assigned", "\(measure.rawValue) to \(unit), due \(ContractCoding.formatTime(due))", by: actor, at: now, on: connection)
        if let kind = ReferralKind(measure) {
            try await openReferral(
                id: taskID, kind: kind, caseID: caseID, taskID: taskID, subjectID: subjectID, fromAgency: unit, urgent: urgent, by: actor, at: now,
                on: connection)
        }
        return TaskAssignedV1(
            taskID: taskID, caseID: caseID, subjectID: subjectID, unit: unit, measure: measure.rawValue, tier: tier, dueAt: due, urgent: urgent)
    }

    /// A unit's report on its task, or a cancellation: the next status, if the task may move there.
    /// - Parameters:
    ///   - unit: Who reports: the task's unit; nil for the task force (cancelling).
    func update(
        taskID: String, unit: String?, status: TaskUpdatedV1.Status, note: String?, reason: String?, by actor: Actor, at now: Date,
        on connection: PostgresConnection
    ) async throws -> [Emission] {
        let rows = try await connection.query("""
            SELECT case_id::text, unit, status FROM intervention.tasks WHERE task_id::text = \(taskID) FOR UPDATE
            """, logger: logger)
        var found: (caseID: String, unit: String, status: String)?
        for try await row in rows.decode((String, String, String).self) { found = row }
        guard let (caseID, taskUnit, current) = found else { throw InterventionError(.notFound, "no task \(taskID)") }
        if let unit, unit != taskUnit { throw InterventionError(.forbidden, "task \(taskID) is assigned to \(taskUnit), not \(unit)") }
        let allowed: [String: Set<TaskUpdatedV1.Status>] = [
            "assigned": [.accepted, .progress, .completed, .rejected, .cancelled],
            "accepted": [.progress, .completed, .rejected, .cancelled],
            "progress": [.progress, .completed, .rejected, .cancelled],
        ]
        guard allowed[current, default: []].contains(status) else {
            throw InterventionError(.conflict, "task \(taskID) is \(current); it cannot become \(status.rawValue)")
        }
        if [.rejected, .cancelled].contains(status), (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw InterventionError(.invalid, "a reason is required to mark a task \(status.rawValue)")
        }
        let finished = [TaskUpdatedV1.Status.completed, .rejected, .cancelled].contains(status)
        try await connection.query("""
            UPDATE intervention.tasks SET status = \(status.rawValue), note = coalesce(\(note), note), reason = coalesce(\(reason), reason),
                   updated_at = \(now), completed_at = CASE WHEN \(finished) THEN \(now) ELSE completed_at END
            WHERE task_id::text = \(taskID)
            """, logger: logger)
        if finished {
            // A finished task escalates no further.
            try await connection.query("""
                UPDATE intervention.timers SET cancelled_at = \(now) WHERE task_id::text = \(taskID) AND fired_at IS NULL AND cancelled_at IS NULL
                """, logger: logger)
        }
        try await chronicle(caseID, "task_\(status.rawValue)", [taskUnit, note, reason].compactMap { $0 }.joined(separator: ": "), by: actor, at: now, on: connection)
        return [Emission(TaskUpdatedV1(taskID: taskID, caseID: caseID, unit: taskUnit, status: status, note: note, reason: reason, at: now), subject: caseID)]
    }

    /// Closes a case whose tasks are all completed or cancelled, with the closing review.
    func close(caseID: String, review: String, by actor: Actor, closedBy: String, at now: Date, on connection: PostgresConnection) async throws -> [Emission] {
        let subject = try await lockCase(caseID, on: connection)
        guard subject.status == "open" else { throw InterventionError(.conflict, "case \(caseID) is \(subject.status)") }
        guard !review.trimmingCharacters(in: .whitespaces).isEmpty else { throw InterventionError(.invalid, "a closing review is required") }
        let rows = try await connection.query("""
            SELECT status, count(*)::int FROM intervention.tasks WHERE case_id::text = \(caseID) GROUP BY status
            """, logger: logger)
        var counts: [String: Int] = [:]
        for try await (status, count) in rows.decode((String, Int).self) { counts[status] = count }
        let open = counts.filter { !["completed", "cancelled"].contains($0.key) }
        guard open.isEmpty else {
            let list = open.map { "\($0.value) \($0.key)" }.sorted().joined(separator: ", ")
            throw InterventionError(.conflict, "case \(caseID) has tasks not done: \(list); complete them or cancel them with a reason")
        }
        try await connection.query("""
            UPDATE intervention.cases SET status = 'closed', closed_at = \(now), closed_by = \(closedBy), review = \(review), updated_at = \(now)
            WHERE case_id::text = \(caseID)
            """, logger: logger)
        try await connection.query("""
            UPDATE intervention.followups SET cancelled_at = \(now) WHERE case_id::text = \(caseID) AND visited_at IS NULL AND cancelled_at IS NULL
            """, logger: logger)
        try await chronicle(caseID, "closed", review, by: actor, at: now, on: connection)
        return [Emission(CaseClosedV1(
            caseID: caseID, subjectID: subject.subjectID, closedBy: closedBy, tasksCompleted: counts["completed"] ?? 0,
            tasksCancelled: counts["cancelled"] ?? 0, at: now), subject: caseID)]
    }

    /// Reopens a closed case, unless the subject has another open one.
    func reopen(caseID: String, reason: String, by actor: Actor, at now: Date, on connection: PostgresConnection) async throws -> [Emission] {
        let subject = try await lockCase(caseID, on: connection)
        guard subject.status == "closed" else { throw InterventionError(.conflict, "case \(caseID) is \(subject.status)") }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw InterventionError(.invalid, "a reason is required to reopen") }
        let other = try await connection.query("""
            SELECT case_id::text FROM intervention.cases WHERE subject_id = \(subject.subjectID) AND status = 'open'
            """, logger: logger)
        for try await id in other.decode(String.self) {
            throw InterventionError(.conflict, "the subject already has an open case, \(id)")
        }
        try await connection.query("""
            UPDATE intervention.cases SET status = 'open', closed_at = NULL, updated_at = \(now) WHERE case_id::text = \(caseID)
            """, logger: logger)
        try await chronicle(caseID, "reopened", reason, by: actor, at: now, on: connection)
        try await scheduleFollowUp(caseID, tier: subject.tier, after: now, on: connection)
        return [Emission(CaseOpenedV1(
            caseID: caseID, subjectID: subject.subjectID, tier: subject.tier, reason: reason, schoolCode: subject.schoolCode, reopened: true, at: now),
            subject: caseID)]
    }

    struct LockedCase {
        var subjectID: String
        var status: String
        var tier: RiskTier
        var schoolCode: String?
    }

    func lockCase(_ caseID: String, on connection: PostgresConnection) async throws -> LockedCase {
        let rows = try await connection.query("""
            SELECT subject_id, status, tier, school_code FROM intervention.cases WHERE case_id::text = \(caseID) FOR UPDATE
            """, logger: logger)
        for try await (subject, status, tier, school) in rows.decode((String, String, String, String?).self) {
            return LockedCase(subjectID: subject, status: status, tier: RiskTier(rawValue: tier) ?? .high, schoolCode: school)
        }
        throw InterventionError(.notFound, "no case \(caseID)")
    }

    /// Fires the escalation steps that are due, each once: claimed with
    /// `FOR UPDATE SKIP LOCKED` and marked fired in the transaction that
    /// writes its event to the outbox, so replicas never fire the same step.
    /// - Returns: The events, for the caller to put in the outbox in the same transaction.
    func fireDue(at now: Date, limit: Int, on connection: PostgresConnection) async throws -> [Emission] {
        let rows = try await connection.query("""
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
            switch timer.step {
            case 1:
                emissions.append(Emission(TaskOverdueV1(
                    taskID: timer.taskID, caseID: timer.caseID, subjectID: timer.subjectID, unit: timer.unit, measure: timer.measure,
                    dueAt: timer.dueAt, at: now), subject: timer.caseID))
                try await chronicle(timer.caseID, "task_overdue", "\(timer.measure) by \(timer.unit): reminder", by: .timer, at: now, on: connection)
            default:
                let level: CaseEscalatedV1.Level = timer.step == 2 ? .superior : .taskForce
                let to = timer.step == 2 ? timer.superior : configuration.taskForceUnit
                emissions.append(Emission(CaseEscalatedV1(
                    caseID: timer.caseID, taskID: timer.taskID, subjectID: timer.subjectID, unit: timer.unit, level: level,
                    escalatedTo: to, dueAt: timer.dueAt, at: now), subject: timer.caseID))
                try await chronicle(timer.caseID, "escalated", "\(timer.measure) by \(timer.unit): to \(to) (\(level.rawValue))", by: .timer, at: now, on: connection)
            }
        }
        let visits = try await connection.query("""
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
            try await chronicle(caseID, "followup_due", "a follow-up visit by \(unit) was due", by: .timer, at: now, on: connection)
        }
        if !notified.isEmpty {
            try await connection.query("UPDATE intervention.followups SET notified_at = \(now) WHERE id = ANY(\(notified))", logger: logger)
        }
        if !due.isEmpty {
            try await connection.query("""
                UPDATE intervention.timers AS t SET fired_at = \(now)
                FROM unnest(\(due.map(\.taskID))::text[], \(due.map(\.step))::int[]) AS x(task, step)
                WHERE t.task_id::text = x.task AND t.step = x.step
                """, logger: logger)
        }
        return emissions
    }

    // MARK: Follow-up visits

    func scheduleFollowUp(_ caseID: String, tier: RiskTier, after time: Date, on connection: PostgresConnection) async throws {
        let due = time.addingTimeInterval(configuration.followUp[tier] ?? 30 * 86_400)
        try await connection.query("""
            INSERT INTO intervention.followups (case_id, due_at) VALUES (\(caseID)::uuid, \(due))
            ON CONFLICT (case_id) WHERE visited_at IS NULL AND cancelled_at IS NULL DO NOTHING
            """, logger: logger)
    }

    /// Records a follow-up visit of an open case and schedules the next by its tier.
    func recordFollowUp(caseID: String, by agency: String, note: String?, actor: Actor, at now: Date, on connection: PostgresConnection) async throws -> [Emission] {
        let locked = try await lockCase(caseID, on: connection)
        guard locked.status == "open" else { throw InterventionError(.conflict, "case \(caseID) is \(locked.status)") }
        try await connection.query("""
            UPDATE intervention.followups SET visited_at = \(now), recorded_by = \(agency), note = \(note)
            WHERE case_id::text = \(caseID) AND visited_at IS NULL AND cancelled_at IS NULL
            """, logger: logger)
        try await scheduleFollowUp(caseID, tier: locked.tier, after: now, on: connection)
        try await chronicle(caseID, "followup", "visit recorded by \(agency)\(note.map { ": \($0)" } ?? "")", by: actor, at: now, on: connection)
        let next = now.addingTimeInterval(configuration.followUp[locked.tier] ?? 30 * 86_400)
        return [Emission(FollowUpRecordedV1(caseID: caseID, subjectID: locked.subjectID, by: agency, visitedAt: now, nextDueAt: next), subject: caseID)]
    }

    // MARK: Sealing (档案封存)

    /// Seals or unseals a case on an order; sealing hides it from every list, search and statistic.
    /// - Returns: `subject.sealed.v1`, so that assessment hides (or shows again) the minor's offence record.
    func seal(_ sealed: Bool, caseID: String, order: String, actor: Actor, at now: Date, on connection: PostgresConnection) async throws -> [Emission] {
        guard !order.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw InterventionError(.invalid, "a seal or unseal needs the order's reference")
        }
        let locked = try await lockCase(caseID, on: connection)
        try await connection.query("""
            UPDATE intervention.cases SET sealed = \(sealed), sealed_order = \(order), sealed_at = \(now), updated_at = \(now)
            WHERE case_id::text = \(caseID)
            """, logger: logger)
        if sealed {
            try await connection.query("""
                INSERT INTO intervention.sealed_subjects (subject_id, order_ref, sealed_at) VALUES (\(locked.subjectID), \(order), \(now))
                ON CONFLICT (subject_id) DO UPDATE SET order_ref = EXCLUDED.order_ref
                """, logger: logger)
        } else {
            try await connection.query("DELETE FROM intervention.sealed_subjects WHERE subject_id = \(locked.subjectID)", logger: logger)
        }
        try await chronicle(caseID, sealed ? "sealed" : "unsealed", "order \(order)", by: actor, at: now, on: connection)
        return [Emission(SubjectSealedV1(subjectID: locked.subjectID, sealed: sealed, at: now), subject: locked.subjectID)]
    }

    /// A seal order from a case lead: every case of the subject, and any later one, is sealed.
    func sealSubject(_ subjectID: String, order: String, actor: Actor, at now: Date, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO intervention.sealed_subjects (subject_id, order_ref, sealed_at) VALUES (\(subjectID), \(order), \(now))
            ON CONFLICT (subject_id) DO NOTHING
            """, logger: logger)
        let rows = try await connection.query("""
            UPDATE intervention.cases SET sealed = true, sealed_order = \(order), sealed_at = \(now), updated_at = \(now)
            WHERE subject_id = \(subjectID) AND NOT sealed RETURNING case_id::text
            """, logger: logger)
        var cases: [String] = []
        for try await id in rows.decode(String.self) { cases.append(id) }
        for id in cases { try await chronicle(id, "sealed", "order \(order)", by: actor, at: now, on: connection) }
    }

    // MARK: The daily loop

    /// Counts for a period `[start, end)`, sealed cases left out; a task counts as late once its deadline has passed by `now`.
    func summary(from start: Date, to end: Date, now: Date, on connection: PostgresConnection) async throws -> Summary {
        let lateBy = min(end, now)
        let rows = try await connection.query("""
            SELECT
              (SELECT count(*)::int FROM intervention.cases WHERE NOT sealed AND opened_at >= \(start) AND opened_at < \(end)),
              (SELECT count(*)::int FROM intervention.tasks t JOIN intervention.cases c USING (case_id)
                 WHERE NOT c.sealed AND t.created_at >= \(start) AND t.created_at < \(end)),
              (SELECT count(*)::int FROM intervention.tasks t JOIN intervention.cases c USING (case_id)
                 WHERE NOT c.sealed AND t.due_at >= \(start) AND t.due_at < \(lateBy) AND t.status <> 'cancelled'
                   AND (t.completed_at IS NULL OR t.completed_at > t.due_at)),
              (SELECT count(*)::int FROM intervention.tasks t JOIN intervention.cases c USING (case_id)
                 WHERE NOT c.sealed AND t.status = 'completed' AND t.completed_at >= \(start) AND t.completed_at < \(end)),
              (SELECT count(*)::int FROM intervention.cases WHERE NOT sealed AND closed_at >= \(start) AND closed_at < \(end)),
              (SELECT count(*)::int FROM intervention.cases WHERE NOT sealed AND opened_at < \(end) AND (closed_at IS NULL OR closed_at >= \(end))),
              (SELECT count(*)::int FROM intervention.tasks t JOIN intervention.cases c USING (case_id)
                 WHERE NOT c.sealed AND t.created_at < \(end) AND t.due_at < \(lateBy) AND t.status <> 'cancelled'
                   AND (t.completed_at IS NULL OR t.completed_at >= \(lateBy)))
            """, logger: logger)
        for try await (opened, assigned, late, completed, closed, open, outstanding) in rows.decode((Int, Int, Int, Int, Int, Int, Int).self) {
            return Summary(casesOpened: opened, tasksAssigned: assigned, tasksLate: late, tasksCompleted: completed, casesClosed: closed,
                           openCases: open, lateTasksOutstanding: outstanding)
        }
        return Summary(casesOpened: 0, tasksAssigned: 0, tasksLate: 0, tasksCompleted: 0, casesClosed: 0, openCases: 0, lateTasksOutstanding: 0)
    }

    /// The loop day by day, from `start` to `end` (midnights in China Standard Time): one row per day, in order.
    /// - Parameters:
    ///   - start: The first day's midnight.
    ///   - end: The midnight after the last day.
    ///   - now: Tasks become late only up to now.
    ///   - connection: Where to read.
    func days(from start: Date, to end: Date, now: Date, on connection: PostgresConnection) async throws -> [Day] {
        let lateBy = min(end, now)
        // Each table read once for the whole range, grouped by the local day.
        let rows = try await connection.query("""
            WITH d AS (SELECT g::date AS day FROM generate_series((\(start) AT TIME ZONE 'Asia/Shanghai')::date,
                                                                  (\(end) AT TIME ZONE 'Asia/Shanghai')::date - 1, interval '1 day') AS g),
            opened AS (SELECT (opened_at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*) AS n FROM intervention.cases
                       WHERE NOT sealed AND opened_at >= \(start) AND opened_at < \(end) GROUP BY 1),
            closed AS (SELECT (closed_at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*) AS n FROM intervention.cases
                       WHERE NOT sealed AND closed_at >= \(start) AND closed_at < \(end) GROUP BY 1),
            assigned AS (SELECT (t.created_at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*) AS n
                         FROM intervention.tasks t JOIN intervention.cases c USING (case_id)
                         WHERE NOT c.sealed AND t.created_at >= \(start) AND t.created_at < \(end) GROUP BY 1),
            late AS (SELECT (t.due_at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*) AS n
                     FROM intervention.tasks t JOIN intervention.cases c USING (case_id)
                     WHERE NOT c.sealed AND t.due_at >= \(start) AND t.due_at < \(lateBy) AND t.status <> 'cancelled'
                       AND (t.completed_at IS NULL OR t.completed_at > t.due_at) GROUP BY 1),
            completed AS (SELECT (t.completed_at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*) AS n
                          FROM intervention.tasks t JOIN intervention.cases c USING (case_id)
                          WHERE NOT c.sealed AND t.status = 'completed' AND t.completed_at >= \(start) AND t.completed_at < \(end) GROUP BY 1)
            SELECT d.day::text, coalesce(opened.n, 0)::int, coalesce(assigned.n, 0)::int, coalesce(late.n, 0)::int,
                   coalesce(completed.n, 0)::int, coalesce(closed.n, 0)::int
            FROM d LEFT JOIN opened USING (day) LEFT JOIN assigned USING (day) LEFT JOIN late USING (day)
                   LEFT JOIN completed USING (day) LEFT JOIN closed USING (day)
            ORDER BY d.day
            """, logger: logger)
        var days: [Day] = []
        for try await (day, opened, assigned, late, completed, closed) in rows.decode((String, Int, Int, Int, Int, Int).self) {
            days.append(Day(date: day, casesOpened: opened, tasksAssigned: assigned, tasksLate: late, tasksCompleted: completed, casesClosed: closed))
        }
        return days
    }

    /// One day of the loop: cases opened and closed, tasks assigned, falling late and completed.
    struct Day: Codable, Sendable, Hashable {
        var date: String
        var casesOpened: Int
        var tasksAssigned: Int
        var tasksLate: Int
        var tasksCompleted: Int
        var casesClosed: Int
    }

    struct Summary: Codable, Sendable, Hashable {
        var casesOpened: Int
        var tasksAssigned: Int
        var tasksLate: Int
        var tasksCompleted: Int
        var casesClosed: Int
        var openCases: Int
        var lateTasksOutstanding: Int
    }

    /// China Standard Time, in which days, weeks, months and quarters are counted.
    static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        calendar.firstWeekday = 2
        return calendar
    }

    /// Once a day, at the configured hour, the previous day's digest for the task force — once, whatever the replicas.
    func digestIfDue(at now: Date, on connection: PostgresConnection) async throws -> [Emission] {
        let calendar = Self.calendar
        guard calendar.component(.hour, from: now) >= configuration.digestHour else { return [] }
        let today = calendar.startOfDay(for: now)
        let yesterday = calendar.date(byAdding: .day, value: -1, to: today)!
        let day = Self.dayText(yesterday)
        let claimed = try await connection.query("""
            INSERT INTO intervention.digests (day, sent_at) VALUES (\(day)::date, \(now)) ON CONFLICT (day) DO NOTHING RETURNING 1
            """, logger: logger)
        var isNew = false
        for try await _ in claimed { isNew = true }
        guard isNew else { return [] }
        let counts = try await summary(from: yesterday, to: today, now: now, on: connection)
        return [Emission(DailyDigestV1(
            day: day, casesOpened: counts.casesOpened, tasksAssigned: counts.tasksAssigned, tasksLate: counts.tasksLate,
            tasksCompleted: counts.tasksCompleted, casesClosed: counts.casesClosed, openCases: counts.openCases,
            lateTasksOutstanding: counts.lateTasksOutstanding, recipient: configuration.taskForceUnit), subject: day)]
    }

    static func dayText(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    // MARK: Referrals

    /// Starts tracking a referral to its outcome (idempotent on its id).
    func openReferral(
        id: String, kind: ReferralKind, caseID: String?, taskID: String?, subjectID: String?, fromAgency: String, urgent: Bool,
        fromIntakeID: String? = nil, fromEventType: String? = nil, by actor: Actor, at now: Date, on connection: PostgresConnection
    ) async throws {
        let rows = try await connection.query("""
            INSERT INTO intervention.referrals (referral_id, kind, case_id, task_id, subject_id, from_agency, urgent, requested_at,
                                                from_intake_id, from_event_type)
            VALUES (\(id), \(kind.rawValue), \(caseID)::uuid, \(taskID)::uuid, \(subjectID), \(fromAgency), \(urgent), \(now),
                    \(fromIntakeID), \(fromEventType))
            ON CONFLICT (referral_id) DO NOTHING RETURNING 1
            """, logger: logger)
        var inserted = false
        for try await _ in rows { inserted = true }
        if inserted, let caseID {
            try await chronicle(caseID, "referral", "\(kind.rawValue) requested\(urgent ? ", urgent" : "")", by: actor, at: now, on: connection)
        }
    }

    /// The units of a school's police officer and legal vice-principal, as the registry names them.
    func schoolUnits(_ schoolCode: String, on connection: PostgresConnection) async throws -> [String] {
        let rows = try await connection.query("""
            SELECT police_unit, legal_vice_principal_unit FROM intervention.school_units WHERE school_code = \(schoolCode)
            """, logger: logger)
        for try await (police, vice) in rows.decode((String?, String?).self) { return [police, vice].compactMap { $0 } }
        return []
    }

    /// Keeps what the registry says of a school; an older message never overwrites a newer one.
    func setSchoolUnits(_ school: SchoolUpdatedV1, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO intervention.school_units (school_code, police_unit, legal_vice_principal_unit, updated_at)
            VALUES (\(school.schoolCode), \(school.policeUnit), \(school.legalVicePrincipalUnit), \(school.at))
            ON CONFLICT (school_code) DO UPDATE SET police_unit = EXCLUDED.police_unit,
                legal_vice_principal_unit = EXCLUDED.legal_vice_principal_unit, updated_at = EXCLUDED.updated_at
            WHERE intervention.school_units.updated_at <= EXCLUDED.updated_at
            """, logger: logger)
    }

    /// The tasks of a case for one measure that are still to be done.
    func openTasks(caseID: String, measure: Measure, on connection: PostgresConnection) async throws -> [String] {
        let rows = try await connection.query("""
            SELECT task_id::text FROM intervention.tasks
            WHERE case_id::text = \(caseID) AND measure = \(measure.rawValue) AND status IN ('assigned', 'accepted', 'progress') ORDER BY seq
            """, logger: logger)
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    /// The subject's open case, if any.
    func openCase(of subjectID: String, on connection: PostgresConnection) async throws -> String? {
        let rows = try await connection.query(
            "SELECT case_id::text FROM intervention.cases WHERE subject_id = \(subjectID) AND status = 'open'", logger: logger)
        for try await id in rows.decode(String.self) { return id }
        return nil
    }

    /// Records a referral's outcome; a referral made by a plan's measure completes its task.
    func resolveReferral(
        id: String, outcome: String, note: String?, by agency: String, actor: Actor, at now: Date, on connection: PostgresConnection
    ) async throws -> [Emission] {
        let rows = try await connection.query("""
            SELECT kind, status, case_id::text, task_id::text, subject_id FROM intervention.referrals WHERE referral_id = \(id) FOR UPDATE
            """, logger: logger)
        var found: (String, String, String?, String?, String?)?
        for try await row in rows.decode((String, String, String?, String?, String?).self) { found = row }
        guard let (kindText, status, caseID, taskID, subjectID) = found, let kind = ReferralKind(rawValue: kindText) else {
            throw InterventionError(.notFound, "no referral \(id)")
        }
        guard status == "open" else { throw InterventionError(.conflict, "referral \(id) is already \(status)") }
        guard kind.outcomes.contains(outcome) else {
            throw InterventionError(.invalid, "a \(kind.rawValue) referral ends \(kind.outcomes.joined(separator: ", ")); not \(outcome)")
        }
        try await connection.query("""
            UPDATE intervention.referrals SET status = 'resolved', outcome = \(outcome), note = \(note), resolved_at = \(now), resolved_by = \(agency)
            WHERE referral_id = \(id)
            """, logger: logger)
        var emissions = [Emission(ReferralResolvedV1(
            referralID: id, kind: kind.rawValue, outcome: outcome, caseID: caseID, subjectID: subjectID, by: agency, at: now), subject: caseID ?? id)]
        if let caseID {
            try await chronicle(caseID, "referral_resolved", "\(kind.rawValue): \(outcome)", by: actor, at: now, on: connection)
        }
        if let taskID {
            let task = try await connection.query("SELECT status FROM intervention.tasks WHERE task_id::text = \(taskID)", logger: logger)
            var open = false
            for try await status in task.decode(String.self) { open = ["assigned", "accepted", "progress"].contains(status) }
            if open {
                emissions += try await update(
                    taskID: taskID, unit: nil, status: .completed, note: "referral outcome: \(outcome)", reason: nil, by: actor, at: now, on: connection)
            }
        }
        return emissions
    }

    func hasTask(_ caseID: String, measure: Measure, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            "SELECT 1 FROM intervention.tasks WHERE case_id::text = \(caseID) AND measure = \(measure.rawValue) LIMIT 1", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// The unit templates that answer a school's report of this category.
    func departments(for category: IncidentCategory, on connection: PostgresConnection) async throws -> [String] {
        let rows = try await connection.query("SELECT units FROM intervention.departments WHERE category = \(category.rawValue)", logger: logger)
        for try await units in rows.decode([String].self) { return units }
        return Departments.defaults[category] ?? [configuration.taskForceUnit]
    }
}

