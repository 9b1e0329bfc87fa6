import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO
import ServiceKit
import Storage

/// Notification's API.
///
/// | route | who |
/// |---|---|
/// | `GET /v1/inbox/{recipient}` | the recipient unit; the task force, operators |
/// | `POST /v1/inbox/{recipient}/{deliveryId}/ack` | the recipient unit |
/// | `GET /v1/deliveries?event=&recipient=&status=pending\|delivered\|failed` | the task force, operators: every delivery with its attempts |
/// | `PUT /v1/endpoints/{recipient}/{channel}` | operators: where a unit's webhook (URL and signing secret) is |
struct NotificationRoutes: Sendable {
    let database: Database
    let clock: any WallClock

    struct InboxItem: Codable {
        var deliveryId: String
        var eventType: String
        var correlationId: String
        var body: String
        var critical: Bool
        var deliveredAt: Date
        var ackedAt: Date?
    }

    struct Delivery: Codable {
        var deliveryId: String
        var eventId: String
        var eventType: String
        var recipient: String
        var channel: String
        var status: String
        var attempts: Int
        var lastError: String?
        var deliveredAt: Date?
    }

    struct EndpointBody: Codable { var address: String; var secret: String? }

    func add(to v1: RouterGroup<HuhangRequestContext>) {
        v1.get("inbox/:recipient") { _, context in
            let identity = try context.requireIdentity()
            let recipient = try context.parameters.require("recipient")
            // A unit reads its own inbox; the task force and operators read any.
            guard identity.agency == recipient || ["task-force", "operator"].contains(identity.role) else {
                throw HTTPError(.forbidden, message: "this inbox belongs to another unit")
            }
            let rows = try await database.client.query("""
                SELECT delivery_id::text, event_type, correlation_id, body, critical, delivered_at, acked_at
                FROM notification.deliveries WHERE recipient = \(recipient) AND channel = 'inbox'
                ORDER BY delivered_at DESC LIMIT 100
                """, logger: database.logger)
            var items: [InboxItem] = []
            for try await (id, type, correlation, body, critical, at, acked) in rows.decode((String, String, String, String, Bool, Date, Date?).self) {
                items.append(InboxItem(deliveryId: id, eventType: type, correlationId: correlation, body: body, critical: critical, deliveredAt: at, ackedAt: acked))
            }
            struct Inbox: Codable { var recipient: String; var items: [InboxItem] }
            return try JSONResponse.make(Inbox(recipient: recipient, items: items))
        }
        v1.post("inbox/:recipient/:delivery/ack") { _, context in
            let identity = try context.requireIdentity()
            let recipient = try context.parameters.require("recipient")
            let delivery = try context.parameters.require("delivery")
            guard identity.agency == recipient else { throw HTTPError(.forbidden, message: "only the recipient acknowledges") }
            let rows = try await database.client.query("""
                UPDATE notification.deliveries SET acked_at = coalesce(acked_at, \(clock.now()))
                WHERE delivery_id::text = \(delivery) AND recipient = \(recipient) RETURNING 1
                """, logger: database.logger)
            var found = false
            for try await _ in rows { found = true }
            guard found else { throw HTTPError(.notFound, message: "no delivery \(delivery) for \(recipient)") }
            return Response(status: .noContent)
        }
        v1.get("deliveries") { request, context in
            let identity = try context.requireIdentity()
            guard ["task-force", "operator"].contains(identity.role) else { throw HTTPError(.forbidden, message: "the task force and operators only") }
            let query = request.uri.queryParameters
            let event = query["event"].map(String.init), recipient = query["recipient"].map(String.init), status = query["status"].map(String.init)
            let rows = try await database.client.query("""
                SELECT delivery_id::text, event_id, event_type, recipient, channel, status, attempts, last_error, delivered_at
                FROM notification.deliveries
                WHERE (\(event)::text IS NULL OR event_id = \(event)) AND (\(recipient)::text IS NULL OR recipient = \(recipient))
                  AND (\(status)::text IS NULL OR status = \(status))
                ORDER BY created_at DESC LIMIT 500
                """, logger: database.logger)
            var deliveries: [Delivery] = []
            for try await (id, event, type, recipient, channel, status, attempts, error, at)
                in rows.decode((String, String, String, String, String, String, Int, String?, Date?).self) {
                deliveries.append(Delivery(
                    deliveryId: id, eventId: event, eventType: type, recipient: recipient, channel: channel, status: status, attempts: attempts,
                    lastError: error, deliveredAt: at))
            }
            return try JSONResponse.make(deliveries)
        }
        v1.put("endpoints/:recipient/:channel") { request, context in
            let identity = try context.requireIdentity()
            guard identity.role == "operator" else { throw HTTPError(.forbidden, message: "operators set endpoints") }
            let recipient = try context.parameters.require("recipient"), channel = try context.parameters.require("channel")
            guard ["webhook", "sms", "email"].contains(channel) else { throw HTTPError(.badRequest, message: "channel is webhook, sms or email") }
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            guard let body = try? JSONDecoder().decode(EndpointBody.self, from: Data(buffer.readableBytesView)), !body.address.isEmpty else {
                throw HTTPError(.badRequest, message: #"the body is {"address": "...", "secret": "..."}"#)
            }
            try await database.client.query("""
                INSERT INTO notification.endpoints (recipient, channel, address, secret) VALUES (\(recipient), \(channel), \(body.address), \(body.secret))
                ON CONFLICT (recipient, channel) DO UPDATE SET address = EXCLUDED.address, secret = EXCLUDED.secret
                """, logger: database.logger)
            return Response(status: .noContent)
        }
    }
}
