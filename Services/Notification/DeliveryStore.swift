import Contracts
import Foundation
import Logging
import PostgresNIO
import Storage

/// The deliveries notification makes — one per event, recipient and channel — with their state, every
/// attempt to send them (`notification.attempts`), their acknowledgement and their escalation when a
/// critical one is not acknowledged in time (`notification.deliveries`).
struct DeliveryStore: Sendable {
    let database: Database

    /// A delivery to be made, as a handler or the escalation of an unacknowledged one writes it.
    struct New: Sendable {
        var deliveryID: String
        var eventID: String
        var eventType: String
        var correlationID: String
        var traceparent: String?
        var recipient: String
        var channel: String
        var body: String
        /// Where it goes; nil for the inbox, or for a care-team member's contact, which is sealed.
        var address: String?
        var sealedAddress: [UInt8]?
        /// `delivered` (the inbox) or `pending` (sent by ``DeliverySender``).
        var status: String
        var critical: Bool
        var nextAttemptAt: Date?
        var deliveredAt: Date?
        /// By when a critical notice is to be acknowledged.
        var ackDueAt: Date?
        /// The delivery this one escalates.
        var escalationOf: String?
    }

    /// A delivery leased for sending, with what sending it needs.
    struct Pending: Sendable {
        var deliveryID: String
        var eventID: String
        var eventType: String
        var correlationID: String
        var traceparent: String?
        var recipient: String
        var channel: String
        var address: String
        /// A care-team member's contact, sealed until the moment it is sent.
        var sealedAddress: [UInt8]?
        var body: String
        var attempts: Int
        var secret: String?
    }

    /// A critical inbox notice not acknowledged in time.
    struct Unacknowledged: Sendable {
        var deliveryID: String
        var eventID: String
        var eventType: String
        var correlationID: String
        var traceparent: String?
        var recipient: String
        var body: String
    }

    /// An inbox notice as its recipient reads it.
    struct InboxEntry: Sendable {
        var deliveryID: String
        var eventType: String
        var correlationID: String
        var body: String
        var critical: Bool
        var deliveredAt: Date
        var ackedAt: Date?
        var ackDueAt: Date?
        var escalated: Bool
        var ackedBy: String?
    }

    /// A delivery with how its sending went, for the task force and operators.
    struct Delivery: Codable, Sendable {
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

    /// Writes a delivery unless the event already has one for the recipient and channel.
    /// - Parameters:
    ///   - delivery: The delivery.
    ///   - connection: The caller's transaction.
    /// - Returns: `true` when it was written; `false` when there was one already.
    static func insert(_ delivery: New, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await !insert([delivery], on: connection, logger: logger).isEmpty
    }

    /// Writes deliveries — a batch of notices' — in one statement, each unless its event already has one for the
    /// recipient and channel.
    /// - Returns: The ids of those written.
    static func insert(_ deliveries: [New], on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        guard !deliveries.isEmpty else { return [] }
        // Arrays carry no nulls here: an empty text, or a flag beside a time, stands for one.
        let none = Date(timeIntervalSince1970: 0)
        let inserted = try await connection.query(prepared: """
            INSERT INTO notification.deliveries (delivery_id, event_id, event_type, correlation_id, recipient, channel, body, address, sealed_address,
                                                 status, critical, next_attempt_at, delivered_at, ack_due_at, traceparent, escalation_of)
            SELECT i::uuid, e, t, c, r, ch, b, NULLIF(a, ''), decode(NULLIF(s, ''), 'hex'), st, cr, CASE WHEN hn THEN n END,
                   CASE WHEN hd THEN d END, CASE WHEN ha THEN ad END, NULLIF(tp, ''), NULLIF(eo, '')::uuid
            FROM unnest(\(deliveries.map(\.deliveryID))::text[], \(deliveries.map(\.eventID))::text[], \(deliveries.map(\.eventType))::text[],
                        \(deliveries.map(\.correlationID))::text[], \(deliveries.map(\.recipient))::text[], \(deliveries.map(\.channel))::text[],
                        \(deliveries.map(\.body))::text[], \(deliveries.map { $0.address ?? "" })::text[], \(deliveries.map { Hex.string($0.sealedAddress ?? []) })::text[],
                        \(deliveries.map(\.status))::text[], \(deliveries.map(\.critical))::boolean[],
                        \(deliveries.map { $0.nextAttemptAt != nil })::boolean[], \(deliveries.map { $0.nextAttemptAt ?? none })::timestamptz[],
                        \(deliveries.map { $0.deliveredAt != nil })::boolean[], \(deliveries.map { $0.deliveredAt ?? none })::timestamptz[],
                        \(deliveries.map { $0.ackDueAt != nil })::boolean[], \(deliveries.map { $0.ackDueAt ?? none })::timestamptz[],
                        \(deliveries.map { $0.traceparent ?? "" })::text[], \(deliveries.map { $0.escalationOf ?? "" })::text[])
                 WITH ORDINALITY AS x(i, e, t, c, r, ch, b, a, s, st, cr, hn, n, hd, d, ha, ad, tp, eo, o)
            ORDER BY o
            ON CONFLICT (event_id, recipient, channel) DO NOTHING
            RETURNING delivery_id::text
            """, logger: logger)
        var written: Set<String> = []
        for try await id in inserted.decode(String.self) { written.insert(id) }
        return written
    }

