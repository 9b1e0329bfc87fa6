import Foundation
import Hummingbird
import ServiceKit

/// Every delivery with how its sending went, for the task force and operators.
///
///     GET /v1/deliveries?event=&recipient=&status=pending|delivered|failed     (the task force, operators)
struct DeliveryRoutes {
    let deliveries: DeliveryStore

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .add(middleware: RolePolicy(.taskForce, .operator, otherwise: "the task force and operators only"))
            .get(use: list)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        return try JSONResponse.make(try await deliveries.list(
            event: query["event"].map(String.init), recipient: query["recipient"].map(String.init), status: query["status"].map(String.init)))
    }
}
