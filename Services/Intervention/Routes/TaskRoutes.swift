import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import ServiceKit
import Storage

/// A unit's feedback on its task, and the task force cancelling one.
///
///     POST /v1/tasks/{id}/feedback     the task's unit (accepted, progress, completed, rejected with a reason)
///     POST /v1/tasks/{id}/cancel       task force, with a reason
struct TaskRoutes: Sendable {
    let stores: InterventionStores
    let operations: CaseOperations
    let clock: any WallClock
    var policy: CasePolicy { CasePolicy(stores: stores, clock: clock) }

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .post(":id/feedback", use: feedback)
            .post(":id/cancel", use: cancel)
    }

    @Sendable func feedback(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let taskID = try context.parameters.require("id")
        let feedback = try await request.decodeJSON(FeedbackBody.self)
        guard feedback.status != .cancelled, feedback.status != .assigned else {
            throw HTTPError(.badRequest, message: "feedback is accepted, progress, completed or rejected")
        }
        let audited = CaseOperations.Audited(identity: identity, action: "feedback-\(feedback.status.rawValue)", resource: "task/\(taskID)", reason: feedback.reason)
        _ = try await operations.perform(audited) { connection in
            try await stores.tasks.update(
                taskID: taskID, unit: policy.reportingUnit(identity), status: feedback.status, note: feedback.note, reason: feedback.reason,
                by: .api(identity), at: clock.now(), on: connection)
        }
        return Response(status: .noContent)
    }

    @Sendable func cancel(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try CaseOperations.requireTaskForce(identity)
        let taskID = try context.parameters.require("id")
        let text = try await request.decodeJSON(TextBody.self)
        _ = try await operations.perform(CaseOperations.Audited(identity: identity, action: "cancel", resource: "task/\(taskID)", reason: text.reason)) { connection in
            try await stores.tasks.update(
                taskID: taskID, unit: nil, status: .cancelled, note: nil, reason: text.reason, by: .api(identity), at: clock.now(), on: connection)
        }
        return Response(status: .noContent)
    }
}
