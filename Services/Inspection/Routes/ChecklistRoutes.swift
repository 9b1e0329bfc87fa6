import Contracts
import Foundation
import Hummingbird
import ServiceKit
import Storage

/// The checklist: each item's severity, days to rectify and responsible unit. Any valid token reads it;
/// the task force and operators change it, which is audited.
///
///     GET /v1/checklist
///     PUT /v1/checklist/{item}  {"item":"…","severity":"major","rectifyDays":7,"unit":"fire-{district}"}   (roles task-force, operator)
struct ChecklistRoutes {
    let inspections: InspectionStore
    let database: Database

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .get(use: list)
            .put(":item", use: save)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        return try JSONResponse.make(try await inspections.checklist())
    }

    @Sendable func save(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try InspectionPolicy.manage(identity)
        let item = try context.parameters.require("item")
        guard InspectionReportV1.Item(rawValue: item) != nil else { throw HTTPError(.notFound, message: "no checklist item \(item)") }
        let body = try await request.decodeJSON(ChecklistItem.self)
        guard body.isValid else {
            throw HTTPError(.badRequest, message: "severity is minor, major or critical; rectifyDays positive; unit e.g. {school} or fire-{district}")
        }
        try await inspections.saveChecklistItem(item, body) { connection in
            try await Audit.record(identity, action: "checklist", resource: "checklist/\(item)", on: connection, in: database)
        }
        return Response(status: .noContent)
    }
}
