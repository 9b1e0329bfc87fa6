import Foundation
import Hummingbird
import ServiceKit

/// A recipient's language, for the words of its notices.
///
///     PUT /v1/recipients/{recipient}  {"language":"zh"|"en"}     (the recipient, operators)
struct RecipientRoutes {
    let recipients: RecipientStore

    struct Preference: Codable { var language: String }

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self).put(":recipient", use: setLanguage)
    }

    @Sendable func setLanguage(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let recipient = try context.parameters.require("recipient")
        guard identity.acts(for: recipient) || identity.role == .operator else { throw HTTPError(.forbidden, message: "the recipient itself, or operators") }
        let preference = try await request.decodeJSON(Preference.self, limit: 4096)
        guard ["zh", "en"].contains(preference.language) else {
            throw HTTPError(.badRequest, message: #"/language: is zh or en"#)
        }
        try await recipients.setLanguage(preference.language, of: recipient)
        return Response(status: .noContent)
    }
}
