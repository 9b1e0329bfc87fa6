import Contracts
import Foundation
import Logging
import PostgresNIO
import Storage

/// The care teams notification may tell of a case (`notification.care_team_cases`, `notification.care_teams`):
/// the newest announcement wins; a closed case's contacts are forgotten.
struct CareTeamStore: Sendable {
    /// Keeps a team as announced, unless a newer announcement or the case's closing was already applied.
    /// - Parameters:
    ///   - team: The announcement.
    ///   - sealed: Each member's contact, sealed, in the order of `team.members`.
    ///   - connection: The handler's transaction.
    static func apply(_ team: CareTeamChangedV1, sealed: [[UInt8]], on connection: PostgresConnection, logger: Logger) async throws {
        let newer = try await connection.query(prepared: """
            INSERT INTO notification.care_team_cases (case_id, changed_at, closed) VALUES (\(team.caseID), \(team.at), false)
            ON CONFLICT (case_id) DO UPDATE SET changed_at = excluded.changed_at, closed = false
            WHERE notification.care_team_cases.changed_at < excluded.changed_at
            RETURNING 1
            """, logger: logger)
        var applies = false
        for try await _ in newer { applies = true }
        guard applies else { return }
        try await connection.query(prepared: "DELETE FROM notification.care_teams WHERE case_id = \(team.caseID)", logger: logger)
        try await connection.query(prepared: """
            INSERT INTO notification.care_teams (case_id, role, unit, contact)
            SELECT \(team.caseID), r, nullif(u, ''), c FROM unnest(\(team.members.map(\.role.rawValue))::text[], \(team.members.map { $0.unit ?? "" })::text[],
                                                   \(sealed.map { ByteBuffer(bytes: $0) })::bytea[]) AS t(r, u, c)
            """, logger: logger)
    }

    /// Forgets a closed case's contacts; an announcement older than the closing is then ignored.
    /// - Parameters:
    ///   - caseID: The case.
    ///   - at: When it closed.
    ///   - connection: The handler's transaction.
    static func forget(caseID: String, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let closing = try await connection.query(prepared: """
            INSERT INTO notification.care_team_cases (case_id, changed_at, closed) VALUES (\(caseID), \(at), true)
            ON CONFLICT (case_id) DO UPDATE SET changed_at = excluded.changed_at, closed = true
            WHERE notification.care_team_cases.changed_at < excluded.changed_at
            RETURNING 1
            """, logger: logger)
        for try await _ in closing {
            try await connection.query(prepared: "DELETE FROM notification.care_teams WHERE case_id = \(caseID)", logger: logger)
        }
    }
}
