import Contracts
import Foundation
import Hummingbird
import ServiceKit

/// What reached Huhang over a period, for the task force and operators: accepted events by type,
/// incident reports by the channel they came through (QR code, 110 mailbox, hotline, patrol, walk-in…),
/// refusals by kind, and candidate matches waiting for the task force. Counts only; no one is named.
///
///     GET /v1/stats?since=2026-11-01&until=2026-12-01     (roles task-force, operator; default the last 30 days)
struct StatisticsRoutes {
    let events: EventStore
    let clock: any WallClock

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .add(middleware: RolePolicy(.taskForce, .operator, otherwise: "the task force and operators only"))
            .get(use: statistics)
    }

    @Sendable func statistics(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let until = try QueryValues.day(query["until"].map(String.init), field: "until") ?? clock.now()
        let since = try QueryValues.day(query["since"].map(String.init), field: "since") ?? until.addingTimeInterval(-30 * 86_400)
        guard since < until else { throw HTTPError(.badRequest, message: "since must be before until") }
        return try JSONResponse.make(try await events.statistics(since: since, until: until))
    }
}
