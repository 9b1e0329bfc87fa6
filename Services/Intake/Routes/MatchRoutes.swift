import Foundation
import Hummingbird
import ServiceKit
import Storage

/// Candidate matches: two subjects that may be one minor (``IdentifierRegistry``), for the district task
/// force to decide. Deciding `same` makes every identifier of the other subject resolve to the one kept,
/// from the next event on; what the services already hold under the other id stays there (its records
/// name the match in the audit). Deciding `different` keeps them apart for good. Both are audited.
///
///     GET  /v1/matches?state=open|decided|all             (role task-force)
///     POST /v1/matches/{id}  {"decision":"same","keep":"s-…","reason":"…"}   or  {"decision":"different","reason":"…"}
struct MatchRoutes {
    let identities: IdentityStore
    let database: Database

    struct DecisionBody: Codable {
        var decision: String
        var keep: String?
        var reason: String
    }

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .add(middleware: RolePolicy(.taskForce, otherwise: "candidate matches are decided by the district task force"))
            .get(use: list)
            .post(":id", use: decide)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        guard let state = IdentityStore.MatchState(rawValue: request.uri.queryParameters["state"].map(String.init) ?? "open") else {
            throw HTTPError(.badRequest, message: "state is open, decided or all")
        }
        return try JSONResponse.make(try await identities.matches(state))
    }

    @Sendable func decide(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard let id = Int64(try context.parameters.require("id")) else { throw HTTPError(.badRequest, message: "a match id is a number") }
        let body = try await request.decodeJSON(DecisionBody.self)
        let decision: IdentityStore.Decision
        switch body.decision {
        case "same":
            guard let keep = body.keep else { throw HTTPError(.badRequest, message: "/keep: name the subject to keep") }
            decision = .same(keep: keep)
        case "different": decision = .different
        default: throw HTTPError(.badRequest, message: "/decision: is same or different")
        }
        let reason = String(body.reason.trimmingCharacters(in: .whitespaces).prefix(500))
        guard !reason.isEmpty else { throw HTTPError(.badRequest, message: "/reason: state why; it is kept in the audit trail") }
        do {
            try await identities.decide(id, decision, decidedBy: identity.agency, reason: reason) { connection in
                try await Audit.record(identity, action: "match-\(decision.name)", resource: "match/\(id)", reason: reason, on: connection, in: database)
            }
        } catch IdentityStore.DecisionProblem.noOpenMatch {
            throw HTTPError(.notFound, message: "no open candidate match \(id)")
        } catch IdentityStore.DecisionProblem.keepNeither(let a, let b) {
            throw HTTPError(.badRequest, message: "/keep: name the subject to keep, \(a) or \(b)")
        }
        return Response(status: .noContent)
    }
}
