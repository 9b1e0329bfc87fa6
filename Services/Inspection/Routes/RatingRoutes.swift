import Contracts
import Foundation
import Hummingbird
import ServiceKit
import Storage

/// The quarterly school safety rating (``RatingRules``) and its bulletin (通报). Any valid token reads them;
/// the task force and operators compute a quarter's ratings, which is audited.
///
///     POST /v1/ratings/{quarter}/compute             (roles task-force, operator)
///     GET  /v1/ratings/{quarter}?district=&order=code|attention&limit=&offset=
///     GET  /v1/ratings/{quarter}/bulletin?district=  (Markdown)
///     GET  /v1/ratings/{quarter}/trend?district=&quarters=6   (schools at each rating, quarter by quarter, up to this one)
struct RatingRoutes {
    let ratings: RatingStore
    let database: Database
    let originator: Originator
    let clock: any WallClock

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .post(":quarter/compute", use: compute)
            .get(":quarter", use: list)
            .get(":quarter/bulletin", use: bulletin)
            .get(":quarter/trend", use: trend)
    }

    @Sendable func compute(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try InspectionPolicy.manage(identity)
        let quarter = try context.parameters.require("quarter")
        guard Quarter.bounds(quarter) != nil else { throw HTTPError(.badRequest, message: "quarter is YYYY-Qn, e.g. 2026-Q4") }
        let (rated, changed) = try await ratings.compute(quarter, at: clock.now()) { emissions, connection in
            try await originator.write(emissions, on: connection)
            try await Audit.record(identity, action: "compute-rating", resource: "rating/\(quarter)", on: connection, in: database)
        }
        return try JSONResponse.make(["quarter": "\(quarter)", "schools": "\(rated)", "changed": "\(changed)"])
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let query = request.uri.queryParameters
        let district = query["district"].map(String.init)
        let order = query["order"].map(String.init) ?? "code"
        guard ["code", "attention"].contains(order) else { throw HTTPError(.badRequest, message: "order is code or attention") }
        let limit = query["limit"].flatMap { Int($0) }.map { min(max($0, 1), 5000) }
        let offset = max(query["offset"].flatMap { Int($0) } ?? 0, 0)
        let quarter = try context.parameters.require("quarter")
        guard Quarter.bounds(quarter) != nil else { throw HTTPError(.badRequest, message: "quarter is YYYY-Qn, e.g. 2026-Q4") }
        return try JSONResponse.make(try await ratings.ratings(quarter, district: district, attention: order == "attention", limit: limit, offset: offset))
    }

    @Sendable func bulletin(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let quarter = try context.parameters.require("quarter")
        let district = request.uri.queryParameters["district"].map(String.init)
        let text = Bulletin.markdown(quarter: quarter, district: district, ratings: try await rated(quarter, district: district))
        return Response(
            status: .ok, headers: [.contentType: "text/markdown; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    @Sendable func trend(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let quarter = try context.parameters.require("quarter")
        guard Quarter.bounds(quarter) != nil else { throw HTTPError(.badRequest, message: "quarter is YYYY-Qn, e.g. 2026-Q4") }
        let query = request.uri.queryParameters
        let count = min(max(Int(query["quarters"].map(String.init) ?? "") ?? 6, 1), 12)
        let district = query["district"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        return try JSONResponse.make(try await ratings.trend(Quarter.recent(count, upTo: quarter), district: district))
    }

    /// A quarter's ratings; a quarter that is not `YYYY-Qn` is a bad request.
    func rated(_ quarter: String, district: String?) async throws -> [RatedSchool] {
        guard Quarter.bounds(quarter) != nil else { throw HTTPError(.badRequest, message: "quarter is YYYY-Qn, e.g. 2026-Q4") }
        return try await ratings.ratings(quarter, district: district)
    }
}
