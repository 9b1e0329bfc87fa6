import Contracts
import Foundation
import Hummingbird
import ServiceKit
import Storage

/// A subject's assessment, explained: the tier, each counted factor with its weight and the event it
/// came from, the model version, the ledgers and the history. Every read is audited.
///
///     GET /v1/subjects/{id}/risk                              (the task force; an agency that sent an event about the subject)
///     GET /v1/subjects/{id}/risk?sealed=include&reason=…      (the task force: break the glass on a sealed record)
struct SubjectRoutes {
    let subjects: SubjectStore
    let database: Database
    var policy: SubjectPolicy { SubjectPolicy(subjects: subjects) }

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self).get(":id/risk", use: risk)
    }

    @Sendable func risk(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let subjectID = try context.parameters.require("id")
        try await policy.requireRead(identity, subjectID: subjectID)
        // Break the glass: the task force may see a sealed record on a stated reason, kept in the audit.
        let query = request.uri.queryParameters
        let includeSealed = query["sealed"].map(String.init) == "include"
        var reason = query["reason"].map(String.init) ?? ""
        if includeSealed { reason = try policy.requireSealedRead(identity, reason: reason) }
        try await Audit.record(
            identity, action: includeSealed ? "break-the-glass" : "read", resource: "subject/\(subjectID)/risk",
            reason: includeSealed ? String(reason.prefix(500)) : nil, in: database)
        guard var risk = try await subjects.risk(subjectID) else {
            throw HTTPError(.notFound, message: "no assessment of \(subjectID)")
        }
        if includeSealed { risk.sealedRecord = try await subjects.sealedRecord(subjectID) }
        return try JSONResponse.make(risk)
    }
}
