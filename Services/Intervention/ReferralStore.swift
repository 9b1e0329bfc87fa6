import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// Referrals to other bodies (`intervention.referrals`: 110, 12345, specialised school, judicial and social aid),
/// tracked to their outcome.
struct ReferralStore: Sendable {
    let database: Database
    let configuration: InterventionConfiguration
    var logger: Logger { database.logger }
    var cases: CaseStore { CaseStore(database: database, configuration: configuration) }
    var tasks: TaskStore { TaskStore(database: database, configuration: configuration) }

    /// Starts tracking a referral to its outcome (idempotent on its id).
    func openReferral(
        id: String, kind: ReferralKind, caseID: String?, taskID: String?, subjectID: String?, fromAgency: String, urgent: Bool,
        fromIntakeID: String? = nil, fromEventType: String? = nil, by actor: CaseStore.Actor, at now: Date, on connection: PostgresConnection
    ) async throws {
        let rows = try await connection.query(prepared: """
            INSERT INTO intervention.referrals (referral_id, kind, case_id, task_id, subject_id, from_agency, urgent, requested_at,
                                                from_intake_id, from_event_type)
            VALUES (\(id), \(kind.rawValue), \(caseID)::uuid, \(taskID)::uuid, \(subjectID), \(fromAgency), \(urgent), \(now),
                    \(fromIntakeID), \(fromEventType))
            ON CONFLICT (referral_id) DO NOTHING RETURNING 1
            """, logger: logger)
        var inserted = false
        for try await _ in rows { inserted = true }
        if inserted, let caseID {
            try await cases.chronicle(caseID, "referral", "\(kind.rawValue) requested\(urgent ? ", urgent" : "")", by: actor, at: now, on: connection)
        }
    }

    /// Records a referral's outcome; a referral made by a plan's measure completes its task.
    func resolveReferral(
        id: String, outcome: String, note: String?, by agency: String, actor: CaseStore.Actor, at now: Date, on connection: PostgresConnection
    ) async throws -> [Emission] {
        let rows = try await connection.query(prepared: """
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
        try await connection.query(prepared: """
            UPDATE intervention.referrals SET status = 'resolved', outcome = \(outcome), note = \(note), resolved_at = \(now), resolved_by = \(agency)
            WHERE referral_id = \(id)
            """, logger: logger)
        var emissions = [Emission(ReferralResolvedV1(
            referralID: id, kind: kind.rawValue, outcome: outcome, caseID: caseID, subjectID: subjectID, by: agency, at: now), subject: caseID ?? id)]
        if let caseID {
            try await cases.chronicle(caseID, "referral_resolved", "\(kind.rawValue): \(outcome)", by: actor, at: now, on: connection)
        }
        if let taskID {
            let task = try await connection.query(prepared: "SELECT status FROM intervention.tasks WHERE task_id::text = \(taskID)", logger: logger)
            var open = false
            for try await status in task.decode(String.self) { open = TaskStatus(rawValue: status)?.isOpen ?? false }
            if open {
                emissions += try await tasks.update(
                    taskID: taskID, unit: nil, status: .completed, note: "referral outcome: \(outcome)", reason: nil, by: actor, at: now, on: connection)
            }
        }
        return emissions
    }

    /// Referrals in cases that are not sealed, oldest first (at most 500).
    /// - Parameters:
    ///   - status: Only in this status (`open`, `resolved`).
    ///   - kind: Only to this target.
    func list(status: String?, kind: String?) async throws -> [Referral] {
            let rows = try await database.query("""
                SELECT r.referral_id, r.kind, r.status, r.outcome, r.case_id::text, r.subject_id, r.from_agency, r.urgent, r.requested_at, r.resolved_at,
                       r.from_intake_id, r.from_event_type
                FROM intervention.referrals r LEFT JOIN intervention.cases c USING (case_id)
                WHERE (\(status)::text IS NULL OR r.status = \(status)) AND (\(kind)::text IS NULL OR r.kind = \(kind)) AND NOT coalesce(c.sealed, false)
                ORDER BY r.requested_at LIMIT 500
                """)
            var referrals: [Referral] = []
            for try await (id, kind, status, outcome, caseID, subject, from, urgent, requested, resolved, intakeID, eventType)
                in rows.decode((String, String, String, String?, String?, String?, String, Bool, Date, Date?, String?, String?).self) {
                referrals.append(Referral(
                    referralID: id, target: kind, kind: kind, fromIntakeID: intakeID, fromEventType: eventType, status: status, outcome: outcome,
                    caseID: caseID, subjectID: subject, fromAgency: from, urgent: urgent, requestedAt: requested, resolvedAt: resolved))
            }
        return referrals
    }

    /// Whether the referral was made by a task of one of these units.
    func wasMade(byTaskOf units: [String], referralID: String) async throws -> Bool {
        let rows = try await database.query("""
            SELECT 1 FROM intervention.referrals r JOIN intervention.tasks t USING (task_id) WHERE r.referral_id = \(referralID) AND t.unit = ANY(\(units)::text[])
            """)
        for try await _ in rows { return true }
        return false
    }

    struct Referral: Codable {
        var referralID: String
        /// Where it was referred, in the words of `referral.requested.v1` (`police_110`, `city_12345`) and of the
        /// plan's measures (`specialised_school`, `judicial_aid`, `social_aid`).
        var target: String
        /// The same as `target`; kept for readers of the first version of this list.
        var kind: String
        /// Intake's id of the call or report that asked for it (`intakeId`, the receipt's `reportId`), and its type.
        var fromIntakeID: String?
        var fromEventType: String?
        var status: String
        var outcome: String?
        var caseID: String?
        var subjectID: String?
        var fromAgency: String
        var urgent: Bool
        var requestedAt: Date
        var resolvedAt: Date?
        enum CodingKeys: String, CodingKey {
            case referralID = "referralId", target, kind, fromIntakeID = "fromIntakeId", fromEventType, status, outcome, caseID = "caseId",
                 subjectID = "subjectId", fromAgency, urgent, requestedAt, resolvedAt
        }
    }
}
