import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import ServiceKit
import Storage

/// Referrals to other bodies, tracked to their outcome.
///
///     GET  /v1/referrals?status=&target=        task force
///     POST /v1/referrals/{id}/outcome           task force; the unit whose task made the referral
struct ReferralRoutes: Sendable {
    let stores: InterventionStores
    let operations: CaseOperations
    let clock: any WallClock
    var policy: CasePolicy { CasePolicy(stores: stores, clock: clock) }

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .get(use: list)
            .post(":id/outcome", use: recordOutcome)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try CaseOperations.requireTaskForce(identity)
        let query = request.uri.queryParameters
        let status = query["status"].map(String.init), kind = (query["target"] ?? query["kind"]).map(String.init)
        let referrals = try await stores.referrals.list(status: status, kind: kind)
        return try JSONResponse.make(referrals)
    }

    @Sendable func recordOutcome(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let id = try context.parameters.require("id")
        try await policy.requireOutcome(identity, referralID: id)
        let outcome = try await request.decodeJSON(OutcomeBody.self)
        _ = try await operations.perform(CaseOperations.Audited(identity: identity, action: "referral-outcome", resource: "referral/\(id)", reason: outcome.outcome)) { connection in
            try await stores.referrals.resolveReferral(
                id: id, outcome: outcome.outcome, note: outcome.note, by: identity.unit, actor: .api(identity), at: clock.now(), on: connection)
        }
        return Response(status: .noContent)
    }
}
