import Foundation
import Hummingbird
import ServiceKit

/// Inspections, newest first, with their counts of passed and failed items. Any valid token reads them.
///
///     GET /v1/inspections?school=
struct InspectionRoutes {
    let inspections: InspectionStore

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self).get(use: list)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let school = request.uri.queryParameters["school"].map(String.init)
        return try JSONResponse.make(try await inspections.inspections(school: school))
    }
}
