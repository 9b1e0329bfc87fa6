import Contracts
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// Notification: every person who must act is told, and that is recorded.
/// This first version records an in-app inbox delivery for each assigned
/// task; webhooks, SMS, e-mail and acknowledgements come with their own issue.
struct NotificationService: HuhangService {
    static let name = "notification"
    static let defaultHTTPPort = 8085
    static let migrations = NotificationMigrations.all

    let database: Database

    init(context: ServiceContext) throws {
        database = context.database
    }

    func register(_ handlers: inout HandlerRegistry) {
        handlers.on(TaskAssignedV1.self) { task, context in
            let deliveryID = UUID().uuidString.lowercased()
            let text = "Task \(task.measure) for case \(task.caseID.prefix(8)) (tier \(task.tier.rawValue)) due \(ContractCoding.formatTime(task.dueAt))"
            // One delivery per event, recipient and channel, whatever the redeliveries.
            let inserted = try await context.connection.query("""
                INSERT INTO notification.deliveries (delivery_id, event_id, event_type, correlation_id, recipient, channel, body, delivered_at)
                VALUES (\(deliveryID)::uuid, \(context.envelope.id), \(context.envelope.type), \(context.envelope.correlationID),
                        \(task.unit), 'inbox', \(text), now())
                ON CONFLICT (event_id, recipient, channel) DO NOTHING
                RETURNING 1
                """, logger: context.logger)
            var isNew = false
            for try await _ in inserted { isNew = true }
            guard isNew else { return .applied }
            try await context.emit(NotificationDeliveredV1(
                deliveryID: deliveryID, aboutEventID: context.envelope.id, aboutEventType: context.envelope.type,
                recipient: task.unit, channel: .inbox, deliveredAt: Date()), subject: deliveryID)
            return .applied
        }
    }

    struct InboxItem: Codable {
        var deliveryId: String
        var eventType: String
        var correlationId: String
        var body: String
        var deliveredAt: Date
    }

    func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {
        let database = self.database
        v1.get("inbox/:recipient") { _, context in
            let identity = try context.requireIdentity()
            let recipient = try context.parameters.require("recipient")
            // A unit reads its own inbox; the task force and operators read any.
            guard identity.agency == recipient || ["task-force", "operator"].contains(identity.role) else {
                throw HTTPError(.forbidden, message: "this inbox belongs to another unit")
            }
            let rows = try await database.client.query("""
                SELECT delivery_id::text, event_type, correlation_id, body, delivered_at
                FROM notification.deliveries WHERE recipient = \(recipient) AND channel = 'inbox'
                ORDER BY delivered_at DESC LIMIT 100
                """, logger: database.logger)
            var items: [InboxItem] = []
            for try await (id, type, correlation, body, at) in rows.decode((String, String, String, String, Date).self) {
                items.append(InboxItem(deliveryId: id, eventType: type, correlationId: correlation, body: body, deliveredAt: at))
            }
            return try JSONResponse.make(["recipient": .init(recipient), "items": AnyEncodable(items)] as [String: AnyEncodable])
        }
    }
}

/// Type erasure for mixed JSON responses.
struct AnyEncodable: Encodable {
    let encodeBody: (any Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encodeBody = value.encode }
    func encode(to encoder: any Encoder) throws { try encodeBody(encoder) }
}

enum NotificationMigrations {
    static let all: [Migration] = [
        Migration(1, "deliveries", """
            CREATE TABLE notification.deliveries (
                delivery_id    uuid PRIMARY KEY,
                event_id       text NOT NULL,
                event_type     text NOT NULL,
                correlation_id text NOT NULL,
                recipient      text NOT NULL,
                channel        text NOT NULL,
                body           text NOT NULL,
                delivered_at   timestamptz,
                created_at     timestamptz NOT NULL DEFAULT now(),
                UNIQUE (event_id, recipient, channel)
            );
            CREATE INDEX deliveries_recipient ON notification.deliveries (recipient, delivered_at);
            """),
    ]
}
