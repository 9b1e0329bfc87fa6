import Contracts
import Foundation
@testable import Messaging
import PostgresNIO
import ServiceKit
import Storage
import Synchronization
import Testing

/// A whole service (the ledger test service) consuming from the real broker.
@Suite("Consumer", .serialized)
struct ConsumerTests {
    func ledger() throws -> RunningService<LedgerService> {
        try RunningService<LedgerService>(configuration: try TestEnvironment.serviceConfiguration("ledgertest"), logger: TestEnvironment.logger)
    }

    func applied(_ database: Database, _ key: String) async throws -> Int {
        try await count(database, "SELECT count(*)::int FROM ledgertest.applied WHERE key = \(key)")
    }

    /// Reads `ledgertest.dead` until a message with `id` shows up.
    func deadLetter(id: String) async throws -> Delivery? {
        try await firstDelivery(on: "ledgertest.dead") { $0.properties.messageID == id }
    }

    @Test("the same message delivered twice changes state once")
    func duplicateDeliveryAppliesOnce() async throws {
        let service = try ledger()
        let key = TestEnvironment.unique("dup")
        let id = UUID().uuidString.lowercased()
        try await withServices([service]) { () async throws in
            #expect(try await service.publisher.publish(PingV1(key: key), id: id) == .confirmed)
            #expect(try await service.publisher.publish(PingV1(key: key), id: id) == .confirmed)
            #expect(try await eventually { try await applied(service.database, key) == 1 })
            // Give the second copy time to be handled, then check again.
            try await Task.sleep(for: .seconds(1))
            #expect(try await applied(service.database, key) == 1)
        }
    }

    /// A ping as a consumer hands it to the dispatcher.
    func incoming(_ ping: PingV1, id: String = UUID().uuidString.lowercased()) throws -> EventDispatcher.Incoming {
        let envelope = EventEnvelope(id: id, type: PingV1.eventType.name, source: "test", subject: ping.key,
                                     dataschema: PingV1.eventType.dataschema, traceparent: TraceContext.random().traceparent)
        return EventDispatcher.Incoming(envelope: envelope, body: try OutgoingMessage(ping, envelope: envelope).body)
    }

    func claimed(_ database: Database, _ id: String) async throws -> Int {
        try await count(database, "SELECT count(*)::int FROM ledgertest.inbox WHERE message_id = \(id)")
    }

