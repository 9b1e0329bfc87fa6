import Foundation
import Hummingbird
import ServiceKit

/// Inspections, newest first, with their counts of passed and failed items. Any valid token reads them.
///
///     GET /v1/inspections?school=&since=&until=&limit=    (since, until: a day or a time; limit 1…5000, default 500)
struct InspectionRoutes {
    let inspections: InspectionStore

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self).get(use: list)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let query = request.uri.queryParameters
        let school = query["school"].map(String.init)
        let since = try QueryValues.day(query["since"].map(String.init), field: "since")
        let until = try QueryValues.day(query["until"].map(String.init), field: "until")
        let limit = min(max(query["limit"].flatMap { Int($0) } ?? 500, 1), 5000)
        return try JSONResponse.make(try await inspections.inspections(school: school, since: since, until: until, limit: limit))
    }
}
