import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import ServiceKit
import Storage

/// The units that answer a school's report of each incident category.
///
///     PUT /v1/departments/{category}     task force, operators; `{district}` stands for the school's district
struct DepartmentRoutes: Sendable {
    let stores: InterventionStores
    let operations: CaseOperations
    let clock: any WallClock

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .add(middleware: RolePolicy(.taskForce, .operator, otherwise: "the task force and operators only"))
            .put(":category", use: setDepartments)
    }

    @Sendable func setDepartments(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let category = try context.parameters.require("category")
        guard let known = IncidentCategory(rawValue: category) else { throw HTTPError(.notFound, message: "no incident category \(category)") }
        let units = try await request.decodeJSON(DepartmentsBody.self).units
        guard !units.isEmpty else { throw HTTPError(.badRequest, message: "name at least one unit; {district} stands for the school's district") }
        try await stores.units.setDepartments(units, for: known)
        return Response(status: .noContent)
    }
}
