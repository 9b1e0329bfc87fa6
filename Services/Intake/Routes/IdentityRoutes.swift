import Foundation
import Hummingbird
import ServiceKit
import Storage

/// What agencies said about a subject's identity, for the district task force
/// confirming a candidate match (name + birth date + school is recorded, never
/// merged by itself). Each read states its reason and is audited.
///
///     GET /v1/subjects/{id}/identities?reason=<why>     (role task-force)
struct IdentityRoutes {
    let identities: IdentityStore
    let cipher: PersonalDataCipher
    let database: Database

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

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .add(middleware: RolePolicy(.taskForce, otherwise: "identities are shown to the district task force only"))
            .get(":id/identities", use: identitiesOfSubject)
    }

    @Sendable func identitiesOfSubject(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let subjectID = try context.parameters.require("id")
        guard let reason = request.uri.queryParameters["reason"].map(String.init), !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw HTTPError(.badRequest, message: "state why in the reason query parameter; it is kept in the audit trail")
        }
        try await Audit.record(identity, action: "read", resource: "subject/\(subjectID)/identities", reason: String(reason.prefix(500)), in: database)
        let entries = try await identities.links(of: subjectID).map { link in
            Entry(intakeID: link.intakeID, agency: link.agency, eventType: link.eventType, role: link.role, matchKind: link.matchKind,
                  receivedAt: link.receivedAt, identity: try link.sealedIdentity.map { try cipher.open(KeptIdentity.self, from: $0) })
        }
        guard !entries.isEmpty else { throw HTTPError(.notFound, message: "no subject \(subjectID)") }
        return try JSONResponse.make(Answer(subjectID: subjectID, entries: entries))
    }
}
