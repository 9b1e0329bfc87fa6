import Foundation
import Hummingbird
import ServiceKit

/// Subjects by tier, ledger, school and district. Counts only.
///
///     GET /v1/stats     (the task force, operators)
struct StatisticsRoutes {
    let subjects: SubjectStore

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .add(middleware: RolePolicy(.taskForce, .operator, otherwise: "the task force and operators only"))
            .get(use: statistics)
    }

    @Sendable func statistics(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        return try JSONResponse.make(try await subjects.statistics())
    }
}
