import Contracts
import Foundation
import Messaging
import Testing

/// The AMQP layer against the real broker.
@Suite("Messaging", .serialized)
struct MessagingTests {
    func message(_ key: String, id: String = UUID().uuidString, body: String = "{}") -> OutgoingMessage {
        OutgoingMessage(
            exchange: ExchangeName.events, routingKey: key,
            properties: AMQPProperties(contentType: "application/json", messageID: id, type: key, headers: ["n": .int(7), "s": .string("x")]),
            body: Array(body.utf8))
    }

    @Test("publish a window with confirms, then consume every message")
    func publishThenConsume() async throws {
        let connection = try await AMQPConnection.connect(try TestEnvironment.amqp(), logger: TestEnvironment.logger)
        let (queue, key) = try await temporaryQueue(on: connection)
        let ids = (0..<500).map { "m-\($0)-\(UUID().uuidString)" }
        let outcomes = try await connection.publish(ids.map { message(key, id: $0, body: "{\"id\":\"\($0)\"}") })
        #expect(outcomes.count == 500)
        #expect(outcomes.allSatisfy { $0 == .confirmed })

        let consumer = try await AMQPConnection.connect(try TestEnvironment.amqp(), confirms: false, logger: TestEnvironment.logger)
        let stream = try await consumer.consume(queue: queue, prefetch: 100)
        var seen: [String] = []
        for try await delivery in stream {
            seen.append(delivery.properties.messageID ?? "")
            #expect(delivery.properties.headers["n"] == .int(7))
            #expect(delivery.properties.headers["s"] == .string("x"))
            #expect(delivery.body == Array("{\"id\":\"\(delivery.properties.messageID!)\"}".utf8))
            #expect(await consumer.ack(delivery))
            if seen.count == ids.count { break }
        }
        #expect(seen == ids)
        await consumer.close()
        await connection.close()
    }

    @Test("an unroutable mandatory publish comes back as returned, not confirmed")
    func unroutableIsReturned() async throws {
        let connection = try await AMQPConnection.connect(try TestEnvironment.amqp(), logger: TestEnvironment.logger)
        try await connection.declare(Topology.exchanges)
        var unroutable = message(TestEnvironment.unique("nobody.listens"))
        unroutable.exchange = ExchangeName.intake
        let outcome = try await connection.publish(unroutable)
        guard case .returned(let code, _) = outcome else {
            Issue.record("expected returned, got \(outcome)")
            return
        }
        #expect(code == 312)
        // The channel stays usable.
        let (_, key) = try await temporaryQueue(on: connection)
        #expect(try await connection.publish(message(key)) == .confirmed)
        await connection.close()
    }

    @Test("a domain event no service is bound to yet is kept in huhang.events.unrouted, not bounced")
    func unroutedDomainEventIsKept() async throws {
        let connection = try await AMQPConnection.connect(try TestEnvironment.amqp(), logger: TestEnvironment.logger)
        try await connection.declare(Topology.exchanges)
        let key = TestEnvironment.unique("not.consumed.yet")
        #expect(try await connection.publish(message(key)) == .confirmed)
        let found = try await firstDelivery(on: ExchangeName.unroutedEvents) { $0.routingKey == key } != nil
        #expect(found)
        await connection.close()
    }

    @Test("a delivery from a lost connection is never acknowledged on the next one, and comes again")
    func staleDeliveryTagIsNotAcked() async throws {
        let publisher = try await AMQPConnection.connect(try TestEnvironment.amqp(), logger: TestEnvironment.logger)
        let (queue, key) = try await temporaryQueue(on: publisher)
        let id = UUID().uuidString
        #expect(try await publisher.publish(message(key, id: id)) == .confirmed)

        let first = try await AMQPConnection.connect(try TestEnvironment.amqp(), confirms: false, logger: TestEnvironment.logger)
        var firstStream = try await first.consume(queue: queue, prefetch: 1).makeAsyncIterator()
        let stale = try #require(try await firstStream.next())
        #expect(stale.properties.messageID == id)
        first.abort()
        _ = try? await eventually(timeout: .seconds(5)) { !first.isOpen }

        let second = try await AMQPConnection.connect(try TestEnvironment.amqp(), confirms: false, logger: TestEnvironment.logger)
        #expect(await second.ack(stale) == false)
        var secondStream = try await second.consume(queue: queue, prefetch: 1).makeAsyncIterator()
        let again = try #require(try await secondStream.next())
        #expect(again.properties.messageID == id)
        #expect(again.redelivered)
        #expect(await second.ack(again))
        #expect(second.isOpen)
        await second.close()
        await publisher.close()
    }

