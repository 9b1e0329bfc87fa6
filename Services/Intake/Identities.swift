import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO
import ServiceKit
import Storage

/// What agencies said about a subject's identity, for the district task force
/// confirming a candidate match (name + birth date + school is recorded, never
/// merged by itself). Each read states its reason and is audited.
///
///     GET /v1/subjects/{id}/identities?reason=<why>     (role task-force)
enum IdentityRoutes {
    struct Entry: Encodable {
        var intakeID: String
        var agency: String
        var eventType: String
        var role: String
        var matchKind: String
        var receivedAt: Date
        var identity: KeptIdentity?

        enum CodingKeys: String, CodingKey {
            case intakeID = "intakeId", agency, eventType, role, matchKind, receivedAt, identity
        }
    }

    struct Answer: Encodable {
        var subjectID: String
        var entries: [Entry]
        enum CodingKeys: String, CodingKey { case subjectID = "subjectId", entries }
    }

    static func add(to v1: RouterGroup<HuhangRequestContext>, database: Database, cipher: PersonalDataCipher) {
        v1.get("subjects/:id/identities") { request, context in
            let identity = try context.requireIdentity()
            guard identity.role == "task-force" else {
                throw HTTPError(.forbidden, message: "identities are shown to the district task force only")
            }
            let subjectID = try context.parameters.require("id")
            guard let reason = request.uri.queryParameters["reason"].map(String.init), !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw HTTPError(.badRequest, message: "state why in the reason query parameter; it is kept in the audit trail")
            }
            try await Audit.record(identity, action: "read", resource: "subject/\(subjectID)/identities", reason: String(reason.prefix(500)), in: database)
            let rows = try await database.query("""
                SELECT l.intake_id::text, a.agency, a.event_type, l.role, l.match_kind, a.received_at, l.identity
                FROM intake.subject_links l JOIN intake.accepted a USING (intake_id)
                WHERE l.subject_id = \(subjectID)
                ORDER BY a.received_at DESC
                LIMIT 200
                """, logger: database.logger)
            var entries: [Entry] = []
            for try await (intakeID, agency, type, role, kind, at, sealed) in rows.decode((String, String, String, String, String, Date, ByteBuffer?).self) {
                let kept = try sealed.map { try cipher.open(KeptIdentity.self, from: Array(buffer: $0)) }
                entries.append(Entry(intakeID: intakeID, agency: agency, eventType: type, role: role, matchKind: kind, receivedAt: at, identity: kept))
            }
            guard !entries.isEmpty else { throw HTTPError(.notFound, message: "no subject \(subjectID)") }
            return try JSONResponse.make(Answer(subjectID: subjectID, entries: entries))
        }
    }
}

/// Candidate matches: two subjects that may be one minor (``IdentifierRegistry``), for the district task
/// force to decide. Deciding `same` makes every identifier of the other subject resolve to the one kept,
/// from the next event on; what the services already hold under the other id stays there (its records
/// name the match in the audit). Deciding `different` keeps them apart for good. Both are audited.
///
///     GET  /v1/matches?state=open|decided|all             (role task-force)
///     POST /v1/matches/{id}  {"decision":"same","keep":"s-…","reason":"…"}   or  {"decision":"different","reason":"…"}
enum MatchRoutes {
    struct Match: Codable {
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

    struct Decision: Codable {
        var decision: String
        var keep: String?
        var reason: String
    }

    static func add(to v1: RouterGroup<HuhangRequestContext>, database: Database) {
        v1.get("matches") { request, context in
            let identity = try context.requireIdentity()
            guard identity.role == "task-force" else { throw HTTPError(.forbidden, message: "candidate matches are decided by the district task force") }
            let state = request.uri.queryParameters["state"].map(String.init) ?? "open"
            guard ["open", "decided", "all"].contains(state) else { throw HTTPError(.badRequest, message: "state is open, decided or all") }
            let rows = try await database.query("""
                SELECT id, subject_id, other_subject_id, basis, intake_id::text, found_at, decision, decided_at FROM intake.match_candidates
                WHERE \(state) = 'all' OR (\(state) = 'open') = (decision IS NULL)
                ORDER BY id DESC LIMIT 500
                """, logger: database.logger)
            var matches: [Match] = []
            for try await (id, subject, other, basis, intakeID, found, decision, decided)
                in rows.decode((Int64, String, String, String, String, Date, String?, Date?).self) {
                matches.append(Match(
                    id: id, subjectID: subject, otherSubjectID: other, basis: basis, intakeID: intakeID, foundAt: found,
                    decision: decision, decidedAt: decided))
            }
            return try JSONResponse.make(matches)
        }
        v1.post("matches/:id") { request, context in
            let identity = try context.requireIdentity()
            guard identity.role == "task-force" else { throw HTTPError(.forbidden, message: "candidate matches are decided by the district task force") }
            guard let id = Int64(try context.parameters.require("id")) else { throw HTTPError(.badRequest, message: "a match id is a number") }
            let body = try await request.decodeJSON(Decision.self)
            guard ["same", "different"].contains(body.decision) else {
                throw HTTPError(.badRequest, message: "/decision: is same or different")
            }
            let reason = body.reason.trimmingCharacters(in: .whitespaces)
            guard !reason.isEmpty else { throw HTTPError(.badRequest, message: "/reason: state why; it is kept in the audit trail") }
            try await database.withTransaction { connection in
                let rows = try await connection.query("""
                    SELECT subject_id, other_subject_id FROM intake.match_candidates WHERE id = \(id) AND decision IS NULL FOR UPDATE
                    """, logger: database.logger)
                var pair: (String, String)?
                for try await row in rows.decode((String, String).self) { pair = row }
                guard let (a, b) = pair else { throw HTTPError(.notFound, message: "no open candidate match \(id)") }
                if body.decision == "same" {
                    guard let keep = body.keep, keep == a || keep == b else {
                        throw HTTPError(.badRequest, message: "/keep: name the subject to keep, \(a) or \(b)")
                    }
                    let other = keep == a ? b : a
                    try await connection.query(
                        "UPDATE intake.identifiers SET subject_id = \(keep) WHERE subject_id = \(other)", logger: database.logger)
                }
                try await connection.query("""
                    UPDATE intake.match_candidates SET decision = \(body.decision), decided_by = \(identity.agency), decided_at = now(),
                           reason = \(String(reason.prefix(500)))
                    WHERE id = \(id)
                    """, logger: database.logger)
            }
            try await Audit.record(identity, action: "match-\(body.decision)", resource: "match/\(id)", reason: String(reason.prefix(500)), in: database)
            return Response(status: .noContent)
        }
    }
}
