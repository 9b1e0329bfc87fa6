import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO

/// The transactional outbox: events are written in the same transaction as
/// the state change that emits them, and the ``OutboxRelay`` publishes them.
public enum Outbox {
    /// The NOTIFY channel that wakes a schema's relay.
    static func channel(_ schema: String) -> String { "huhang_outbox_\(schema)" }

    /// The properties of a stored message, as JSON.
    struct StoredProperties: Codable {
        var contentType: String?
        var messageID: String?
        var correlationID: String?
        var type: String?
        var appID: String?
        var timestamp: UInt64?
        var headers: [String: String]

        init(_ p: AMQPProperties) {
            contentType = p.contentType
            messageID = p.messageID
            correlationID = p.correlationID
            type = p.type
            appID = p.appID
            timestamp = p.timestamp
            headers = p.headers.compactMapValues(\.stringValue)
        }

        var amqp: AMQPProperties {
            AMQPProperties(
                contentType: contentType, messageID: messageID, correlationID: correlationID, type: type,
                appID: appID, timestamp: timestamp, persistent: true, headers: headers.mapValues { .string($0) })
        }
    }

    /// Adds a message to the outbox inside the caller's transaction.
    ///
    /// Nothing is published unless the transaction commits; once it commits,
    /// the message is published at least once.
    /// - Parameters:
    ///   - message: The message; its `message_id` must be set.
    ///   - connection: The connection holding the open transaction.
    ///   - schema: The service's schema.
    ///   - logger: Where to log.
    public static func enqueue(_ message: OutgoingMessage, on connection: PostgresConnection, schema: String, logger: Logger) async throws {
        guard let id = message.properties.messageID else {
            throw StorageError(.invalidConfiguration, "an outbox message needs a message_id")
        }
        let properties = String(decoding: try JSONEncoder().encode(StoredProperties(message.properties)), as: UTF8.self)
        try await connection.query("""
            INSERT INTO \(unescaped: schema).outbox (message_id, exchange, routing_key, properties, body)
            VALUES (\(id), \(message.exchange), \(message.routingKey), \(properties)::jsonb, \(ByteBuffer(bytes: message.body)))
            """, logger: logger)
        try await connection.query("SELECT pg_notify(\(channel(schema)), '')", logger: logger)
    }
}

/// The inbox: a consumer records each message id in the same transaction as
/// the message's effect, so a redelivered or duplicated message changes nothing.
public enum Inbox {
    /// Records a message as handled inside the caller's transaction.
    ///
    /// When two replicas receive the same message at once, the second insert
    /// waits for the first transaction and then finds the row: only one
    /// applies the effect.
    /// - Parameters:
    ///   - messageID: The message id (CloudEvents id).
    ///   - type: The event type, for operators.
    ///   - connection: The connection holding the open transaction.
    ///   - schema: The service's schema.
    /// - Returns: `true` when the message is new and its effect should be applied.
    public static func claim(_ messageID: String, type: String, on connection: PostgresConnection, schema: String, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("""
            INSERT INTO \(unescaped: schema).inbox (message_id, event_type) VALUES (\(messageID), \(type))
            ON CONFLICT (message_id) DO NOTHING RETURNING 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }
}
