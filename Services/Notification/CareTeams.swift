import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// The care teams notification may tell of a case: roles, units and sealed
/// contacts from `careteam.changed.v1`, newest wins; forgotten when the case
/// closes (`case.closed.v1`), told again by intervention on reopening.
enum CareTeams {
    struct Member {
        var role: CareTeamChangedV1.Member.Role
        var contact: [UInt8]
    }

    /// A care-team member's recipient id: the case and the role, never the person.
    static func recipient(caseID: String, role: CareTeamChangedV1.Member.Role) -> String { "care-team:\(caseID):\(role.rawValue)" }

    /// The channel an opened contact is reached on, as the contract defines it.
    static func channel(of contact: [UInt8]) -> String? {
        CareTeamChangedV1.Member.channel(ofContact: String(decoding: contact, as: UTF8.self))
    }

    /// Keeps a team as announced, unless a newer announcement or the case's closing was already applied.
    static func apply(_ team: CareTeamChangedV1, cipher: PersonalDataCipher, on connection: PostgresConnection, logger: Logger) async throws -> HandlerResult {
        var sealed: [[UInt8]] = []
        for member in team.members {
            guard let bytes = Data(base64Encoded: member.contact).map(Array.init), (try? cipher.open(bytes)) != nil else {
                throw MessageRejection("the \(member.role.rawValue)'s contact is not sealed with a key this deployment holds")
            }
            sealed.append(bytes)
        }
        let newer = try await connection.query("""
            INSERT INTO notification.care_team_cases (case_id, changed_at, closed) VALUES (\(team.caseID), \(team.at), false)
            ON CONFLICT (case_id) DO UPDATE SET changed_at = excluded.changed_at, closed = false
            WHERE notification.care_team_cases.changed_at < excluded.changed_at
            RETURNING 1
            """, logger: logger)
        var applies = false
        for try await _ in newer { applies = true }
        guard applies else { return .applied }
        try await connection.query("DELETE FROM notification.care_teams WHERE case_id = \(team.caseID)", logger: logger)
        try await connection.query("""
            INSERT INTO notification.care_teams (case_id, role, unit, contact)
            SELECT \(team.caseID), r, nullif(u, ''), c FROM unnest(\(team.members.map(\.role.rawValue))::text[], \(team.members.map { $0.unit ?? "" })::text[],
                                                   \(sealed.map { ByteBuffer(bytes: $0) })::bytea[]) AS t(r, u, c)
            """, logger: logger)
        return .applied
    }

    /// Forgets a closed case's contacts; an announcement older than the closing is then ignored.
    static func forget(caseID: String, at: Date, on connection: PostgresConnection, logger: Logger) async throws -> HandlerResult {
        let closing = try await connection.query("""
            INSERT INTO notification.care_team_cases (case_id, changed_at, closed) VALUES (\(caseID), \(at), true)
            ON CONFLICT (case_id) DO UPDATE SET changed_at = excluded.changed_at, closed = true
            WHERE notification.care_team_cases.changed_at < excluded.changed_at
            RETURNING 1
            """, logger: logger)
        for try await _ in closing {
            try await connection.query("DELETE FROM notification.care_teams WHERE case_id = \(caseID)", logger: logger)
        }
        return .applied
    }

    /// The members of a case's team in the given roles.
    static func members(
        of caseID: String, roles: Set<CareTeamChangedV1.Member.Role>, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Member] {
        let rows = try await connection.query("""
            SELECT role, contact FROM notification.care_teams WHERE case_id = \(caseID) AND role = ANY(\(roles.map(\.rawValue))::text[]) ORDER BY role
            """, logger: logger)
        var members: [Member] = []
        for try await (role, contact) in rows.decode((String, ByteBuffer).self) {
            guard let role = CareTeamChangedV1.Member.Role(rawValue: role) else { continue }
            members.append(Member(role: role, contact: Array(buffer: contact)))
        }
        return members
    }
}
