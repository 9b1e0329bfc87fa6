import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// Inspections and what they find: each inspection with its checks (`inspection.inspections`,
/// `inspection.checks`), the hazards its failed items become (`inspection.hazards`), and the checklist
/// that gives each item its severity, deadline and responsible unit (`inspection.checklist`).
struct InspectionStore: Sendable {
    let database: Database

    /// One inspection, as listed: its counts of passed and failed items.
    struct Summary: Codable, Sendable {
        var inspectionId: String
        var schoolCode: String
        var kind: String
        var unit: String
        var inspectedAt: Date
        var passed: Int
        var failed: Int
    }

    /// One hazard, as listed.
    struct Hazard: Codable, Sendable {
        var hazardID: String
        var schoolCode: String
        var item: String
        var severity: String
        var unit: String
        var dueAt: Date
        var reportedAt: Date
        var closedAt: Date?
        var late: Bool
        enum CodingKeys: String, CodingKey { case hazardID = "hazardId", schoolCode, item, severity, unit, dueAt, reportedAt, closedAt, late }
    }

    /// Which hazards to list: those open, those open past their deadline, or all.
    enum HazardState: String, Sendable { case open, late, all }

    /// Records an inspection: each failed item is a hazard (unless one is open for it already) with the
    /// checklist's severity, responsible unit and deadline; each passed item closes an open hazard.
    /// - Parameters:
    ///   - report: The inspection, as intake accepted it.
    ///   - now: When the hazards are announced.
    ///   - connection: The handler's transaction.
    /// - Returns: `hazard.reported.v1` for each new hazard; nothing for an inspection recorded before.
    static func record(
        _ report: InspectionReportAcceptedV1, at now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Emission] {
        let inserted = try await connection.query(prepared: """
            INSERT INTO inspection.inspections (inspection_id, school_code, kind, unit, inspected_at, passed, failed)
            VALUES (\(report.intakeID), \(report.schoolCode), \(report.kind.rawValue), \(report.unit), \(report.inspectedAt),
                    \(report.checks.filter(\.passed).count), \(report.checks.filter { !$0.passed }.count))
            ON CONFLICT (inspection_id) DO NOTHING RETURNING 1
            """, logger: logger)
        var isNew = false
        for try await _ in inserted { isNew = true }
        guard isNew else { return [] }
        try await connection.query(prepared: """
            INSERT INTO inspection.checks (inspection_id, item, passed, note)
            SELECT \(report.intakeID), i, p, NULLIF(n, '')
            FROM unnest(\(report.checks.map(\.item.rawValue))::text[], \(report.checks.map(\.passed))::boolean[], \(report.checks.map { $0.note ?? "" })::text[]) AS t(i, p, n)
            ON CONFLICT DO NOTHING
            """, logger: logger)
        let district = String(report.schoolCode.prefix(6))
        var emissions: [Emission] = []
        for check in report.checks {
            if check.passed {
                try await connection.query(prepared: """
                    UPDATE inspection.hazards SET closed_at = \(report.inspectedAt), closed_by = \(report.intakeID)
                    WHERE school_code = \(report.schoolCode) AND item = \(check.item.rawValue) AND closed_at IS NULL AND reported_at <= \(report.inspectedAt)
                    """, logger: logger)
                continue
            }
            let hazardID = UUID().uuidString.lowercased()
            let rows = try await connection.query(prepared: """
                INSERT INTO inspection.hazards (hazard_id, school_code, item, severity, unit, due_at, inspection_id, inspected_by, note, reported_at)
                SELECT \(hazardID)::uuid, \(report.schoolCode), c.item, c.severity,
                       replace(replace(c.unit, '{school}', \(report.schoolCode)), '{district}', \(district)),
                       \(report.inspectedAt) + make_interval(days => c.rectify_days), \(report.intakeID), \(report.unit), \(check.note), \(report.inspectedAt)
                FROM inspection.checklist c WHERE c.item = \(check.item.rawValue)
                ON CONFLICT (school_code, item) WHERE closed_at IS NULL DO NOTHING
                RETURNING severity, unit, due_at
                """, logger: logger)
            for try await (severity, unit, due) in rows.decode((String, String, Date).self) {
                emissions.append(Emission(HazardReportedV1(
                    hazardID: hazardID, schoolCode: report.schoolCode, item: check.item.rawValue,
                    severity: HazardReportedV1.Severity(rawValue: severity) ?? .major, unit: unit, dueAt: due, inspectionID: report.intakeID,
                    inspectedBy: report.unit, note: check.note, at: now), subject: hazardID))
            }
        }
        return emissions
    }

