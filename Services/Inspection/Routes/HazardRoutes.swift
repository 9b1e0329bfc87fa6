import Foundation
import Hummingbird
import ServiceKit

/// Hazards, soonest deadline first: open ones (the default), those open past their deadline, or all.
/// Any valid token reads them.
///
///     GET /v1/hazards?school=&unit=&state=open|late|all
struct HazardRoutes {
    let inspections: InspectionStore
    let clock: any WallClock

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self).get(use: list)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let query = request.uri.queryParameters
        let school = query["school"].map(String.init), unit = query["unit"].map(String.init)
        guard let state = InspectionStore.HazardState(rawValue: query["state"].map(String.init) ?? "open") else {
            throw HTTPError(.badRequest, message: "state is open, late or all")
        }
        return try JSONResponse.make(try await inspections.hazards(school: school, unit: unit, state: state, now: clock.now()))
    }
}