    /// A recipient's inbox, newest first, at most 100.
    func inbox(of recipient: String) async throws -> [InboxEntry] {
        let rows = try await database.query("""
            SELECT delivery_id::text, event_type, correlation_id, body, critical, delivered_at, acked_at, ack_due_at, escalated_at IS NOT NULL, acked_by
            FROM notification.deliveries WHERE recipient = \(recipient) AND channel = 'inbox'
            ORDER BY delivered_at DESC LIMIT 100
            """, logger: database.logger)
        var entries: [InboxEntry] = []
        for try await (id, type, correlation, body, critical, at, acked, due, escalated, ackedBy)
            in rows.decode((String, String, String, String, Bool, Date, Date?, Date?, Bool, String?).self) {
            entries.append(InboxEntry(
                deliveryID: id, eventType: type, correlationID: correlation, body: body, critical: critical, deliveredAt: at,
                ackedAt: acked, ackDueAt: due, escalated: escalated, ackedBy: ackedBy))
        }
        return entries
    }

    /// Acknowledges a delivery; the first acknowledgement stands, with who gave it.
    /// - Parameters:
    ///   - deliveryID: The delivery, as its URL names it.
    ///   - recipient: Its recipient.
    ///   - by: The person, or the unit, acknowledging.
    ///   - at: When.
    ///   - audit: Records the acknowledgement in the same transaction, when the delivery was found.
    /// - Returns: Whether the recipient has that delivery.
    func acknowledge(
        _ deliveryID: String, of recipient: String, by: String, at: Date, audit: (PostgresConnection) async throws -> Void
    ) async throws -> Bool {
        try await database.withTransaction { connection -> Bool in
            let rows = try await connection.query(prepared: """
                UPDATE notification.deliveries SET acked_at = coalesce(acked_at, \(at)),
                       acked_by = CASE WHEN acked_at IS NULL THEN \(by) ELSE acked_by END
                WHERE delivery_id::text = \(deliveryID) AND recipient = \(recipient) RETURNING 1
                """, logger: database.logger)
            var found = false
            for try await _ in rows { found = true }
            if found {
                try await audit(connection)
            }
            return found
        }
    }

    /// Deliveries with their attempts, newest first, at most 500; each filter applies when given.
    /// - Parameters:
    ///   - event: The event's id.
    ///   - recipient: The recipient.
    ///   - status: `pending`, `delivered` or `failed`.
    func list(event: String?, recipient: String?, status: String?) async throws -> [Delivery] {
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
        return deliveries
    }

