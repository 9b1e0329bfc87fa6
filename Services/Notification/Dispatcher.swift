import AsyncHTTPClient
import Contracts
import Foundation
import Logging
import Messaging
import Metrics
import NIOHTTP1
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage

/// Sends pending deliveries. Each round leases a batch (`FOR UPDATE SKIP
/// LOCKED`, then a lease time, so replicas share them and a slow endpoint
/// holds no lock), sends them concurrently — a failing endpoint does not hold
/// up the others — and records each attempt; a delivered one emits
/// `notification.delivered.v1`, a failed one is retried with back-off and
/// jitter, and after the last attempt is set aside as failed, counted in
/// `huhang_notification_failed_total` and logged as an error for operators.
/// Runs as a ``RepeatingJob``.
struct Dispatcher: Sendable {
    let database: Database
    let configuration: NotificationConfiguration
    let clock: any WallClock
    let cipher: PersonalDataCipher
    let logger: Logger
    private let failed = Counter(label: "huhang_notification_failed_total")
    private let sent = Counter(label: "huhang_notification_sent_total")

    init(database: Database, configuration: NotificationConfiguration, clock: any WallClock, cipher: PersonalDataCipher, logger: Logger) {
        self.database = database
        self.configuration = configuration
        self.clock = clock
        self.cipher = cipher
        self.logger = logger
    }

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

    /// One round: escalate what was not acknowledged, then send a batch. - Returns: whether a full batch went.
    func round() async throws -> Bool {
        try await escalateUnacknowledged()
        return try await dispatchOnce() >= configuration.concurrency
    }

    /// Leases, sends and records one batch. - Returns: How many were attempted.
    @discardableResult
    func dispatchOnce() async throws -> Int {
        let now = clock.now()
        let leased = try await database.withTransaction { connection -> [Pending] in
            let rows = try await connection.query("""
                UPDATE notification.deliveries d SET next_attempt_at = \(now.addingTimeInterval(configuration.timeout * 2 + 5))
                FROM (SELECT delivery_id FROM notification.deliveries
                      WHERE status = 'pending' AND next_attempt_at <= \(now)
                      ORDER BY next_attempt_at LIMIT \(configuration.concurrency) FOR UPDATE SKIP LOCKED) due
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
        guard !leased.isEmpty else { return 0 }
        let results = await withTaskGroup(of: (Pending, String?).self) { group in
            for delivery in leased {
                group.addTask { (delivery, await send(delivery)) }
            }
            var results: [(Pending, String?)] = []
            for await result in group { results.append(result) }
            return results
        }
        for (delivery, problem) in results {
            try await record(delivery, problem: problem)
        }
        return leased.count
    }

    /// A critical notice not acknowledged in time goes to the next level — a unit's to the task force, the task
    /// force's to `TASK_FORCE_ESCALATION` — once: the original is marked escalated in the same transaction.
    /// - Returns: How many were escalated.
    @discardableResult
    func escalateUnacknowledged() async throws -> Int {
        let now = clock.now()
        return try await database.withTransaction { connection in
            let rows = try await connection.query("""
                SELECT delivery_id::text, event_id, event_type, correlation_id, traceparent, recipient, body
                FROM notification.deliveries
                WHERE critical AND channel = 'inbox' AND acked_at IS NULL AND escalated_at IS NULL AND ack_due_at <= \(now)
                ORDER BY ack_due_at LIMIT 100 FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var due: [(String, String, String, String, String?, String, String)] = []
            for try await row in rows.decode((String, String, String, String, String?, String, String).self) { due.append(row) }
            for (id, event, type, correlation, trace, recipient, body) in due {
                let next = recipient == configuration.taskForceUnit ? configuration.taskForceEscalation : configuration.taskForceUnit
                let deliveryID = UUID().uuidString.lowercased()
                let inserted = try await connection.query("""
                    INSERT INTO notification.deliveries (delivery_id, event_id, event_type, correlation_id, recipient, channel, body, status, critical,
                                                         delivered_at, ack_due_at, traceparent, escalation_of)
                    VALUES (\(deliveryID)::uuid, \(event), \(type), \(correlation), \(next), 'inbox',
                            \("\(recipient) 未在 \(Int(configuration.ackTimeout / 60)) 分钟内确认 (Not acknowledged by \(recipient) within \(Int(configuration.ackTimeout / 60)) minutes): \(body)"), 'delivered', true,
                            \(now), \(now.addingTimeInterval(configuration.ackTimeout)), \(trace), \(id)::uuid)
                    ON CONFLICT (event_id, recipient, channel) DO NOTHING RETURNING 1
                    """, logger: logger)
                var isNew = false
                for try await _ in inserted { isNew = true }
                try await connection.query("UPDATE notification.deliveries SET escalated_at = \(now) WHERE delivery_id::text = \(id)", logger: logger)
                if isNew {
                    let cause = EventEnvelope(id: event, type: type, source: "notification", correlationID: correlation, traceparent: trace)
                    let message = try OutgoingMessage(NotificationDeliveredV1(
                        deliveryID: deliveryID, aboutEventID: event, aboutEventType: type, recipient: next, channel: .inbox, deliveredAt: now),
                        envelope: cause.caused(type: NotificationDeliveredV1.eventType, source: NotificationService.name, subject: deliveryID))
                    try await Outbox.enqueue(message, on: connection, schema: database.schema, logger: logger)
                }
                logger.notice("critical notice not acknowledged; escalated", metadata: [
                    "notification.delivery_id": "\(id)", "notification.recipient": "\(recipient)", "notification.escalated_to": "\(next)",
                ])
            }
            return due.count
        }
    }

    /// Sends one delivery. - Returns: nil when it arrived, else what went wrong.
    func send(_ delivery: Pending) async -> String? {
        switch delivery.channel {
        case "webhook":
            let payload = WebhookPayload(
                deliveryID: delivery.deliveryID, eventID: delivery.eventID, eventType: delivery.eventType, correlationID: delivery.correlationID,
                recipient: delivery.recipient, text: delivery.body)
            guard let url = URL(string: delivery.address), url.host != nil, ["http", "https"].contains(url.scheme?.lowercased()),
                  let body = try? ContractCoding.encoder().encode(payload)
            else {
                return "the endpoint address is not an http(s) URL"
            }
            let timestamp = Int(Date().timeIntervalSince1970)
            var request = HTTPClientRequest(url: delivery.address)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "X-Huhang-Timestamp", value: String(timestamp))
            request.headers.add(name: "X-Huhang-Delivery", value: delivery.deliveryID)
            request.headers.add(name: "X-Huhang-Signature", value: WebhookSignature.sign(body: Array(body), timestamp: timestamp, secret: delivery.secret ?? ""))
            request.body = .bytes(ByteBuffer(bytes: body))
            return await post(request)
        case "sms", "email":
            guard let provider = delivery.channel == "sms" ? configuration.sms : configuration.email else {
                return "no \(delivery.channel) provider is configured (\(delivery.channel.uppercased())_PROVIDER_URL)"
            }
            var address = delivery.address
            if let sealed = delivery.sealedAddress {
                guard let opened = try? cipher.open(sealed) else { return "the contact is sealed with a key this service does not hold" }
                address = String(decoding: opened, as: UTF8.self)
            }
            let message = ProviderMessage(
                to: address, subject: delivery.channel == "email" ? "护航 Huhang: \(delivery.eventType)" : nil, text: delivery.body,
                reference: delivery.deliveryID)
            guard let body = try? ContractCoding.encoder().encode(message) else { return "the message could not be encoded" }
            var request = HTTPClientRequest(url: provider.url.absoluteString)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Authorization", value: "Bearer \(provider.key)")
            request.body = .bytes(ByteBuffer(bytes: body))
            return await post(request)
        default:
            return "no sender for channel \(delivery.channel)"
        }
    }

