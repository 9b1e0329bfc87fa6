import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import ServiceKit
import Storage

/// The daily loop in numbers, for the task force: a day, a period, day by day.
///
///     GET /v1/daily?date=                                   a day's summary
///     GET /v1/summary?period=day|week|month|quarter&date=   a period's summary
///     GET /v1/days?from=&to=                                the loop day by day (at most 92 days; the last 14 by default)
struct ReportRoutes: Sendable {
    let stores: InterventionStores
    let operations: CaseOperations
    let clock: any WallClock

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .add(middleware: RolePolicy(.taskForce, otherwise: "the district task force only"))
            .get("daily", use: daily)
            .get("days", use: days)
            .get("summary", use: summary)
    }

    @Sendable func daily(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let (start, end) = try period("day", request.uri.queryParameters["date"].map(String.init))
        return try JSONResponse.make(try await stores.reports.summary(from: start, to: end, now: clock.now()))
    }

    @Sendable func days(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let (_, end) = try period("day", query["to"].map(String.init))
        let (start, _) = try period("day", query["from"].map(String.init) ?? Periods.day(end.addingTimeInterval(-14 * 86400)))
        guard start < end, end.timeIntervalSince(start) <= 92 * 86400 + 3600 else {
            throw HTTPError(.badRequest, message: "from is before to, at most 92 days apart (YYYY-MM-DD, China Standard Time)")
        }
        return try JSONResponse.make(try await stores.reports.days(from: start, to: end, now: clock.now()))
    }

    @Sendable func summary(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let (start, end) = try period(query["period"].map(String.init) ?? "week", query["date"].map(String.init))
        return try JSONResponse.make(try await stores.reports.summary(from: start, to: end, now: clock.now()))
    }

    /// A period as `[start, end)`; a malformed one is answered 400.
    func period(_ kind: String, _ date: String?) throws -> (Date, Date) {
        do {
            return try Periods.period(kind, date, now: clock.now())
        } catch {
            throw HTTPError(.badRequest, message: error.message)
        }
    }
}
