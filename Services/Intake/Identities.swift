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
            let rows = try await database.client.query("""
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
