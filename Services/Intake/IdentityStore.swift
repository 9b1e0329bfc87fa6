import Contracts
import Foundation
import Logging
import PostgresNIO
import Storage

/// Who the subjects are to intake: the identifiers registry (`intake.identifiers`), the identities agencies
/// gave for each subject, sealed (`intake.subject_links`), and the candidate matches the task force decides
/// (`intake.match_candidates`).
struct IdentityStore: Sendable {
    let database: Database

    /// One identity an agency gave for a subject, still sealed.
    struct Link: Sendable {
        var intakeID: String
        var agency: String
        var eventType: String
        var role: String
        var matchKind: String
        var receivedAt: Date
        var sealedIdentity: [UInt8]?
    }

    /// A candidate match of two subjects.
    struct Match: Codable, Sendable {
        var id: Int64
        var subjectID: String
        var otherSubjectID: String
        var basis: String
        var intakeID: String
        var foundAt: Date
        var decision: String?
        var decidedAt: Date?
        enum CodingKeys: String, CodingKey {
            case id, subjectID = "subjectId", otherSubjectID = "otherSubjectId", basis, intakeID = "intakeId", foundAt, decision, decidedAt
        }
    }

    /// Which matches to list.
    enum MatchState: String, Sendable { case open, decided, all }

    /// The task force's decision on a match.
    enum Decision: Sendable, Equatable {
        /// One minor: keep `keep`, the other subject's identifiers resolve to it from now on.
        case same(keep: String)
        case different

        var name: String {
            switch self {
            case .same: "same"
            case .different: "different"
            }
        }
    }

    /// Resolves the identifiers of everyone an event names, in one query.
    /// - Parameters:
    ///   - named: Each person's identifiers.
    ///   - connection: The handler's transaction.
    static func resolve(_ named: [IdentifierKeys], on connection: PostgresConnection, logger: Logger) async throws -> IdentifierRegistry.Resolution {
        IdentifierRegistry.plan(named, known: try await known(named, on: connection, logger: logger))
    }

    /// The subjects the registry knows of these people's identifiers, in one query: key → subject.
    /// - Parameters:
    ///   - named: Each person's identifiers (of one event, or of a batch's).
    ///   - connection: The handler's transaction.
    static func known(_ named: [IdentifierKeys], on connection: PostgresConnection, logger: Logger) async throws -> [String: String] {
        let keys = Array(Set(named.flatMap { [$0.identity, $0.student, $0.candidate].compactMap { $0 } }))
        var known: [String: String] = [:]
        if !keys.isEmpty {
            let rows = try await connection.query(prepared: 
                "SELECT key, subject_id FROM intake.identifiers WHERE key = ANY(\(keys)::text[])", logger: logger)
            for try await (key, subject) in rows.decode((String, String).self) { known[key] = subject }
        }
        return known
    }

    /// The latest 200 identities agencies gave for a subject, newest first.
    func links(of subjectID: String) async throws -> [Link] {
        let rows = try await database.query("""
            SELECT l.intake_id::text, a.agency, a.event_type, l.role, l.match_kind, a.received_at, l.identity
            FROM intake.subject_links l JOIN intake.accepted a USING (intake_id)
            WHERE l.subject_id = \(subjectID)
            ORDER BY a.received_at DESC
            LIMIT 200
            """)
        var links: [Link] = []
        for try await (intakeID, agency, type, role, kind, at, sealed) in rows.decode((String, String, String, String, String, Date, ByteBuffer?).self) {
            links.append(Link(intakeID: intakeID, agency: agency, eventType: type, role: role, matchKind: kind, receivedAt: at,
                              sealedIdentity: sealed.map { Array(buffer: $0) }))
        }
        return links
    }

    /// The latest 500 candidate matches in a state, newest first.
    func matches(_ state: MatchState) async throws -> [Match] {
        let rows = try await database.query("""
            SELECT id, subject_id, other_subject_id, basis, intake_id::text, found_at, decision, decided_at FROM intake.match_candidates
            WHERE \(state.rawValue) = 'all' OR (\(state.rawValue) = 'open') = (decision IS NULL)
            ORDER BY id DESC LIMIT 500
            """)
        var matches: [Match] = []
        for try await (id, subject, other, basis, intakeID, found, decision, decided)
            in rows.decode((Int64, String, String, String, String, Date, String?, Date?).self) {
            matches.append(Match(
                id: id, subjectID: subject, otherSubjectID: other, basis: basis, intakeID: intakeID, foundAt: found,
                decision: decision, decidedAt: decided))
        }
        return matches
    }

    /// What deciding a match can fail on.
    enum DecisionProblem: Error, Equatable {
        case noOpenMatch
        /// The subject to keep is neither of the pair.
        case keepNeither(String, String)
    }

    /// Decides an open match in one transaction, with `audit` (the audit entry) in it.
    /// - Parameters:
    ///   - id: The match.
    ///   - decision: Same (keeping one subject) or different.
    ///   - decidedBy: Who decided.
    ///   - reason: Why, as they said.
    ///   - audit: Writes the audit entry on the transaction.
    func decide(
        _ id: Int64, _ decision: Decision, decidedBy: String, reason: String,
        audit: (PostgresConnection) async throws -> Void
    ) async throws {
        try await database.withTransaction { connection in
            let rows = try await connection.query(prepared: """
                SELECT subject_id, other_subject_id FROM intake.match_candidates WHERE id = \(id) AND decision IS NULL FOR UPDATE
                """, logger: database.logger)
            var pair: (String, String)?
            for try await row in rows.decode((String, String).self) { pair = row }
            guard let (a, b) = pair else { throw DecisionProblem.noOpenMatch }
            if case .same(let keep) = decision {
                guard keep == a || keep == b else { throw DecisionProblem.keepNeither(a, b) }
                let other = keep == a ? b : a
                try await connection.query(prepared: 
                    "UPDATE intake.identifiers SET subject_id = \(keep) WHERE subject_id = \(other)", logger: database.logger)
            }
            try await connection.query(prepared: """
                UPDATE intake.match_candidates SET decision = \(decision.name), decided_by = \(decidedBy), decided_at = now(),
                       reason = \(reason)
                WHERE id = \(id)
                """, logger: database.logger)
            try await audit(connection)
        }
    }
}
