import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import ServiceKit
import Storage

/// A unit's worklist, and who stands above a unit for stores.escalation.
///
///     GET /v1/units/{unit}/tasks?status=     (a status, or `open`) the unit; task force
///     PUT /v1/units/{unit}                   task force, operators: the unit's superior
struct UnitRoutes: Sendable {
    let stores: InterventionStores
    let operations: CaseOperations
    let clock: any WallClock
    var policy: CasePolicy { CasePolicy(stores: stores, clock: clock) }

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .get(":unit/tasks", use: tasks)
            .put(":unit", use: setSuperior)
    }

    @Sendable func tasks(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let unit = try context.parameters.require("unit")
        try policy.requireWorklist(identity, unit: unit)
        // `status=open`: still to do (assigned, accepted, in progress) — what a unit's worklist shows.
        let status = request.uri.queryParameters["status"].map(String.init)
        let statuses = status == "open" ? TaskStatus.openNames : status.map { [$0] }
        let tasks = try await stores.tasks.tasks(of: unit, statuses: statuses, now: clock.now())
        return try JSONResponse.make(tasks)
    }

    @Sendable func setSuperior(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try identity.require(.taskForce, .operator, otherwise: "the task force and operators only")
        let unit = try context.parameters.require("unit")
        let body = try await request.decodeJSON(UnitBody.self)
        try await stores.units.setSuperior(body.superior, of: unit)
        return Response(status: .noContent)
    }
}
