import Contracts
import Foundation
import Logging
import Hummingbird
import ServiceKit

/// The agency registry over HTTP.
///
///     POST /v1/agencies     registers or updates an agency (operators; audited)
///     GET  /v1/agencies     lists them (operators, the task force)
struct AgencyRoutes {
    let agencies: AgencyStore

    struct Registration: Codable {
        var code: String
        var name: String
        var kind: AgencyKind
        var eventTypes: [String]?
        var active: Bool?
        var unit: String?
    }

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .post(use: register)
            .get(use: list)
    }

    @Sendable func register(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try identity.require(.operator, otherwise: "only operators register agencies")
        let registration: Registration
        do {
            registration = try await request.decodeJSON(Registration.self)
        } catch let error as HTTPError {
            throw HTTPError(.badRequest, message: "\(error.body ?? "the body does not match"); expected {code, name, kind, eventTypes?, active?, unit?}, kind one of \(AgencyKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if registration.kind == .school, (registration.unit ?? "").isEmpty {
            throw HTTPError(.badRequest, message: "unit: a school registers with its school code as its unit (the schoolCode its reports carry, e.g. 370102-M03), so that its tasks, notices and inbox are its own")
        }
        if let unit = registration.unit, unit.range(of: Agency.unitPattern, options: .regularExpression) == nil {
            throw HTTPError(.badRequest, message: "unit must match \(Agency.unitPattern)")
        }
        guard registration.code.range(of: Agency.codePattern, options: .regularExpression) != nil else {
            throw HTTPError(.badRequest, message: "code must match \(Agency.codePattern)")
        }
        let known = Set(Contracts.agencyPayloads.map { $0.eventType.name })
        let types = registration.eventTypes ?? registration.kind.defaultEventTypes.map(\.name)
        if let unknown = types.first(where: { !known.contains($0) }) {
            throw HTTPError(.badRequest, message: "unknown event type \(unknown); agencies may send \(known.sorted().joined(separator: ", "))")
        }
        let agency = Agency(code: registration.code, name: registration.name, kind: registration.kind,
                            eventTypes: types.sorted(), active: registration.active ?? true, unit: registration.unit)
        try await agencies.upsert(agency) {
            try await Audit.record(identity, action: agency.active ? "agency" : "agency-deactivate", resource: "agency/\(agency.code)", on: $0, in: agencies.database)
        }
        context.logger.notice("agency registered", metadata: ["intake.agency": "\(agency.code)", "api.operator": "\(identity.agency)"])
        return try JSONResponse.make(agency, status: .created)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try identity.require(.operator, .taskForce, otherwise: "operators and the task force only")
        return try JSONResponse.make(try await agencies.list())
    }
}