    /// Posts a request with the shared HTTP client (event loops shared with the
    /// rest of the service, redirects followed as a browser would).
    /// - Returns: nil when the endpoint answered 2xx, else what went wrong.
    private func post(_ request: HTTPClientRequest) async -> String? {
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(configuration.timeout * 1000)))
            // The answer's body is not used; read (a bounded part of) it so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(response.status.code) else { return "the endpoint answered \(response.status.code)" }
            return nil
        } catch {
            return "request failed: \(String(describing: error).prefix(300))"
        }
    }

    private func record(_ delivery: Pending, problem: String?) async throws {
        let now = clock.now()
        let attempt = delivery.attempts + 1
        try await database.withTransaction { connection in
            try await connection.query("""
                INSERT INTO notification.attempts (delivery_id, attempt, at, ok, detail)
                VALUES (\(delivery.deliveryID)::uuid, \(attempt), \(now), \(problem == nil), \(problem))
                """, logger: logger)
            if problem == nil {
                try await connection.query("""
                    UPDATE notification.deliveries SET status = 'delivered', attempts = \(attempt), delivered_at = \(now), last_error = NULL
                    WHERE delivery_id = \(delivery.deliveryID)::uuid
                    """, logger: logger)
                let event = NotificationDeliveredV1(
                    deliveryID: delivery.deliveryID, aboutEventID: delivery.eventID, aboutEventType: delivery.eventType, recipient: delivery.recipient,
                    channel: NotificationDeliveredV1.Channel(rawValue: delivery.channel) ?? .webhook, deliveredAt: now)
                let cause = EventEnvelope(
                    id: delivery.eventID, type: delivery.eventType, source: "notification", correlationID: delivery.correlationID,
                    traceparent: delivery.traceparent)
                let message = try OutgoingMessage(event, envelope: cause.caused(
                    type: NotificationDeliveredV1.eventType, source: NotificationService.name, subject: delivery.deliveryID))
                try await Outbox.enqueue(message, on: connection, schema: database.schema, logger: logger)
                sent.increment()
            } else if attempt >= configuration.maxAttempts {
                try await connection.query("""
                    UPDATE notification.deliveries SET status = 'failed', attempts = \(attempt), last_error = \(problem)
                    WHERE delivery_id = \(delivery.deliveryID)::uuid
                    """, logger: logger)
                failed.increment()
                logger.error("notification failed for good", metadata: [
                    "notification.delivery_id": "\(delivery.deliveryID)", "notification.channel": "\(delivery.channel)",
                    "notification.recipient": "\(delivery.recipient)", "notification.attempts": "\(attempt)", "error.message": "\(problem ?? "")",
                ])
            } else {
                try await connection.query("""
                    UPDATE notification.deliveries SET attempts = \(attempt), last_error = \(problem),
                           next_attempt_at = \(now.addingTimeInterval(configuration.retryDelay(after: attempt)))
                    WHERE delivery_id = \(delivery.deliveryID)::uuid
                    """, logger: logger)
            }
        }
    }
}

/// What an SMS or e-mail provider gateway receives (one adapter shape; the provider's URL and key configure it).
struct ProviderMessage: Codable {
    var to: String
    var subject: String?
    var text: String
    /// The delivery id, for the provider's receipts.
    var reference: String
}

/// What a webhook receives: ids and the fixed words, never a child's name.
struct WebhookPayload: Codable {
    var deliveryID: String
    var eventID: String
    var eventType: String
    var correlationID: String
    var recipient: String
    var text: String
    enum CodingKeys: String, CodingKey {
        case deliveryID = "deliveryId", eventID = "eventId", eventType, correlationID = "correlationId", recipient, text
    }
}
