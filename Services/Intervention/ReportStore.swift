import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// The daily loop in numbers: a period's summary, the loop day by day, the task force's daily digest
/// (`intervention.digests`). Sealed cases are left out.
struct ReportStore: Sendable {
    let database: Database
    let configuration: InterventionConfiguration
    var logger: Logger { database.logger }

    /// Counts for a period `[start, end)`, sealed cases left out; a task counts as late once its deadline has passed by `now`.
    func summary(from start: Date, to end: Date, now: Date, on connection: PostgresConnection) async throws -> Summary {
        let lateBy = min(end, now)
        let rows = try await connection.query(prepared: """
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
        let rows = try await connection.query(prepared: """
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

    /// Once a day, at the configured hour, the previous day's digest for the task force — once, whatever the replicas.
    func digestIfDue(at now: Date, on connection: PostgresConnection) async throws -> [Emission] {
        let calendar = Periods.calendar
        guard calendar.component(.hour, from: now) >= configuration.digestHour else { return [] }
        let today = calendar.startOfDay(for: now)
        let yesterday = calendar.date(byAdding: .day, value: -1, to: today)!
        let day = Periods.day(yesterday)
        let claimed = try await connection.query(prepared: """
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

    /// Counts for a period, as ``summary(from:to:now:on:)``, on a connection of its own.
    func summary(from start: Date, to end: Date, now: Date) async throws -> Summary {
        try await database.withConnection { try await summary(from: start, to: end, now: now, on: $0) }
    }

    /// The loop day by day, as ``days(from:to:now:on:)``, on a connection of its own.
    func days(from start: Date, to end: Date, now: Date) async throws -> [Day] {
        try await database.withConnection { try await days(from: start, to: end, now: now, on: $0) }
    }
}