    @Test("a batch with one failing message commits the others once, and the failing one is retried alone")
    func batchWithFailingMessage() async throws {
        let service = try ledger()
        let run = TestEnvironment.unique("batch")
        let keys = (1...6).map { "\(run)-\($0)" }
        try await withServices([service]) { () async throws in
            var batch = try keys.map { try incoming(PingV1(key: $0, mode: $0 == keys[2] ? "blocked" : nil)) }
            batch.append(batch[0])  // the same message twice in one batch
            batch.append(EventDispatcher.Incoming(
                envelope: EventEnvelope(id: UUID().uuidString.lowercased(), type: "test.unknown.v1", source: "test"), body: Array("{}".utf8)))
            let outcomes = await service.dispatcher.dispatch(batch, holdWhileUnavailable: false)
            #expect(outcomes.count == batch.count)
            for (index, outcome) in outcomes.enumerated() {
                switch index {
                case 2:
                    guard case .failed(let reason) = outcome else { Issue.record("the blocked ping: \(outcome)"); continue }
                    #expect(reason.contains("blocked until the operator fixes it"))
                case 6: #expect(outcome == .duplicate)
                case 7:
                    guard case .rejected = outcome else { Issue.record("the unknown type: \(outcome)"); continue }
                default: #expect(outcome == .applied, "ping \(index)")
                }
            }
            for (index, key) in keys.enumerated() {
                #expect(try await applied(service.database, key) == (index == 2 ? 0 : 1), "ping \(index)")
            }
            // The failing one's claim was rolled back with it, so its retry is not a duplicate.
            #expect(try await claimed(service.database, batch[2].envelope.id) == 0)
            #expect(try await claimed(service.database, batch[0].envelope.id) == 1)

            // The retry, alone, once the cause is fixed: applied once; the others are not applied again.
            try await service.database.query("INSERT INTO ledgertest.unblocked (key) VALUES (\(keys[2]))", logger: TestEnvironment.logger)
            #expect(await service.dispatcher.dispatch([batch[2]], holdWhileUnavailable: false) == [.applied])
            let again = await service.dispatcher.dispatch(Array(batch[0..<6]), holdWhileUnavailable: false)
            #expect(again == Array(repeating: .duplicate, count: 6))
            for key in keys { #expect(try await applied(service.database, key) == 1) }
        }
    }

    @Test("what people set is read once and reused by later batches until it changes: the next batch after a change reads it again")
    func readOnceAcrossBatches() async throws {
        let service = try ledger()
        let run = TestEnvironment.unique("setting")
        try await withServices([service]) { () async throws in
            func ping(_ n: Int) throws -> EventDispatcher.Incoming { try incoming(PingV1(key: "\(run)-\(n)", mode: "setting")) }
            try await service.database.query("UPDATE ledgertest.settings SET value = 'blue' WHERE name = 'colour'", logger: TestEnvironment.logger)
            let before = LedgerService.settingReads.load(ordering: .relaxed)
            #expect(await service.dispatcher.dispatch([try ping(1), try ping(2)], holdWhileUnavailable: false) == [.applied, .applied])
            #expect(await service.dispatcher.dispatch([try ping(3)], holdWhileUnavailable: false) == [.applied])
            #expect(LedgerService.settingReads.load(ordering: .relaxed) - before == 1, "read by the first batch, reused by the second")
            for n in 1...3 { #expect(try await applied(service.database, "\(run)-\(n)=blue") == 1) }

            // A change, by any writer: the next batch reads the new value (and only once again).
            try await service.database.query("UPDATE ledgertest.settings SET value = 'green' WHERE name = 'colour'", logger: TestEnvironment.logger)
            #expect(await service.dispatcher.dispatch([try ping(4)], holdWhileUnavailable: false) == [.applied])
            #expect(await service.dispatcher.dispatch([try ping(5)], holdWhileUnavailable: false) == [.applied])
            #expect(LedgerService.settingReads.load(ordering: .relaxed) - before == 2)
            #expect(try await applied(service.database, "\(run)-4=green") == 1)
            #expect(try await applied(service.database, "\(run)-5=green") == 1)
        }
    }

    @Test("events handled together: one call for a batch's events of the type; if it fails, each is handled alone and only the failing one fails")
    func eventsHandledTogether() async throws {
        let service = try ledger()
        let run = TestEnvironment.unique("together")
        let keys = (1...5).map { "\(run)-\($0)" }
        func tally(_ key: String, blocked: Bool = false) throws -> EventDispatcher.Incoming {
            let envelope = EventEnvelope(id: UUID().uuidString.lowercased(), type: TallyV1.eventType.name, source: "test", subject: key,
                                         dataschema: TallyV1.eventType.dataschema)
            return EventDispatcher.Incoming(envelope: envelope, body: try OutgoingMessage(TallyV1(key: key, mode: blocked ? "blocked" : nil), envelope: envelope).body)
        }
        try await withServices([service]) { () async throws in
            // Tallies among pings, one twice: each applied once, its emitted event in the outbox.
            var batch = try keys.map { try tally($0) }
            batch.insert(try incoming(PingV1(key: "\(run)-ping")), at: 2)
            batch.append(batch[0])
            let outcomes = await service.dispatcher.dispatch(batch, holdWhileUnavailable: false)
            #expect(outcomes == Array(repeating: .applied, count: 6) + [.duplicate])
            for key in keys + ["\(run)-ping"] { #expect(try await applied(service.database, key) == 1, "\(key)") }
            #expect(try await count(service.database, "SELECT count(*)::int FROM ledgertest.outbox WHERE convert_from(body, 'UTF8') LIKE \("%" + run + "-%-told%")") == keys.count)

            // One blocked among them: the call fails, and each is handled alone — the others applied once, the blocked one failed.
            let second = (6...9).map { "\(run)-\($0)" }
            let again = try second.map { try tally($0, blocked: $0 == second[1]) }
            let results = await service.dispatcher.dispatch(again, holdWhileUnavailable: false)
            #expect(results[0] == .applied && results[2] == .applied && results[3] == .applied)
            guard case .failed(let reason) = results[1] else { Issue.record("the blocked tally: \(results[1])"); return }
            #expect(reason.contains("blocked until the operator fixes it"))
            for key in second { #expect(try await applied(service.database, key) == (key == second[1] ? 0 : 1), "\(key)") }
            #expect(try await claimed(service.database, again[1].envelope.id) == 0)
        }
    }

    @Test("an event about a subject whose earlier events wait in a group is applied after them; other subjects' stay in the group")
    func groupKeepsEachSubjectsOrder() async throws {
        let service = try ledger()
        let run = TestEnvironment.unique("order")
        func tally(_ key: String) throws -> EventDispatcher.Incoming {
            let envelope = EventEnvelope(id: UUID().uuidString.lowercased(), type: TallyV1.eventType.name, source: "test", subject: key,
                                         dataschema: TallyV1.eventType.dataschema)
            return EventDispatcher.Incoming(envelope: envelope, body: try OutgoingMessage(TallyV1(key: key), envelope: envelope).body)
        }
        try await withServices([service]) { () async throws in
            // The same subject: a tally, then a ping; another subject's tally, then a ping of a subject with no tally.
            let batch = [try tally("\(run)-a"), try incoming(PingV1(key: "\(run)-a")), try tally("\(run)-b"), try incoming(PingV1(key: "\(run)-c"))]
            #expect(await service.dispatcher.dispatch(batch, holdWhileUnavailable: false) == Array(repeating: .applied, count: 4))
            func order(_ key: String) async throws -> [String] {
                var ids: [String] = []
                let rows = try await service.database.query("SELECT message_id FROM ledgertest.applied WHERE key = \(key) ORDER BY id")
                for try await id in rows.decode(String.self) { ids.append(id) }
                return ids
            }
            // Subject a in the order its events came; b's tally applied too, after the ping of c (the group waits for the rest).
            #expect(try await order("\(run)-a") == [batch[0].envelope.id, batch[1].envelope.id])
            let all = try await service.database.query(
                "SELECT message_id FROM ledgertest.applied WHERE key LIKE \(run + "-%") ORDER BY id", logger: TestEnvironment.logger)
            var applied: [String] = []
            for try await id in all.decode(String.self) { applied.append(id) }
            #expect(applied == [batch[0].envelope.id, batch[1].envelope.id, batch[3].envelope.id, batch[2].envelope.id])

            // Two groups' events about one subject, interleaved: each group's call takes only what came before the other's.
            let key = "\(run)-d"
            func mark() throws -> EventDispatcher.Incoming {
                let envelope = EventEnvelope(id: UUID().uuidString.lowercased(), type: MarkV1.eventType.name, source: "test", subject: key,
                                             dataschema: MarkV1.eventType.dataschema)
                return EventDispatcher.Incoming(envelope: envelope, body: try OutgoingMessage(MarkV1(key: key), envelope: envelope).body)
            }
            let interleaved = [try tally(key), try mark(), try tally(key)]
            #expect(await service.dispatcher.dispatch(interleaved, holdWhileUnavailable: false) == Array(repeating: .applied, count: 3))
            #expect(try await order(key) == interleaved.map(\.envelope.id))
        }
    }

    @Test("deliveries handled in batches are each applied once and all acknowledged: a restart redelivers none")
    func batchesAreAcknowledged() async throws {
        let run = TestEnvironment.unique("acks")
        let keys = (1...120).map { "\(run)-\($0)" }
        let first = try ledger()
        try await withServices([first]) { () async throws in
            let outcomes = try await first.publisher.publish(keys.map { key in
                let envelope = EventEnvelope(type: PingV1.eventType.name, source: "test", subject: key, dataschema: PingV1.eventType.dataschema)
                return try OutgoingMessage(PingV1(key: key), envelope: envelope)
            })
            #expect(outcomes.allSatisfy { $0 == .confirmed })
            #expect(try await eventually { try await count(first.database, "SELECT count(*)::int FROM ledgertest.applied WHERE key LIKE \(run + "-%")") == keys.count })
        }
        // Anything the batches left unacknowledged went back to the queue when the consumer closed.
        let connection = try await AMQPConnection.connect(try TestEnvironment.amqp(), confirms: false, logger: TestEnvironment.logger)
        let stream = try await connection.consume(queue: first.queues.mainQueue, prefetch: 200)
        let left = try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                var left = 0
                for try await delivery in stream {
                    await connection.ack(delivery)
                    if String(decoding: delivery.body, as: UTF8.self).contains(run) { left += 1 }
                }
                return left
            }
            group.addTask {
                try await Task.sleep(for: .seconds(2))
                await connection.cancelConsumer()
                return nil
            }
            var left = 0
            for try await result in group { if let result { left = result } }
            return left
        }
        await connection.close()
        #expect(left == 0)
    }

    @Test("a malformed message is set aside with its reason while the next good one is applied")
    func malformedGoesToDeadQueue() async throws {
        let service = try ledger()
        let key = TestEnvironment.unique("good")
        let badID = UUID().uuidString.lowercased()
        try await withServices([service]) { () async throws in
            let bad = OutgoingMessage(
                exchange: ExchangeName.events, routingKey: PingV1.eventType.routingKey,
                properties: AMQPProperties(contentType: "application/json", messageID: badID, type: PingV1.eventType.name),
                body: Array("{not json".utf8))
            #expect(try await service.publisher.publish(bad) == .confirmed)
            #expect(try await service.publisher.publish(PingV1(key: key)) == .confirmed)
            #expect(try await eventually { try await applied(service.database, key) == 1 })
        }
        let dead = try #require(try await deadLetter(id: badID))
        let reason = dead.properties.headers[HeaderName.deadReason]?.stringValue ?? ""
        #expect(reason.contains("not JSON") || reason.contains("not valid JSON"))
        #expect(dead.properties.headers[HeaderName.deadService]?.stringValue == "ledgertest")
        #expect(dead.body == Array("{not json".utf8))
    }

    @Test("a message without an id, and an unknown major version, are set aside at once")
    func undecodableEnvelopes() async throws {
        let service = try ledger()
        let futureID = UUID().uuidString.lowercased()
        let key = TestEnvironment.unique("after")
        try await withServices([service]) { () async throws in
            // test.ping.v2 is not bound, so publish it on the v1 key with the v2 type.
            let future = OutgoingMessage(
                exchange: ExchangeName.events, routingKey: PingV1.eventType.routingKey,
                properties: AMQPProperties(contentType: "application/json", messageID: futureID, type: "test.ping.v2"),
                body: Array(#"{"key":"x"}"#.utf8))
            #expect(try await service.publisher.publish(future) == .confirmed)
            #expect(try await service.publisher.publish(PingV1(key: key)) == .confirmed)
            #expect(try await eventually { try await applied(service.database, key) == 1 })
        }
        let dead = try #require(try await deadLetter(id: futureID))
        #expect(dead.properties.headers[HeaderName.deadReason]?.stringValue?.contains("unsupported major version") == true)
    }

    @Test("a poison message is retried with growing delay, then set aside; others keep flowing")
    func poisonMessageIsSetAside() async throws {
        let service = try ledger()
        let poisonID = UUID().uuidString.lowercased()
        let key = TestEnvironment.unique("flow")
        try await withServices([service]) { () async throws in
            #expect(try await service.publisher.publish(PingV1(key: "poison", mode: "fail"), id: poisonID) == .confirmed)
            #expect(try await service.publisher.publish(PingV1(key: key)) == .confirmed)
            #expect(try await eventually { try await applied(service.database, key) == 1 })
            // Retries after 0.2 s and 0.4 s, then the dead queue.
            let dead = try #require(try await deadLetter(id: poisonID))
            let reason = dead.properties.headers[HeaderName.deadReason]?.stringValue ?? ""
            #expect(reason.contains("gave up after 2 retries"))
            #expect(reason.contains("handler failed on purpose"))
            #expect(dead.properties.headers[HeaderName.attempt]?.intValue == 3)
        }
    }

    @Test("a lost consumer connection is reopened, the topology declared again, and consuming goes on")
    func reconnectAfterConnectionLoss() async throws {
        let service = try ledger()
        let before = TestEnvironment.unique("before")
        let after = TestEnvironment.unique("after")
        try await withServices([service]) { () async throws in
            #expect(try await service.publisher.publish(PingV1(key: before)) == .confirmed)
            #expect(try await eventually { try await applied(service.database, before) == 1 })
            let consumer = try #require(service.consumer)
            let opened = consumer.connectionsOpened
            consumer.dropConnection()
            #expect(try await eventually(timeout: .seconds(10)) { consumer.connectionsOpened == opened + 1 })
            #expect(try await service.publisher.publish(PingV1(key: after)) == .confirmed)
            #expect(try await eventually { try await applied(service.database, after) == 1 })
            #expect(consumer.isConnected)
        }
    }

    @Test("a service told to stop while its database does not answer stops at once, not after its shutdown timeout")
    func stopsWithoutDatabase() async throws {
        // Nothing listens on port 1: every connection to the database is refused, as after a failover that left
        // the endpoint without a primary.
        let configuration = try ServiceConfiguration(service: "ledgertest", defaultHTTPPort: 0, environment: [
            "AMQP_URL": TestEnvironment.amqpURL, "DATABASE_URL": "postgres://huhang:huhang@127.0.0.1:1/huhang_test",
            "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0", "SHUTDOWN_TIMEOUT": "8",
        ])
        let service = try RunningService<LedgerService>(configuration: configuration, logger: TestEnvironment.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.runGroup() }
            try await Task.sleep(for: .seconds(2))
            #expect(!(await service.isReady()))
            let asked = ContinuousClock.now
            await service.shutdown()
            try await group.waitForAll()
            let took = ContinuousClock.now - asked
            #expect(took < .seconds(3), "stopping took \(took)")
        }
    }

    @Test("a v1 message with fields the reader does not know is accepted")
    func unknownFieldsAccepted() async throws {
        let service = try ledger()
        let key = TestEnvironment.unique("additive")
        try await withServices([service]) { () async throws in
            let message = OutgoingMessage(
                exchange: ExchangeName.events, routingKey: PingV1.eventType.routingKey,
                properties: AMQPProperties(contentType: "application/json", messageID: UUID().uuidString, type: PingV1.eventType.name),
                body: Array(#"{"key":"\#(key)","addedInV1_3":{"nested":true}}"#.utf8))
            #expect(try await service.publisher.publish(message) == .confirmed)
            #expect(try await eventually { try await applied(service.database, key) == 1 })
        }
    }

    @Test("an operator lists dead letters with their reasons and replays one after fixing the cause: it is applied once")
    func deadLetterReplay() async throws {
        let service = try ledger()
        let key = TestEnvironment.unique("blocked")
        let id = UUID().uuidString.lowercased()
        func admin(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try huhangAdmin(["dead"] + arguments + ["--service", "ledgertest"], environment: ["AMQP_URL": TestEnvironment.amqpURL])
        }
        try await withServices([service]) { () async throws in
            #expect(try await service.publisher.publish(PingV1(key: key, mode: "blocked"), id: id) == .confirmed)
            // Two retries, then set aside: the operator sees it, with why.
            #expect(try await eventually {
                let listed = try admin(["list"])
                return listed.output.split(separator: "\n").contains { $0.hasPrefix(id) && $0.contains("gave up after 2 retries") && $0.contains("blocked until") }
            })
            #expect(try await applied(service.database, key) == 0)
            // The cause fixed, the letter replayed: applied once, and gone from the dead queue.
            try await service.database.query("INSERT INTO ledgertest.unblocked (key) VALUES (\(key))")
            let replayed = try admin(["replay", "--id", id])
            #expect(replayed.status == 0 && replayed.output.contains("1 replayed to ledgertest.events"), "\(replayed.output)")
            #expect(try await eventually { try await applied(service.database, key) == 1 })
            #expect(!(try admin(["list"]).output.contains(id)))
            // An id that is not there is said so, with a failing status.
            let missing = try admin(["replay", "--id", "no-such-message"])
            #expect(missing.status == 2 && missing.output.contains("no-such-message\tnot found"))
            #expect(try admin(["replay"]).status != 0)
            try await Task.sleep(for: .seconds(1))
            #expect(try await applied(service.database, key) == 1)
        }
    }
}