    @Test("heartbeats keep flowing while the caller does nothing for several heartbeat intervals")
    func heartbeatsDuringLongHandler() async throws {
        // With a 1 s heartbeat the broker closes a silent connection after about 2 s.
        let connection = try await AMQPConnection.connect(try TestEnvironment.amqp(heartbeat: 1), logger: TestEnvironment.logger)
        let (_, key) = try await temporaryQueue(on: connection)
        try await Task.sleep(for: .seconds(5))
        #expect(connection.isOpen)
        #expect(try await connection.publish(message(key)) == .confirmed)
        await connection.close()
    }

    @Test("a cluster's nodes, the first gone: each connection goes on to the next node that answers, and publishes with confirms there")
    func nextNodeWhenOneIsGone() async throws {
        let broker = try TestEnvironment.amqp()
        // A node that is gone: a port nothing listens on. The list names it first and last, around the real broker.
        let gone = AMQPConfiguration.Address(host: "127.0.0.1", port: try freePort())
        var cluster = broker
        cluster.addresses = [gone, .init(host: broker.host, port: broker.port), gone]
        cluster.connectTimeout = .seconds(2)
        // Wherever each call starts in the list, it ends on the broker: three calls start at each node in turn.
        for _ in 0..<3 {
            let connection = try await AMQPConnection.connect(cluster, logger: TestEnvironment.logger)
            let (_, key) = try await temporaryQueue(on: connection)
            #expect(try await connection.publish(message(key)) == .confirmed)
            await connection.close()
        }
        // With every node gone, the failure of the last one tried is thrown.
        var none = cluster
        none.addresses = [gone, gone]
        await #expect(throws: AMQPError.self) {
            _ = try await AMQPConnection.connect(none, logger: TestEnvironment.logger)
        }
    }

    @Test("a wrong password is refused with a login error")
    func loginFailure() async throws {
        var configuration = try TestEnvironment.amqp()
        configuration.password = "wrong"
        await #expect(throws: AMQPError.self) {
            _ = try await AMQPConnection.connect(configuration, logger: TestEnvironment.logger)
        }
    }
}

@Suite("Service queues", .serialized)
struct ServiceQueueTests {
    @Test("a message requeued past the delivery limit is dead-lettered by the broker with the reason")
    func deliveryLimit() async throws {
        let service = "limit" + String(UUID().uuidString.lowercased().prefix(6).filter(\.isLetter))
        let queues = ServiceQueues(service: service, bindings: [], retryDelays: [.seconds(1)], deliveryLimit: 2)
        let connection = try await AMQPConnection.connect(try TestEnvironment.amqp(), logger: TestEnvironment.logger)
        try await connection.declare(queues.topology)
        let id = UUID().uuidString
        let message = OutgoingMessage(exchange: "", routingKey: queues.mainQueue,
                                      properties: AMQPProperties(messageID: id, type: "test.ping.v1"), body: Array("{}".utf8))
        #expect(try await connection.publish(message) == .confirmed)

        // A consumer that crashes on the message every time: requeue, again and again.
        let consumer = try await AMQPConnection.connect(try TestEnvironment.amqp(), confirms: false, logger: TestEnvironment.logger)
        var deliveries = 0
        let stream = try await consumer.consume(queue: queues.mainQueue, prefetch: 1)
        let watcher = Task {
            for try await delivery in stream {
                deliveries += 1
                await consumer.reject(delivery, requeue: true)
            }
            return deliveries
        }
        let dead = try await AMQPConnection.connect(try TestEnvironment.amqp(), confirms: false, logger: TestEnvironment.logger)
        var iterator = try await dead.consume(queue: queues.deadQueue, prefetch: 1).makeAsyncIterator()
        let deadLetter = try #require(try await iterator.next())
        #expect(deadLetter.properties.messageID == id)
        guard case .array(let deaths)? = deadLetter.properties.headers["x-death"],
              case .table(let death)? = deaths.first else {
            Issue.record("no x-death header: \(deadLetter.properties.headers)")
            return
        }
        #expect(death["reason"]?.stringValue == "delivery_limit")
        #expect(death["queue"]?.stringValue == queues.mainQueue)
        await consumer.close()
        #expect(try await watcher.value == 3)
        await dead.close()
        for queue in queues.topology.queues { try await connection.deleteQueue(queue.name) }
        await connection.close()
    }
}
