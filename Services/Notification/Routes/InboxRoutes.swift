import Foundation
import Hummingbird
import ServiceKit
import Storage

/// A recipient's in-app inbox, and acknowledging what is in it.
///
///     GET  /v1/inbox/{recipient}                          (the recipient unit; the task force, operators)
///     POST /v1/inbox/{recipient}/{deliveryId}/ack         (the recipient unit)
struct InboxRoutes {
    let deliveries: DeliveryStore
    let clock: any WallClock
    let database: Database

    struct InboxItem: Codable {
        var deliveryId: String
        var eventType: String
        var correlationId: String
        var body: String
        var critical: Bool
        var deliveredAt: Date
        var ackedAt: Date?
        /// Who acknowledged: the person, when it was done in the console, else the unit.
        var ackedBy: String?
        /// For a critical notice: by when the unit must acknowledge it, before it goes to the next level.
        var ackDueAt: Date?
        /// `acknowledged`; `awaiting_acknowledgement` (critical, before `ackDueAt`); `escalated` (critical, not
        /// acknowledged in time, sent on to the next level); `delivered` (nothing to acknowledge).
        var state: String

        init(_ entry: DeliveryStore.InboxEntry) {
            deliveryId = entry.deliveryID
            eventType = entry.eventType
            correlationId = entry.correlationID
            body = entry.body
            critical = entry.critical
            deliveredAt = entry.deliveredAt
            ackedAt = entry.ackedAt
            ackedBy = entry.ackedBy
            ackDueAt = entry.critical ? entry.ackDueAt : nil
            state = entry.ackedAt != nil ? "acknowledged" : !entry.critical ? "delivered" : entry.escalated ? "escalated" : "awaiting_acknowledgement"
        }
    }

    struct Inbox: Codable {
        var recipient: String
        var items: [InboxItem]
    }

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .get(":recipient", use: inbox)
            .post(":recipient/:delivery/ack", use: acknowledge)
    }

    @Sendable func inbox(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let recipient = try context.parameters.require("recipient")
        // A unit reads its own inbox; the task force and operators read any.
        guard identity.acts(for: recipient) || identity.isAny(of: .taskForce, .operator) else {
            throw HTTPError(.forbidden, message: "this inbox belongs to another unit")
        }
        let items = try await deliveries.inbox(of: recipient).map(InboxItem.init)
        return try JSONResponse.make(Inbox(recipient: recipient, items: items))
    }

    @Sendable func acknowledge(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let recipient = try context.parameters.require("recipient")
        let delivery = try context.parameters.require("delivery")
        guard identity.acts(for: recipient) else { throw HTTPError(.forbidden, message: "only the recipient acknowledges") }
        // The first acknowledgement stands; who gave it is kept with it and in the audit.
        let found = try await deliveries.acknowledge(delivery, of: recipient, by: identity.person ?? identity.unit, at: clock.now()) { connection in
            try await Audit.record(identity, action: "acknowledge", resource: "delivery/\(delivery)", on: connection, in: database)
        }
        guard found else { throw HTTPError(.notFound, message: "no delivery \(delivery) for \(recipient)") }
        return Response(status: .noContent)
    }
}