    /// Hazards past their deadline, each announced once: marks up to `limit` of them, locked against other replicas.
    /// - Parameters:
    ///   - now: The time the deadlines are measured against.
    ///   - limit: Most hazards in the batch.
    ///   - connection: The job's transaction.
    /// - Returns: `hazard.overdue.v1` for each.
    static func overdue(at now: Date, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [Emission] {
        let rows = try await connection.query(prepared: """
            SELECT hazard_id::text, school_code, item, severity, unit, due_at FROM inspection.hazards
            WHERE closed_at IS NULL AND overdue_at IS NULL AND due_at <= \(now)
            ORDER BY due_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """, logger: logger)
        var emissions: [Emission] = []
        var ids: [String] = []
        for try await (id, school, item, severity, unit, due) in rows.decode((String, String, String, String, String, Date).self) {
            ids.append(id)
            emissions.append(Emission(HazardOverdueV1(
                hazardID: id, schoolCode: school, item: item, severity: HazardReportedV1.Severity(rawValue: severity) ?? .major, unit: unit,
                dueAt: due, at: now), subject: id))
        }
        if !ids.isEmpty {
            try await connection.query(prepared: "UPDATE inspection.hazards SET overdue_at = \(now) WHERE hazard_id::text = ANY(\(ids)::text[])", logger: logger)
        }
        return emissions
    }

    /// The latest inspections, newest first.
    /// - Parameters:
    ///   - school: Only this school's, when given.
    ///   - since: Only those inspected at or after this time, when given.
    ///   - until: Only those inspected before this time, when given.
    ///   - limit: At most this many.
    func inspections(school: String?, since: Date? = nil, until: Date? = nil, limit: Int = 500) async throws -> [Summary] {
        let rows = try await database.query("""
            SELECT inspection_id, school_code, kind, unit, inspected_at, passed, failed FROM inspection.inspections
            WHERE (\(school)::text IS NULL OR school_code = \(school)) AND (\(since)::timestamptz IS NULL OR inspected_at >= \(since))
              AND (\(until)::timestamptz IS NULL OR inspected_at < \(until))
            ORDER BY inspected_at DESC LIMIT \(limit)
            """, logger: database.logger)
        var inspections: [Summary] = []
        for try await (id, school, kind, unit, at, passed, failed) in rows.decode((String, String, String, String, Date, Int, Int).self) {
            inspections.append(Summary(inspectionId: id, schoolCode: school, kind: kind, unit: unit, inspectedAt: at, passed: passed, failed: failed))
        }
        return inspections
    }

    /// Up to 1000 hazards in a state, soonest deadline first.
    /// - Parameters:
    ///   - school: Only this school's, when given.
    ///   - unit: Only those this unit rectifies, when given.
    ///   - state: Open, late or all.
    ///   - now: The time deadlines are measured against.
    func hazards(school: String?, unit: String?, state: HazardState, now: Date) async throws -> [Hazard] {
        let rows = try await database.query("""
            SELECT hazard_id::text, school_code, item, severity, unit, due_at, reported_at, closed_at FROM inspection.hazards
            WHERE (\(school)::text IS NULL OR school_code = \(school)) AND (\(unit)::text IS NULL OR unit = \(unit))
              AND (\(state.rawValue) = 'all' OR (closed_at IS NULL AND (\(state.rawValue) = 'open' OR due_at < \(now))))
            ORDER BY due_at LIMIT 1000
            """, logger: database.logger)
        var hazards: [Hazard] = []
        for try await (id, school, item, severity, unit, due, reported, closed) in rows.decode((String, String, String, String, String, Date, Date, Date?).self) {
            hazards.append(Hazard(
                hazardID: id, schoolCode: school, item: item, severity: severity, unit: unit, dueAt: due, reportedAt: reported, closedAt: closed,
                late: closed.map { $0 > due } ?? (due < now)))
        }
        return hazards
    }

    /// The checklist, by item.
    func checklist() async throws -> [ChecklistItem] {
        let rows = try await database.query("SELECT item, severity, rectify_days, unit FROM inspection.checklist ORDER BY item", logger: database.logger)
        var items: [ChecklistItem] = []
        for try await (item, severity, days, unit) in rows.decode((String, String, Int, String).self) {
            items.append(ChecklistItem(item: item, severity: severity, rectifyDays: days, unit: unit))
        }
        return items
    }

    /// Sets a checklist item's severity, deadline and responsible unit, in one transaction with `audit`.
    /// Hazards found from then on follow it; those already open keep theirs.
    /// - Parameters:
    ///   - item: The item, from the path.
    ///   - settings: Its severity, days to rectify and unit (its own `item` is not used).
    ///   - audit: Writes the audit entry on the transaction.
    func saveChecklistItem(
        _ item: String, _ settings: ChecklistItem, audit: (PostgresConnection) async throws -> Void
    ) async throws {
        try await database.withTransaction { connection in
            try await connection.query(prepared: """
                INSERT INTO inspection.checklist (item, severity, rectify_days, unit) VALUES (\(item), \(settings.severity), \(settings.rectifyDays), \(settings.unit))
                ON CONFLICT (item) DO UPDATE SET severity = EXCLUDED.severity, rectify_days = EXCLUDED.rectify_days, unit = EXCLUDED.unit
                """, logger: database.logger)
            try await audit(connection)
        }
    }
}
