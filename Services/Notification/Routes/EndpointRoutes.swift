import Foundation
import Hummingbird
import ServiceKit

/// Where a recipient is reached beyond its inbox.
///
///     PUT /v1/endpoints/{recipient}/{channel}  {"address":…, "secret":…}     (operators: a unit's webhook URL and
///                                                                              signing secret, SMS number or e-mail address; audited; no secret keeps the one set)
struct EndpointRoutes {
    let recipients: RecipientStore

    struct EndpointBody: Codable { var address: String; var secret: String? }

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .add(middleware: RolePolicy(.operator, otherwise: "operators set endpoints"))
            .put(":recipient/:channel", use: set)
    }

    @Sendable func set(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let recipient = try context.parameters.require("recipient"), channel = try context.parameters.require("channel")
        guard ["webhook", "sms", "email"].contains(channel) else { throw HTTPError(.badRequest, message: "channel is webhook, sms or email") }
        let body = try await request.decodeJSON(EndpointBody.self, limit: 64 * 1024)
        guard !body.address.isEmpty else { throw HTTPError(.badRequest, message: "/address: is required: a URL, a phone number or an e-mail address") }
        let identity = try context.requireIdentity()
        try await recipients.setEndpoint(of: recipient, channel: channel, address: body.address, secret: body.secret) {
            try await Audit.record(identity, action: "endpoint", resource: "endpoint/\(recipient)/\(channel)", on: $0, in: recipients.database)
        }
        return Response(status: .noContent)
    }
}
