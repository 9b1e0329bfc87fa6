import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceKit
import Storage

/// The risk models: list, read, load a new version, activate one (every subject is then re-assessed
/// by the review sweep). Loading and activating are audited.
///
///     GET  /v1/models, GET /v1/models/{version}       (operators, the task force)
///     POST /v1/models, POST /v1/models/{version}/activate   (operators)
struct ModelRoutes {
    let models: ModelStore
    let database: Database

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .get(use: list)
            .get(":version", use: definition)
            .post(use: load)
            .post(":version/activate", use: activate)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try identity.require(.taskForce, .operator, otherwise: "the task force and operators only")
        return try JSONResponse.make(try await models.list())
    }

    @Sendable func definition(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try identity.require(.taskForce, .operator, otherwise: "the task force and operators only")
        let version = try context.parameters.require("version")
        guard let definition = try await models.definition(version) else {
            throw HTTPError(.notFound, message: "no model \(version); GET /v1/models lists them")
        }
        // The model as loaded: factors with weights and days, thresholds, triggers, markers, ledgers.
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: definition)))
    }

    @Sendable func load(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try identity.require(.operator, otherwise: "operators load models")
        let body = try await request.body.collect(upTo: 1 << 20)
        let candidate: RiskModel
        do {
            candidate = try JSONDecoder().decode(RiskModel.self, from: Data(body.readableBytesView))
        } catch {
            throw HTTPError(.badRequest, message: "the body is not a risk model: \(RequestProblem.describe(error))")
        }
        let problems = candidate.problems()
        if !problems.isEmpty { return try JSONResponse.make(problems, status: .badRequest) }
        guard let loadedAt = try await models.insert(candidate) else {
            throw HTTPError(.conflict, message: "model \(candidate.version) exists; a changed model is a new version")
        }
        try await Audit.record(identity, action: "load", resource: "model/\(candidate.version)", in: database)
        return try JSONResponse.make(
            ModelStore.ModelVersion(version: candidate.version, active: false, loadedAt: loadedAt, activatedAt: nil), status: .created)
    }

    @Sendable func activate(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try identity.require(.operator, otherwise: "operators activate models")
        let version = try context.parameters.require("version")
        guard let due = try await models.activate(version) else { throw HTTPError(.notFound, message: "no model \(version)") }
        try await Audit.record(identity, action: "activate", resource: "model/\(version)", in: database)
        return try JSONResponse.make(ModelStore.Activation(version: version, subjectsToReassess: due))
    }
}
