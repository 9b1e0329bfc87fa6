import Foundation
import Hummingbird
import ServiceKit

/// The share of schools with each safeguard: one-key alarm linked to 110, police officer, legal
/// vice-principal, staffed guard post. Any valid token reads it.
///
///     GET /v1/coverage
struct CoverageRoutes {
    let schools: SchoolStore

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self).get(use: coverage)
    }

    @Sendable func coverage(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        return try JSONResponse.make(try await schools.coverage())
    }
}
