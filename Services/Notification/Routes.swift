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
/// | `PUT /v1/endpoints/{recipient}/{channel}` | operators: a unit's webhook (URL and signing secret), SMS number or e-mail address |
/// | `PUT /v1/recipients/{recipient}` | the recipient, operators: its language, `zh` (default) or `en` |
/// | `GET /v1/rules`, `GET /v1/rules/{eventType}`, `PUT /v1/rules/{eventType}` | any token reads; operators and the task force set who hears of what, on which channels |
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
        /// Who acknowledged: the person, when it was done in the console, else the unit.
        var ackedBy: String?
        /// For a critical notice: by when the unit must acknowledge it, before it goes to the next level.
        var ackDueAt: Date?
        /// `acknowledged`; `awaiting_acknowledgement` (critical, before `ackDueAt`); `escalated` (critical, not
        /// acknowledged in time, sent on to the next level); `delivered` (nothing to acknowledge).
        var state: String
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
    struct Rule: Codable { var eventType: String; var recipients: [String]; var channels: [String]; var critical: Bool }
    /// The body of `PUT /v1/rules/{eventType}`; the event type is the path's (a body that names another is refused).
    struct RuleBody: Codable { var eventType: String?; var recipients: [String]; var channels: [String]; var critical: Bool }
    struct Preference: Codable { var language: String }

    /// Who a rule can name: roles the event names, or a care team's members.
    static let recipientRoles = "unit, escalated_to, task_force, target, school, recipient, care_team, care_team:<role>"

    func add(to v1: RouterGroup<HuhangRequestContext>) {
        v1.get("inbox/:recipient") { _, context in
            let identity = try context.requireIdentity()
            let recipient = try context.parameters.require("recipient")
            // A unit reads its own inbox; the task force and operators read any.
            guard identity.acts(for: recipient) || ["task-force", "operator"].contains(identity.role) else {
                throw HTTPError(.forbidden, message: "this inbox belongs to another unit")
            }
            let rows = try await database.query("""
                SELECT delivery_id::text, event_type, correlation_id, body, critical, delivered_at, acked_at, ack_due_at, escalated_at IS NOT NULL, acked_by
                FROM notification.deliveries WHERE recipient = \(recipient) AND channel = 'inbox'
                ORDER BY delivered_at DESC LIMIT 100
                """, logger: database.logger)
            var items: [InboxItem] = []
            for try await (id, type, correlation, body, critical, at, acked, due, escalated, ackedBy)
                in rows.decode((String, String, String, String, Bool, Date, Date?, Date?, Bool, String?).self) {
                let state = acked != nil ? "acknowledged" : !critical ? "delivered" : escalated ? "escalated" : "awaiting_acknowledgement"
                items.append(InboxItem(
                    deliveryId: id, eventType: type, correlationId: correlation, body: body, critical: critical, deliveredAt: at, ackedAt: acked, ackedBy: ackedBy,
                    ackDueAt: critical ? due : nil, state: state))
            }
            struct Inbox: Codable { var recipient: String; var items: [InboxItem] }
            return try JSONResponse.make(Inbox(recipient: recipient, items: items))
        }
        v1.post("inbox/:recipient/:delivery/ack") { _, context in
            let identity = try context.requireIdentity()
            let recipient = try context.parameters.require("recipient")
            let delivery = try context.parameters.require("delivery")
            guard identity.acts(for: recipient) else { throw HTTPError(.forbidden, message: "only the recipient acknowledges") }
            // The first acknowledgement stands; who gave it is kept with it and in the audit.
            let found = try await database.withTransaction { connection -> Bool in
                let rows = try await connection.query("""
                    UPDATE notification.deliveries SET acked_at = coalesce(acked_at, \(clock.now())),
                           acked_by = CASE WHEN acked_at IS NULL THEN \(identity.person ?? identity.unit) ELSE acked_by END
                    WHERE delivery_id::text = \(delivery) AND recipient = \(recipient) RETURNING 1
                    """, logger: database.logger)
                var found = false
                for try await _ in rows { found = true }
                if found {
                    try await Audit.record(identity, action: "acknowledge", resource: "delivery/\(delivery)", on: connection, in: database)
                }
                return found
            }
            guard found else { throw HTTPError(.notFound, message: "no delivery \(delivery) for \(recipient)") }
            return Response(status: .noContent)
        }
        v1.get("deliveries") { request, context in
            let identity = try context.requireIdentity()
            guard ["task-force", "operator"].contains(identity.role) else { throw HTTPError(.forbidden, message: "the task force and operators only") }
            let query = request.uri.queryParameters
            let event = query["event"].map(String.init), recipient = query["recipient"].map(String.init), status = query["status"].map(String.init)
            let rows = try await database.query("""
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
        v1.put("recipients/:recipient") { request, context in
            let identity = try context.requireIdentity()
            let recipient = try context.parameters.require("recipient")
            guard identity.acts(for: recipient) || identity.role == "operator" else { throw HTTPError(.forbidden, message: "the recipient itself, or operators") }
            let preference = try await request.decodeJSON(Preference.self, limit: 4096)
            guard ["zh", "en"].contains(preference.language) else {
                throw HTTPError(.badRequest, message: #"/language: is zh or en"#)
            }
            try await database.query("""
                INSERT INTO notification.recipients (recipient, language) VALUES (\(recipient), \(preference.language))
                ON CONFLICT (recipient) DO UPDATE SET language = EXCLUDED.language
                """, logger: database.logger)
            return Response(status: .noContent)
        }
        v1.get("rules") { _, context in
            _ = try context.requireIdentity()
            let rows = try await database.query(
                "SELECT event_type, recipients, channels, critical FROM notification.rules ORDER BY event_type", logger: database.logger)
            var rules: [Rule] = []
            for try await (type, recipients, channels, critical) in rows.decode((String, [String], [String], Bool).self) {
                rules.append(Rule(eventType: type, recipients: recipients, channels: channels, critical: critical))
            }
            return try JSONResponse.make(rules)
        }
        v1.get("rules/:type") { _, context in
            _ = try context.requireIdentity()
            let type = try context.parameters.require("type")
            let rows = try await database.query(
                "SELECT event_type, recipients, channels, critical FROM notification.rules WHERE event_type = \(type)", logger: database.logger)
            for try await (type, recipients, channels, critical) in rows.decode((String, [String], [String], Bool).self) {
                return try JSONResponse.make(Rule(eventType: type, recipients: recipients, channels: channels, critical: critical))
            }
            throw HTTPError(.notFound, message: "no rule for \(type); notification routes \(Routing.types.map(\.name).joined(separator: ", "))")
        }
        v1.put("rules/:type") { request, context in
            let identity = try context.requireIdentity()
            guard ["operator", "task-force"].contains(identity.role) else { throw HTTPError(.forbidden, message: "operators and the task force set rules") }
            let type = try context.parameters.require("type")
            guard Routing.types.contains(where: { $0.name == type }) else {
                throw HTTPError(.notFound, message: "notification does not route \(type); it routes \(Routing.types.map(\.name).joined(separator: ", "))")
            }
            let rule = try await request.decodeJSON(RuleBody.self, limit: 64 * 1024)
            if let named = rule.eventType, named != type { throw HTTPError(.badRequest, message: "/eventType: names \(named), the path \(type)") }
            guard !rule.recipients.isEmpty else { throw HTTPError(.badRequest, message: "/recipients: name at least one: \(Self.recipientRoles)") }
            guard !rule.channels.isEmpty, Set(rule.channels).isSubset(of: ["inbox", "webhook", "sms", "email"]) else {
                throw HTTPError(.badRequest, message: "/channels: one or more of inbox, webhook, sms, email")
            }
            try await database.query("""
                INSERT INTO notification.rules (event_type, recipients, channels, critical) VALUES (\(type), \(rule.recipients), \(rule.channels), \(rule.critical))
                ON CONFLICT (event_type) DO UPDATE SET recipients = EXCLUDED.recipients, channels = EXCLUDED.channels, critical = EXCLUDED.critical
                """, logger: database.logger)
            return Response(status: .noContent)
        }
        v1.put("endpoints/:recipient/:channel") { request, context in
            let identity = try context.requireIdentity()
            guard identity.role == "operator" else { throw HTTPError(.forbidden, message: "operators set endpoints") }
            let recipient = try context.parameters.require("recipient"), channel = try context.parameters.require("channel")
            guard ["webhook", "sms", "email"].contains(channel) else { throw HTTPError(.badRequest, message: "channel is webhook, sms or email") }
            let body = try await request.decodeJSON(EndpointBody.self, limit: 64 * 1024)
            guard !body.address.isEmpty else { throw HTTPError(.badRequest, message: "/address: is required: a URL, a phone number or an e-mail address") }
            try await database.query("""
                INSERT INTO notification.endpoints (recipient, channel, address, secret) VALUES (\(recipient), \(channel), \(body.address), \(body.secret))
                ON CONFLICT (recipient, channel) DO UPDATE SET address = EXCLUDED.address, secret = EXCLUDED.secret
                """, logger: database.logger)
            return Response(status: .noContent)
        }
    }
}
