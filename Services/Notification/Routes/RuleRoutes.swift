import Contracts
import Foundation
import Hummingbird
import ServiceKit

/// The routing rules: who hears of each event type, on which channels.
///
///     GET /v1/rules                     (any token)
///     GET /v1/rules/{eventType}         (any token)
///     PUT /v1/rules/{eventType}  {"recipients":[…], "channels":[…], "critical":false}     (operators, the task force)
struct RuleRoutes {
    let recipients: RecipientStore
    /// The event types a rule may be set for, in the order notification's handlers register them.
    let noticeTypes: [EventType]

    /// The body of `PUT /v1/rules/{eventType}`; the event type is the path's (a body that names another is refused).
    struct RuleBody: Codable { var eventType: String?; var recipients: [String]; var channels: [String]; var critical: Bool }

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .get(use: list)
            .get(":type", use: rule)
            .put(":type", use: set)
    }

    /// The routed event types as the error messages list them.
    private var routed: String { noticeTypes.map(\.name).joined(separator: ", ") }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        return try JSONResponse.make(try await recipients.rules())
    }

    @Sendable func rule(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let type = try context.parameters.require("type")
        guard let rule = try await recipients.rule(for: type) else {
            throw HTTPError(.notFound, message: "no rule for \(type); notification routes \(routed)")
        }
        return try JSONResponse.make(rule)
    }

    @Sendable func set(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try identity.require(.operator, .taskForce, otherwise: "operators and the task force set rules")
        let type = try context.parameters.require("type")
        guard noticeTypes.contains(where: { $0.name == type }) else {
            throw HTTPError(.notFound, message: "notification does not route \(type); it routes \(routed)")
        }
        let rule = try await request.decodeJSON(RuleBody.self, limit: 64 * 1024)
        if let named = rule.eventType, named != type { throw HTTPError(.badRequest, message: "/eventType: names \(named), the path \(type)") }
        guard !rule.recipients.isEmpty else { throw HTTPError(.badRequest, message: "/recipients: name at least one: \(NoticeRule.recipientRoles)") }
        guard !rule.channels.isEmpty, Set(rule.channels).isSubset(of: NoticeRule.channels) else {
            throw HTTPError(.badRequest, message: "/channels: one or more of inbox, webhook, sms, email")
        }
        try await recipients.setRule(NoticeRule(eventType: type, recipients: rule.recipients, channels: rule.channels, critical: rule.critical)) {
            try await Audit.record(identity, action: "rule", resource: "rule/\(type)", on: $0, in: recipients.database)
        }
        return Response(status: .noContent)
    }
}
