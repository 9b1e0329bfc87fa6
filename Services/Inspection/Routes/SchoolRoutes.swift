import Contracts
import Foundation
import Hummingbird
import ServiceKit
import Storage

/// The schools registry: who each school is, its police officer and legal vice-principal with their units,
/// its guard posts. Any valid token reads it; the task force, operators and the education bureau change it,
/// which tells the other services (`school.updated.v1`) and is audited.
///
///     GET /v1/schools?district=
///     GET /v1/schools/{code}           (with its rating history)
///     PUT /v1/schools/{code}           (roles task-force, operator, education)
struct SchoolRoutes {
    let schools: SchoolStore
    let ratings: RatingStore
    let database: Database
    let originator: Originator
    let clock: any WallClock

    /// One school with its rating in every quarter it was rated.
    struct Answer: Codable {
        var school: School
        var ratings: [[String: String]]
    }

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .get(use: list)
            .get(":code", use: show)
            .put(":code", use: save)
    }

    @Sendable func save(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try InspectionPolicy.manage(identity, also: [.education])
        let code = try context.parameters.require("code")
        let school = try await request.decodeJSON(School.self)
        if let type = school.type, !School.types.contains(type) {
            throw HTTPError(.badRequest, message: "type is kindergarten, primary, middle or vocational")
        }
        for (field, unit) in [("policeUnit", school.policeUnit), ("legalVicePrincipalUnit", school.legalVicePrincipalUnit)] {
            if let unit, unit.range(of: School.unitPattern, options: .regularExpression) == nil {
                throw HTTPError(.badRequest, message: "/\(field): is a unit code, e.g. psb-370102-lx")
            }
        }
        let district = school.district ?? (code.prefix(6).allSatisfy(\.isNumber) ? String(code.prefix(6)) : nil)
        try await schools.save(school, code: code, district: district) { connection in
            let updated = SchoolUpdatedV1(
                schoolCode: code, district: district, policeUnit: school.policeUnit, legalVicePrincipalUnit: school.legalVicePrincipalUnit,
                at: clock.now())
            try await originator.write([Emission(updated, subject: code)], on: connection)
            try await Audit.record(identity, action: "school", resource: "school/\(code)", on: connection, in: database)
        }
        return Response(status: .noContent)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let district = request.uri.queryParameters["district"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        return try JSONResponse.make(try await schools.schools(nil, district: district))
    }

    @Sendable func show(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let code = try context.parameters.require("code")
        guard let school = try await schools.schools(code).first else { throw HTTPError(.notFound, message: "no school \(code)") }
        return try JSONResponse.make(Answer(school: school, ratings: try await ratings.history(of: code)))
    }
}
