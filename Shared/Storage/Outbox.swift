import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO

/// The transactional outbox: events are written in the same transaction as
/// the state change that emits them, and the ``OutboxRelay`` publishes them.
public enum Outbox {
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
        try await enqueue([message], on: connection, schema: schema, logger: logger)
    }

    /// Adds messages to the outbox inside the caller's transaction, in one
    /// statement; when the transaction (run by ``Database``) commits, this
    /// process's relay is handed the new rows' ids.
    /// - Parameters:
    ///   - messages: The messages, in the order they are to be published; each needs a `message_id`.
    ///   - connection: The connection holding the open transaction.
    ///   - schema: The service's schema.
    ///   - logger: Where to log.
    public static func enqueue(_ messages: [OutgoingMessage], on connection: PostgresConnection, schema: String, logger: Logger) async throws {
        guard !messages.isEmpty else { return }
        var ids: [String] = [], exchanges: [String] = [], keys: [String] = [], properties: [String] = [], bodies: [ByteBuffer] = []
        let encoder = JSONEncoder()
        for message in messages {
            guard let id = message.properties.messageID else {
                throw StorageError(.invalidConfiguration, "an outbox message needs a message_id")
            }
            ids.append(id)
            exchanges.append(message.exchange)
            keys.append(message.routingKey)
            properties.append(String(decoding: try encoder.encode(StoredProperties(message.properties)), as: UTF8.self))
            bodies.append(ByteBuffer(bytes: message.body))
        }
        // Rows a commit hands to this process's relay are kept from scans for its lease (see OutboxWakeups).
        let marks = TransactionMarks.current
        let lease = marks == nil ? nil : OutboxWakeups.lease(schema: schema)
        let leaseSeconds = lease.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? 0
        let rows = try await connection.query(prepared: """
            INSERT INTO \(unescaped: schema).outbox (message_id, exchange, routing_key, properties, body, next_attempt_at)
            SELECT i, e, k, p::jsonb, b, now() + make_interval(secs => \(leaseSeconds)::float8)
            FROM unnest(\(ids)::text[], \(exchanges)::text[], \(keys)::text[], \(properties)::text[], \(bodies)::bytea[])
                 WITH ORDINALITY AS t(i, e, k, p, b, n)
            ORDER BY n
            RETURNING id
            """, logger: logger)
        var written: [Int64] = []
        for try await id in rows.decode(Int64.self) { written.append(id) }
        if lease != nil {
            // As the relay would read them back: the properties as stored, published mandatory.
            marks?.outboxWritten(Array(zip(written, messages.map {
                OutgoingMessage(exchange: $0.exchange, routingKey: $0.routingKey, properties: StoredProperties($0.properties).amqp, body: $0.body)
            })))
        }
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
        let rows = try await connection.query(prepared: """
            INSERT INTO \(unescaped: schema).inbox (message_id, event_type) VALUES (\(messageID), \(type))
            ON CONFLICT (message_id) DO NOTHING RETURNING 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// What a batch's claim found: the messages that are new, and the version of what people set
    /// (`configuration_version`) as the claim saw it.
    public struct Claim: Sendable {
        /// The ids that are new, whose effects should be applied.
        public var ids: Set<String>
        /// The count of changes to the tables people set, read in the claim's snapshot; nil when nothing was new.
        public var configurationVersion: Int64?
    }

    /// Records several messages as handled inside the caller's transaction, in one statement (in the order of
    /// their ids, so that replicas claiming overlapping batches wait for each other and never deadlock), and
    /// reads the version of what people set in the same statement.
    /// - Parameters:
    ///   - messages: Each message's id and event type; an id may come twice (the second is a duplicate).
    ///   - connection: The connection holding the open transaction.
    ///   - schema: The service's schema.
    /// - Returns: The ids that are new, whose effects should be applied, and the configuration version.
    public static func claim(
        _ messages: [(id: String, type: String)], on connection: PostgresConnection, schema: String, logger: Logger
    ) async throws -> Claim {
        let rows = try await connection.query(prepared: """
            WITH claimed AS (
                INSERT INTO \(unescaped: schema).inbox (message_id, event_type)
                SELECT i, t FROM unnest(\(messages.map(\.id))::text[], \(messages.map(\.type))::text[]) AS m(i, t) ORDER BY i
                ON CONFLICT (message_id) DO NOTHING RETURNING message_id
            )
            SELECT message_id, (SELECT version FROM \(unescaped: schema).configuration_version) FROM claimed
            """, logger: logger)
        var claim = Claim(ids: [], configurationVersion: nil)
        for try await (id, version) in rows.decode((String, Int64?).self) {
            claim.ids.insert(id)
            claim.configurationVersion = version
        }
        return claim
    }

    /// Takes back claims of messages whose handling was rolled back inside the caller's transaction, so that
    /// their retry is not taken for a duplicate.
    public static func release(_ messageIDs: [String], on connection: PostgresConnection, schema: String, logger: Logger) async throws {
        guard !messageIDs.isEmpty else { return }
        try await connection.query(prepared: 
            "DELETE FROM \(unescaped: schema).inbox WHERE message_id = ANY(\(messageIDs))", logger: logger)
    }
}
