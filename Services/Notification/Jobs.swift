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

/// Sends pending deliveries. Each round leases a batch (``DeliveryStore/lease(now:until:limit:logger:)``:
/// replicas share them and a slow endpoint holds no lock), sends them concurrently — a failing endpoint
/// does not hold up the others — and records each attempt; a delivered one emits
/// `notification.delivered.v1`, a failed one is retried with back-off and
/// jitter, and after the last attempt is set aside as failed, counted in
/// `huhang_notification_failed_total` and logged as an error for operators.
/// Critical notices not acknowledged in time are passed on to the next level first.
/// Runs as a ``RepeatingJob``.
struct DeliverySender: Sendable {
    let database: Database
    let originator: Originator
    let deliveries: DeliveryStore
    let configuration: NotificationConfiguration
    let clock: any WallClock
    let cipher: PersonalDataCipher
    let logger: Logger
    private let failed = Counter(label: "huhang_notification_failed_total")
    private let sent = Counter(label: "huhang_notification_sent_total")

    init(
        database: Database, originator: Originator, configuration: NotificationConfiguration, clock: any WallClock, cipher: PersonalDataCipher,
        logger: Logger
    ) {
        self.database = database
        self.originator = originator
        self.deliveries = DeliveryStore(database: database)
        self.configuration = configuration
        self.clock = clock
        self.cipher = cipher
        self.logger = logger
    }

    /// One round: escalate what was not acknowledged, then send a batch.
    /// - Returns: Whether a full batch went.
    func round() async throws -> Bool {
        try await escalateUnacknowledged()
        return try await sendOnce() >= configuration.concurrency
    }

    /// Leases, sends and records one batch.
    /// - Returns: How many were attempted.
    @discardableResult
    func sendOnce() async throws -> Int {
        let now = clock.now()
        let leased = try await deliveries.lease(
            now: now, until: now.addingTimeInterval(configuration.timeout * 2 + 5), limit: configuration.concurrency, logger: logger)
        guard !leased.isEmpty else { return 0 }
        let results = await withTaskGroup(of: (DeliveryStore.Pending, String?).self) { group in
            for delivery in leased {
                group.addTask { (delivery, await send(delivery)) }
            }
            var results: [(DeliveryStore.Pending, String?)] = []
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
            let due = try await DeliveryStore.unacknowledged(dueBy: now, on: connection, logger: logger)
            for notice in due {
                let next = configuration.nextLevel(after: notice.recipient)
                let deliveryID = UUID().uuidString.lowercased()
                let isNew = try await DeliveryStore.insert(DeliveryStore.New(
                    deliveryID: deliveryID, eventID: notice.eventID, eventType: notice.eventType, correlationID: notice.correlationID,
                    traceparent: notice.traceparent, recipient: next, channel: "inbox",
                    body: Notices.escalation(of: notice.body, notAcknowledgedBy: notice.recipient, within: Int(configuration.ackTimeout / 60)),
                    status: "delivered", critical: true, deliveredAt: now, ackDueAt: now.addingTimeInterval(configuration.ackTimeout),
                    escalationOf: notice.deliveryID), on: connection, logger: logger)
                try await DeliveryStore.markEscalated(notice.deliveryID, at: now, on: connection, logger: logger)
                if isNew {
                    let cause = EventEnvelope(
                        id: notice.eventID, type: notice.eventType, source: "notification", correlationID: notice.correlationID,
                        traceparent: notice.traceparent)
                    try await originator.write([Emission(NotificationDeliveredV1(
                        deliveryID: deliveryID, aboutEventID: notice.eventID, aboutEventType: notice.eventType, recipient: next, channel: .inbox,
                        deliveredAt: now), subject: deliveryID, cause: cause)], on: connection)
                }
                logger.notice("critical notice not acknowledged; escalated", metadata: [
                    "notification.delivery_id": "\(notice.deliveryID)", "notification.recipient": "\(notice.recipient)",
                    "notification.escalated_to": "\(next)",
                ])
            }
            return due.count
        }
    }

    /// Sends one delivery.
    /// - Returns: nil when it arrived, else what went wrong.
    func send(_ delivery: DeliveryStore.Pending) async -> String? {
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
            let timestamp = Int(clock.now().timeIntervalSince1970)
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

    /// Records an attempt: delivered (and `notification.delivered.v1` emitted), failed for good after the last
    /// attempt, or retried after a delay.
    private func record(_ delivery: DeliveryStore.Pending, problem: String?) async throws {
        let now = clock.now()
        let attempt = delivery.attempts + 1
        try await database.withTransaction { connection in
            try await DeliveryStore.recordAttempt(of: delivery.deliveryID, attempt: attempt, at: now, problem: problem, on: connection, logger: logger)
            if problem == nil {
                try await DeliveryStore.markDelivered(delivery.deliveryID, attempts: attempt, at: now, on: connection, logger: logger)
                let event = NotificationDeliveredV1(
                    deliveryID: delivery.deliveryID, aboutEventID: delivery.eventID, aboutEventType: delivery.eventType, recipient: delivery.recipient,
                    channel: NotificationDeliveredV1.Channel(rawValue: delivery.channel) ?? .webhook, deliveredAt: now)
                let cause = EventEnvelope(
                    id: delivery.eventID, type: delivery.eventType, source: "notification", correlationID: delivery.correlationID,
                    traceparent: delivery.traceparent)
                try await originator.write([Emission(event, subject: delivery.deliveryID, cause: cause)], on: connection)
                sent.increment()
            } else if attempt >= configuration.maxAttempts {
                try await DeliveryStore.markFailed(delivery.deliveryID, attempts: attempt, problem: problem, on: connection, logger: logger)
                failed.increment()
                logger.error("notification failed for good", metadata: [
                    "notification.delivery_id": "\(delivery.deliveryID)", "notification.channel": "\(delivery.channel)",
                    "notification.recipient": "\(delivery.recipient)", "notification.attempts": "\(attempt)", "error.message": "\(problem ?? "")",
                ])
            } else {
                try await DeliveryStore.scheduleRetry(
                    delivery.deliveryID, attempts: attempt, problem: problem, at: now.addingTimeInterval(configuration.retryDelay(after: attempt)),
                    on: connection, logger: logger)
            }
        }
    }
}
