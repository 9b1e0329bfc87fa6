import Contracts
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Messaging
@testable import Notification
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage
import Synchronization
import Testing

/// Notification against the real broker and database, and a real HTTP receiver standing in for an agency's system.
@Suite("Notification", .serialized)
struct NotificationTests {
    /// An agency's webhook receiver: verifies each signature as an agency would, answers 503 the first `failures` times.
    final class Receiver: Sendable {
        let secret: String
        let failures: Int
        let received = Mutex<[(verified: Bool, delivery: String)]>([])

        init(secret: String, failures: Int) {
            self.secret = secret
            self.failures = failures
        }

        /// What an agency's integrator writes: HMAC-SHA256 over `<timestamp>.<body>`, compared to the header.
        static func verify(body: [UInt8], timestamp: String, signature: String, secret: String) -> Bool {
            let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: Data(secret.utf8)))
            return signature == "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
        }

        func application(port: Int) -> some ApplicationProtocol {
            let router = Router()
            router.post("hook") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                let verified = Self.verify(
                    body: Array(buffer: body), timestamp: request.headers[HTTPField.Name("X-Huhang-Timestamp")!] ?? "",
                    signature: request.headers[HTTPField.Name("X-Huhang-Signature")!] ?? "", secret: self.secret)
                let count = self.received.withLock { received in
                    received.append((verified, request.headers[HTTPField.Name("X-Huhang-Delivery")!] ?? ""))
                    return received.count
                }
                return Response(status: count <= self.failures ? .serviceUnavailable : .ok)
            }
            return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: Logger(label: "receiver"))
        }
    }

    @Test("a task-assigned event becomes a signed webhook: two failures then success is three attempts and one delivery; the event again sends nothing")
    func webhook() async throws {
        let hookPort = try freePort()
        let receiver = Receiver(secret: "agency-webhook-secret-\(UUID().uuidString)", failures: 2)
        let notification = try RunningService<NotificationService>(
            configuration: try ServiceConfiguration(service: "notification", defaultHTTPPort: 0, environment: [
                "AMQP_URL": TestEnvironment.amqpURL, "DATABASE_URL": TestEnvironment.databaseURL, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0",
                "OUTBOX_POLL_INTERVAL_MS": "200", "RETRY_DELAYS": "0.2,0.4", "DATABASE_POOL_SIZE": "4", "OUTBOX_RETENTION_SECONDS": "3600",
                "ANNOUNCE": "all",
            ]), logger: TestEnvironment.logger)
        let unit = TestEnvironment.unique("unit")
        let app = receiver.application(port: hookPort)
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "receiver")))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await serviceGroup.run() }
            try await withServices([notification]) { () async throws in
                try await notification.database.query("""
                    INSERT INTO notification.endpoints (recipient, channel, address, secret)
                    VALUES (\(unit), 'webhook', \("http://127.0.0.1:\(hookPort)/hook"), \(receiver.secret))
                    """)
                let task = TaskAssignedV1(
                    taskID: UUID().uuidString, caseID: UUID().uuidString, subjectID: "s-00000000000000000000000000000002", unit: unit,
                    measure: "first_response", tier: .high, dueAt: Date().addingTimeInterval(86_400), urgent: false)
                let message = try OutgoingMessage(task, envelope: EventEnvelope(type: TaskAssignedV1.eventType.name, source: "intervention"))
                let publisher = Publisher(configuration: try TestEnvironment.amqp("notification-test"), logger: TestEnvironment.logger)
                #expect(try await publisher.publish(message) == .confirmed)
                // Retries: 1 s, then about 2 s (NOTIFY_RETRY_BASE_MS 1000).
                #expect(try await eventually(timeout: .seconds(30)) {
                    try await count(notification.database, "SELECT count(*)::int FROM notification.deliveries WHERE recipient = \(unit) AND channel = 'webhook' AND status = 'delivered'") == 1
                })
                let attempts = receiver.received.withLock { $0 }
                #expect(attempts.count == 3)
                #expect(attempts.allSatisfy { $0.verified }, "a signature did not verify")
                #expect(Set(attempts.map(\.delivery)).count == 1)
                #expect(try await count(notification.database, """
                    SELECT count(*)::int FROM notification.attempts a JOIN notification.deliveries d USING (delivery_id)
                    WHERE d.recipient = \(unit) AND d.channel = 'webhook'
                    """) == 3)
                // The inbox has it too, and each channel's delivery is announced once.
                #expect(try await eventually {
                    try await count(notification.database, """
                        SELECT count(*)::int FROM notification.outbox WHERE routing_key = 'notification.delivered.v1' AND convert_from(body, 'UTF8') LIKE \("%\(unit)%")
                        """) == 2
                })
                // The same event again (a redelivery): nothing is sent twice.
                #expect(try await publisher.publish(message) == .confirmed)
                try await Task.sleep(for: .seconds(3))
                #expect(receiver.received.withLock { $0.count } == 3)
                #expect(try await count(notification.database, "SELECT count(*)::int FROM notification.deliveries WHERE recipient = \(unit)") == 2)
                await publisher.close()
            }
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test("notices arriving together are told together: each event's deliveries by its own recipients and endpoints, each inbox one announced once")
    func noticesTogether() async throws {
        let notification = try RunningService<NotificationService>(
            configuration: try TestEnvironment.serviceConfiguration("notification", port: 0), logger: TestEnvironment.logger)
        let units = (0..<12).map { _ in TestEnvironment.unique("unit") }
        try await withServices([notification]) { () async throws in
            // Every third unit also has a webhook (never called here: its delivery waits as pending or is tried).
            for unit in units.enumerated().filter({ $0.offset % 3 == 0 }).map(\.element) {
                try await notification.database.query("""
                    INSERT INTO notification.endpoints (recipient, channel, address, secret) VALUES (\(unit), 'webhook', 'http://127.0.0.1:9/hook', 's')
                    """)
            }
            // Two tasks for each unit, published at once: the consumer takes them in batches.
            let messages = try (units + units).map { unit in
                try OutgoingMessage(
                    TaskAssignedV1(
                        taskID: UUID().uuidString, caseID: UUID().uuidString, subjectID: "s-00000000000000000000000000000003", unit: unit,
                        measure: "first_response", tier: .high, dueAt: Date().addingTimeInterval(86_400), urgent: false),
                    envelope: EventEnvelope(type: TaskAssignedV1.eventType.name, source: "intervention"))
            }
            let publisher = Publisher(configuration: try TestEnvironment.amqp("notification-together"), logger: TestEnvironment.logger)
            #expect(try await publisher.publish(messages).allSatisfy { $0 == .confirmed })
            await publisher.close()
            #expect(try await eventually(timeout: .seconds(30)) {
                try await count(notification.database, """
                    SELECT count(*)::int FROM notification.deliveries WHERE recipient = ANY(\(units)::text[]) AND channel = 'inbox'
                    """) == 24
            })
            #expect(try await count(notification.database, """
                SELECT count(*)::int FROM notification.deliveries WHERE recipient = ANY(\(units)::text[]) AND channel = 'webhook'
                """) == 8)
            // One inbox delivery per event and unit, each announced once, about its own event.
            #expect(try await count(notification.database, """
                SELECT count(DISTINCT (event_id, recipient))::int FROM notification.deliveries WHERE recipient = ANY(\(units)::text[]) AND channel = 'inbox'
                """) == 24)
            #expect(try await eventually {
                try await count(notification.database, """
                    SELECT count(*)::int FROM notification.outbox o JOIN notification.deliveries d
                      ON convert_from(o.body, 'UTF8')::jsonb->>'deliveryId' = d.delivery_id::text
                     AND convert_from(o.body, 'UTF8')::jsonb->>'aboutEventId' = d.event_id
                    WHERE o.routing_key = 'notification.delivered.v1' AND d.recipient = ANY(\(units)::text[])
                    """) == 24
            })
        }
    }

    @Test("an endpoint that never answers is failed for good after the last attempt, with its reason, and does not hold up others")
    func permanentFailure() async throws {
        let notification = try RunningService<NotificationService>(
            configuration: try TestEnvironment.serviceConfiguration("notification"), logger: TestEnvironment.logger)
        let dead = TestEnvironment.unique("dead-unit"), alive = TestEnvironment.unique("unit")
        try await withServices([notification]) { () async throws in
            // Nothing listens on the dead one's port.
            try await notification.database.query("""
                INSERT INTO notification.endpoints (recipient, channel, address, secret) VALUES (\(dead), 'webhook', \("http://127.0.0.1:\(try freePort())/hook"), 's')
                """)
            let configuration = try NotificationConfiguration(environment: ["NOTIFY_MAX_ATTEMPTS": "2", "NOTIFY_RETRY_BASE_MS": "100"])
            let sender = DeliverySender(
                database: notification.database, originator: Originator(database: notification.database, source: NotificationService.name),
                configuration: configuration, clock: SystemWallClock(), cipher: try PersonalDataCipher.fromEnvironment(logger: TestEnvironment.logger), logger: TestEnvironment.logger)
            let publisher = Publisher(configuration: try TestEnvironment.amqp("notification-fail"), logger: TestEnvironment.logger)
            for unit in [dead, alive] {
                let task = TaskAssignedV1(
                    taskID: UUID().uuidString, caseID: UUID().uuidString, subjectID: "s-00000000000000000000000000000003", unit: unit,
                    measure: "counselling", tier: .medium, dueAt: Date().addingTimeInterval(86_400), urgent: false)
                #expect(try await publisher.publish(try OutgoingMessage(task, envelope: EventEnvelope(type: TaskAssignedV1.eventType.name, source: "intervention"))) == .confirmed)
            }
            await publisher.close()
            // The living unit's inbox is written at once, whatever the dead endpoint does.
            #expect(try await eventually {
                try await count(notification.database, "SELECT count(*)::int FROM notification.deliveries WHERE recipient = \(alive) AND status = 'delivered'") == 1
            })
            // With a short-fused sender: the dead endpoint is tried twice, then failed with the reason. The service's own
            // sender (six attempts, doubling from a second) may take the first attempts, so this waits up to a minute and a half.
            #expect(try await eventually(timeout: .seconds(90)) {
                try await sender.sendOnce()
                return try await count(notification.database, """
                    SELECT count(*)::int FROM notification.deliveries WHERE recipient = \(dead) AND channel = 'webhook' AND status = 'failed'
                    AND last_error LIKE 'request failed%' AND attempts >= 2
                    """) == 1
            })
        }
    }

    @Test("with the clock moved, a critical notice not acknowledged escalates once to the task force; an acknowledged one does not")
    func acknowledgement() async throws {
        let clock = ManualWallClock()
        let port = try freePort()
        let notification = try RunningService<NotificationService>(
            configuration: try TestEnvironment.serviceConfiguration("notification", port: port), logger: TestEnvironment.logger, clock: clock)
        let silent = TestEnvironment.unique("unit"), attentive = TestEnvironment.unique("unit")
        let tokens = try APITokens(secret: APITokens.developmentSecret)
        try await withServices([notification]) { () async throws in
            let publisher = Publisher(configuration: try TestEnvironment.amqp("notification-ack"), logger: TestEnvironment.logger)
            var events: [String: String] = [:]
            for unit in [silent, attentive] {
                let task = TaskAssignedV1(
                    taskID: UUID().uuidString, caseID: UUID().uuidString, subjectID: "s-00000000000000000000000000000004", unit: unit,
                    measure: "first_response", tier: .critical, dueAt: clock.now().addingTimeInterval(3600), urgent: true)
                let message = try OutgoingMessage(task, envelope: EventEnvelope(type: TaskAssignedV1.eventType.name, source: "intervention"))
                events[unit] = message.properties.messageID
                #expect(try await publisher.publish(message) == .confirmed)
            }
            await publisher.close()
            func delivery(_ unit: String) async throws -> String? {
                let rows = try await notification.database.query(
                    "SELECT delivery_id::text FROM notification.deliveries WHERE recipient = \(unit) AND channel = 'inbox' AND critical")
                for try await id in rows.decode(String.self) { return id }
                return nil
            }
            #expect(try await eventually {
                let first = try await delivery(silent), second = try await delivery(attentive)
                return first != nil && second != nil
            })
            // The attentive unit acknowledges in its inbox; another unit cannot acknowledge for it.
            let attentiveDelivery = try #require(try await delivery(attentive))
            func ack(_ as: String) async throws -> Int {
                let token = try await tokens.issue(APIIdentity(agency: `as`, role: .caseworker), lifetime: .seconds(60))
                return try await http("POST", "http://127.0.0.1:\(port)/v1/inbox/\(attentive)/\(attentiveDelivery)/ack", body: nil,
                                      headers: ["Authorization": "Bearer \(token)"]).status
            }
            #expect(try await ack(silent) == 403)
            #expect(try await ack(attentive) == 204)
            func escalations(_ unit: String) async throws -> Int {
                try await count(notification.database, """
                    SELECT count(*)::int FROM notification.deliveries WHERE recipient = 'district-task-force' AND event_id = \(events[unit]!)
                    AND body LIKE \("%Not acknowledged by \(unit) within%")
                    """)
            }
            // Fourteen minutes: nothing yet. Sixteen: the silent unit's notice goes to the task force, once.
            clock.advance(by: 14 * 60)
            try await Task.sleep(for: .seconds(1.5))
            #expect(try await escalations(silent) == 0)
            clock.advance(by: 2 * 60)
            #expect(try await eventually { try await escalations(silent) == 1 })
            clock.advance(by: 60 * 60)
            try await Task.sleep(for: .seconds(1.5))
            #expect(try await escalations(silent) == 1)
            #expect(try await escalations(attentive) == 0)
        }
    }

    @Test("an SMS goes through the configured provider gateway with its key")
    func smsProvider() async throws {
        let providerPort = try freePort()
        let seen = Mutex<[(authorization: String, body: String)]>([])
        let router = Router()
        router.post("sms") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 16)
            seen.withLock { $0.append((request.headers[.authorization] ?? "", String(buffer: body))) }
            return Response(status: .ok)
        }
        let provider = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: providerPort)), logger: Logger(label: "provider"))
        let providerGroup = ServiceGroup(configuration: .init(services: [provider], logger: Logger(label: "provider")))
        // The service reads its providers from the process environment, as in production.
        setenv("SMS_PROVIDER_URL", "http://127.0.0.1:\(providerPort)/sms", 1)
        setenv("SMS_PROVIDER_KEY", "provider-key-1", 1)
        defer {
            unsetenv("SMS_PROVIDER_URL")
            unsetenv("SMS_PROVIDER_KEY")
        }
        let notification = try RunningService<NotificationService>(
            configuration: try TestEnvironment.serviceConfiguration("notification"), logger: TestEnvironment.logger)
        let unit = TestEnvironment.unique("unit")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await providerGroup.run() }
            try await withServices([notification]) { () async throws in
                try await notification.database.query(
                    "INSERT INTO notification.endpoints (recipient, channel, address) VALUES (\(unit), 'sms', '+8613800000000')")
                let task = TaskAssignedV1(
                    taskID: UUID().uuidString, caseID: UUID().uuidString, subjectID: "s-00000000000000000000000000000005", unit: unit,
                    measure: "counselling", tier: .high, dueAt: Date().addingTimeInterval(86_400), urgent: true)
                let publisher = Publisher(configuration: try TestEnvironment.amqp("notification-sms"), logger: TestEnvironment.logger)
                #expect(try await publisher.publish(try OutgoingMessage(task, envelope: EventEnvelope(type: TaskAssignedV1.eventType.name, source: "intervention"))) == .confirmed)
                await publisher.close()
                #expect(try await eventually {
                    try await count(notification.database, "SELECT count(*)::int FROM notification.deliveries WHERE recipient = \(unit) AND channel = 'sms'") == 1
                })
                #expect(try await eventually {
                    try await count(notification.database, "SELECT count(*)::int FROM notification.deliveries WHERE recipient = \(unit) AND channel = 'sms' AND status = 'delivered'") == 1
                })
                let sent = seen.withLock { $0 }
                #expect(sent.contains { $0.authorization == "Bearer provider-key-1" && $0.body.contains("+8613800000000") && $0.body.contains("counselling") })
            }
            await providerGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
