import Foundation
import Hummingbird
import ServiceKit

/// Venues where minors were found, and their findings. Any valid token reads them.
///
///     GET /v1/venues?flagged=true
struct VenueRoutes {
    let venues: VenueStore

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self).get(use: list)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let flagged = request.uri.queryParameters["flagged"] == "true"
        return try JSONResponse.make(try await venues.venues(flaggedOnly: flagged))
    }
}