    /// Leases up to `limit` pending deliveries that are due (`FOR UPDATE SKIP LOCKED`, then a lease time, so
    /// replicas share them and a slow endpoint holds no lock).
    /// - Parameters:
    ///   - now: The time.
    ///   - until: When the lease ends, and a delivery not recorded by then is due again.
    ///   - limit: How many at most.
    /// - Returns: The leased deliveries, with their endpoint's signing secret.
    func lease(now: Date, until: Date, limit: Int, logger: Logger) async throws -> [Pending] {
        try await database.withTransaction { connection -> [Pending] in
            let rows = try await connection.query(prepared: """
                UPDATE notification.deliveries d SET next_attempt_at = \(until)
                FROM (SELECT delivery_id FROM notification.deliveries
                      WHERE status = 'pending' AND next_attempt_at <= \(now)
                      ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED) due
                WHERE d.delivery_id = due.delivery_id
                RETURNING d.delivery_id::text, d.event_id, d.event_type, d.correlation_id, d.traceparent, d.recipient, d.channel,
                          coalesce(d.address, ''), d.sealed_address, d.body, d.attempts,
                          (SELECT e.secret FROM notification.endpoints e WHERE e.recipient = d.recipient AND e.channel = d.channel)
                """, logger: logger)
            var pending: [Pending] = []
            for try await (id, event, type, correlation, trace, recipient, channel, address, sealed, body, attempts, secret)
                in rows.decode((String, String, String, String, String?, String, String, String, ByteBuffer?, String, Int, String?).self) {
                pending.append(Pending(
                    deliveryID: id, eventID: event, eventType: type, correlationID: correlation, traceparent: trace, recipient: recipient,
                    channel: channel, address: address, sealedAddress: sealed.map { Array(buffer: $0) }, body: body, attempts: attempts,
                    secret: secret))
            }
            return pending
        }
    }

    /// Records one attempt to send a delivery.
    /// - Parameters:
    ///   - attempt: Its number, from 1.
    ///   - problem: What went wrong; nil when it arrived.
    static func recordAttempt(
        of deliveryID: String, attempt: Int, at: Date, problem: String?, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(prepared: """
            INSERT INTO notification.attempts (delivery_id, attempt, at, ok, detail)
            VALUES (\(deliveryID)::uuid, \(attempt), \(at), \(problem == nil), \(problem))
            """, logger: logger)
    }

    /// Marks a delivery delivered after `attempts` attempts.
    static func markDelivered(_ deliveryID: String, attempts: Int, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(prepared: """
            UPDATE notification.deliveries SET status = 'delivered', attempts = \(attempts), delivered_at = \(at), last_error = NULL
            WHERE delivery_id = \(deliveryID)::uuid
            """, logger: logger)
    }

    /// Marks a delivery failed for good, with what went wrong the last time.
    static func markFailed(_ deliveryID: String, attempts: Int, problem: String?, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(prepared: """
            UPDATE notification.deliveries SET status = 'failed', attempts = \(attempts), last_error = \(problem)
            WHERE delivery_id = \(deliveryID)::uuid
            """, logger: logger)
    }

    /// Sets a delivery's next attempt, with what went wrong the last time.
    static func scheduleRetry(
        _ deliveryID: String, attempts: Int, problem: String?, at next: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(prepared: """
            UPDATE notification.deliveries SET attempts = \(attempts), last_error = \(problem),
                   next_attempt_at = \(next)
            WHERE delivery_id = \(deliveryID)::uuid
            """, logger: logger)
    }

    /// Critical inbox notices whose acknowledgement was due by `now` and that were not escalated yet, oldest due
    /// first, at most 100; locked for the caller's transaction, skipping those another replica holds.
    static func unacknowledged(dueBy now: Date, on connection: PostgresConnection, logger: Logger) async throws -> [Unacknowledged] {
        let rows = try await connection.query(prepared: """
            SELECT delivery_id::text, event_id, event_type, correlation_id, traceparent, recipient, body
            FROM notification.deliveries
            WHERE critical AND channel = 'inbox' AND acked_at IS NULL AND escalated_at IS NULL AND ack_due_at <= \(now)
            ORDER BY ack_due_at LIMIT 100 FOR UPDATE SKIP LOCKED
            """, logger: logger)
        var due: [Unacknowledged] = []
        for try await (id, event, type, correlation, trace, recipient, body) in rows.decode((String, String, String, String, String?, String, String).self) {
            due.append(Unacknowledged(
                deliveryID: id, eventID: event, eventType: type, correlationID: correlation, traceparent: trace, recipient: recipient, body: body))
        }
        return due
    }

    /// Marks a delivery escalated.
    static func markEscalated(_ deliveryID: String, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(prepared: "UPDATE notification.deliveries SET escalated_at = \(at) WHERE delivery_id::text = \(deliveryID)", logger: logger)
    }
}
