import Contracts
import Foundation
import Messaging
import PostgresNIO
@testable import Storage
import Testing

/// Migrations, outbox and inbox against the real PostgreSQL and RabbitMQ.
@Suite("Storage", .serialized)
struct StorageTests {
    @Test("a transaction waiting for a database that does not answer gives up as soon as its caller is cancelled")
    func waitingTransactionCancelled() async throws {
        // Nothing listens on port 1: the pool keeps trying to connect and the lease waits.
        try await withDatabase(schema: "unreachable", url: "postgres://huhang:huhang@127.0.0.1:1/huhang_test") { database in
            let attempt = Task {
                try await database.withTransaction(within: .seconds(30)) { connection in
                    try await connection.query("SELECT 1", logger: database.logger)
                }
            }
            try await Task.sleep(for: .seconds(1))
            let asked = ContinuousClock.now
            attempt.cancel()
            let result = await attempt.result
            let took = ContinuousClock.now - asked
            #expect(took < .seconds(2), "the attempt ended \(took) after its caller was cancelled")
            #expect(throws: CancellationError.self) { try result.get() }
        }
    }

    @Test("migrations applied by three replicas at once run once each")
    func concurrentMigrations() async throws {
        let schema = "migrate_" + UUID().uuidString.lowercased().prefix(8).filter(\.isLetter)
        let migrations = [
            Migration(1, "a", "CREATE TABLE {schema}.a (id int);\nINSERT INTO {schema}.a VALUES (1);"),
            Migration(2, "b", "INSERT INTO {schema}.a VALUES (2);"),
        ]
        try await withDatabase(schema: String(schema)) { database in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 { group.addTask { try await Migrator.migrate(migrations, on: database) } }
                try await group.waitForAll()
            }
            #expect(try await count(database, "SELECT count(*)::int FROM \(unescaped: database.schema).a") == 2)
            #expect(try await count(database, "SELECT count(*)::int FROM \(unescaped: database.schema).schema_migrations WHERE track = 'service'") == 2)
            try await database.query("DROP SCHEMA \(unescaped: database.schema) CASCADE")
        }
    }

    @Test("an outbox row is published again when the relay stops between publish and mark, and the inbox applies it once")
    func relayStoppedBetweenPublishAndMark() async throws {
        try await withDatabase(schema: "relaytest") { database in
            try await Migrator.migrate([], on: database)
            let amqp = try TestEnvironment.amqp("relaytest")
            let setup = try await AMQPConnection.connect(amqp, logger: TestEnvironment.logger)
            let (queue, key) = try await temporaryQueue(on: setup, prefix: "relay")

            let id = UUID().uuidString.lowercased()
            let message = OutgoingMessage(
                exchange: ExchangeName.events, routingKey: key,
                properties: AMQPProperties(contentType: "application/json", messageID: id, type: key), body: Array("{}".utf8))
            try await database.withTransaction { connection in
                try await Outbox.enqueue(message, on: connection, schema: database.schema, logger: database.logger)
            }

            // The first relay publishes, then dies before marking the row sent.
            struct Killed: Error {}
            let publisher = Publisher(configuration: amqp, logger: TestEnvironment.logger)
            let dying = OutboxRelay(database: database, publisher: publisher, configuration: .init(), logger: TestEnvironment.logger) { _ in
                throw Killed()
            }
            await #expect(throws: Killed.self) { try await dying.relayOnce() }
            #expect(try await count(database, "SELECT count(*)::int FROM relaytest.outbox WHERE message_id = \(id) AND sent_at IS NULL") == 1)

            // A new relay publishes it again and, confirmed, deletes it.
            let relay = OutboxRelay(database: database, publisher: publisher, logger: TestEnvironment.logger)
            var handled = 0
            while try await relay.relayOnce() > 0 { handled += 1 }
            #expect(handled >= 1)
            #expect(try await count(database, "SELECT count(*)::int FROM relaytest.outbox WHERE message_id = \(id)") == 0)

            // Both copies arrive; the consumer's inbox applies the message once.
            let consumer = try await AMQPConnection.connect(amqp, confirms: false, logger: TestEnvironment.logger)
            var copies = 0
            var applied = 0
            for try await delivery in try await consumer.consume(queue: queue, prefetch: 10) {
                #expect(delivery.properties.messageID == id)
                copies += 1
                let isNew = try await database.withTransaction { connection in
                    try await Inbox.claim(id, type: key, on: connection, schema: database.schema, logger: database.logger)
                }
                if isNew { applied += 1 }
                await consumer.ack(delivery)
                if copies == 2 { break }
            }
            #expect(copies == 2)
            #expect(applied == 1)
            await consumer.close()
            await setup.close()
            await publisher.close()
        }
    }

    @Test("a commit that wrote outbox rows wakes the process's relay at once, long before its poll")
    func commitWakesRelay() async throws {
        try await withDatabase(schema: "relaytest") { database in
            try await Migrator.migrate([], on: database)
            let amqp = try TestEnvironment.amqp("relaytest")
            let setup = try await AMQPConnection.connect(amqp, logger: TestEnvironment.logger)
            let (_, key) = try await temporaryQueue(on: setup, prefix: "wake")
            let publisher = Publisher(configuration: amqp, logger: TestEnvironment.logger)
            let relay = OutboxRelay(database: database, publisher: publisher,
                                    configuration: .init(pollInterval: .seconds(120)), logger: TestEnvironment.logger)
            let running = Task { try await relay.run() }
            // Let the relay finish its first round and start waiting for a wake-up.
            try await Task.sleep(for: .milliseconds(500))

            let id = UUID().uuidString.lowercased()
            let message = OutgoingMessage(
                exchange: ExchangeName.events, routingKey: key,
                properties: AMQPProperties(contentType: "application/json", messageID: id, type: key), body: Array("{}".utf8))
            let committed = ContinuousClock.now
            try await database.withTransaction { connection in
                try await Outbox.enqueue(message, on: connection, schema: database.schema, logger: database.logger)
            }
            let sent = try await eventually(timeout: .seconds(10)) {
                try await count(database, "SELECT count(*)::int FROM relaytest.outbox WHERE message_id = \(id)") == 0
            }
            let waited = ContinuousClock.now - committed
            #expect(sent)
            #expect(waited < .seconds(5), "sent \(waited) after the commit; the poll is 120 s")

            running.cancel()
            OutboxWakeups.committed(schema: database.schema, rows: [])
            _ = try? await running.value
            await setup.close()
            await publisher.close()
        }
    }

    @Test("a rolled-back transaction leaves no outbox row")
    func rollbackLeavesNoOutboxRow() async throws {
        try await withDatabase(schema: "relaytest") { database in
            try await Migrator.migrate([], on: database)
            let id = UUID().uuidString.lowercased()
            struct BusinessRuleFailed: Error {}
            await #expect(throws: BusinessRuleFailed.self) {
                try await database.withTransaction { connection in
                    let message = OutgoingMessage(exchange: ExchangeName.events, routingKey: "x.v1",
                                                  properties: AMQPProperties(messageID: id), body: [])
                    try await Outbox.enqueue(message, on: connection, schema: database.schema, logger: database.logger)
                    throw BusinessRuleFailed()
                }
            }
            #expect(try await count(database, "SELECT count(*)::int FROM relaytest.outbox WHERE message_id = \(id)") == 0)
        }
    }

    @Test("a prepared statement is parsed once per connection and reads each value as it was encoded, a null included")
    func preparedStatementReused() async throws {
        try await withDatabase(schema: "preparedtest") { database in
            try await database.query("DROP SCHEMA IF EXISTS preparedtest CASCADE")
            try await database.query("CREATE SCHEMA preparedtest")
            try await database.query("CREATE TABLE preparedtest.t (id uuid PRIMARY KEY, n int4, at timestamptz, note text, tags text[])")
            let at = Date(timeIntervalSince1970: 1_790_000_000)
            let rows: [(UUID, Int, String?, [String])] = [(UUID(), 7, "seven", ["a"]), (UUID(), 8, nil, []), (UUID(), 9, "nine", ["b", "c"])]
            let read = try await database.withConnection { connection -> [String] in
                var read: [String] = []
                for (id, n, note, tags) in rows {
                    // An int8 into an int4 column, a String cast to uuid, a null, an array: as an unnamed statement would.
                    try await connection.query(prepared: """
                        INSERT INTO preparedtest.t (id, n, at, note, tags) VALUES (\(id.uuidString)::uuid, \(n), \(at), \(note), \(tags))
                        """, logger: database.logger)
                    let found = try await connection.query(prepared: """
                        SELECT n, note, tags FROM preparedtest.t WHERE id = \(id.uuidString)::uuid AND at = \(at)
                        """, logger: database.logger)
                    for try await (n, note, tags) in found.decode((Int, String?, [String]).self) {
                        read.append("\(n) \(note ?? "-") \(tags.joined(separator: ","))")
                    }
                    // Planned for its values each time: sent unnamed, never kept.
                    let planned = try await connection.query(prepared: """
                        SELECT count(*)::int FROM preparedtest.t WHERE id = ANY(\([id.uuidString])::uuid[]) AND n = \(n)
                        """, planning: .eachTime, logger: database.logger)
                    for try await count in planned.decode(Int.self) { read.append("found \(count)") }
                }
                // Kept by the connection: the insert twice (with a note, and with a null), the select once.
                let kept = try await connection.query(
                    "SELECT count(*)::int FROM pg_prepared_statements WHERE name LIKE 'huhang_%' AND statement LIKE '%preparedtest.t%'",
                    logger: database.logger)
                for try await count in kept.decode(Int.self) { read.append("kept \(count)") }
                return read
            }
            #expect(read == ["7 seven a", "found 1", "8 - ", "found 1", "9 nine b,c", "found 1", "kept 3"])
            // A statement with an error fails as an unnamed one would, and the connection stays usable.
            await #expect(throws: PSQLError.self) {
                try await database.withConnection { connection in
                    try await connection.query(prepared: "SELECT n FROM preparedtest.missing WHERE id = \(1)", logger: database.logger)
                }
            }
            try await database.query("DROP SCHEMA preparedtest CASCADE")
        }
    }

    @Test("a prepared statement notes the type of each value it binds, null for a nil")
    func preparedStatementTypes() throws {
        let absent: String? = nil
        let statement: PreparedSQL = "SELECT \(1), \("a"), \(absent), \(Date()), \([UUID()]), \(true) FROM \(unescaped: "t")"
        #expect(statement.types == [PostgresDataType.int8, .text, .null, .timestamptz, .uuidArray, .bool])
        #expect(statement.query.sql == "SELECT $1, $2, $3, $4, $5, $6 FROM t")
        #expect(statement.query.binds.count == 6)
    }
}
