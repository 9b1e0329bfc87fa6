import Foundation
import Hummingbird
import ServiceKit

/// How much of a screening batch was applied: rows applied, positive, left out.
///
///     GET /v1/screenings/{intakeId}     (the agency that sent the batch — by the receipt's reportId — and the task force)
struct ScreeningRoutes {
    let screenings: ScreeningStore

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self).get(":id", use: screening)
    }

    @Sendable func screening(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let id = try context.parameters.require("id")
        guard let (agency, screening) = try await screenings.screening(id) else {
            throw HTTPError(.notFound, message: "no screening \(id) applied (yet)")
        }
        try SubjectPolicy.requireScreening(identity, sentBy: agency)
        return try JSONResponse.make(screening)
    }
}
