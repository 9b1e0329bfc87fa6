import Contracts
import Foundation
import Logging
@testable import Messaging
@testable import ServiceKit
@testable import Storage
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test("AMQP URLs parse into host, port, user and vhost")
    func amqpURLs() throws {
        let plain = try AMQPConfiguration(url: "amqp://u:p%40ss@broker:5673")
        #expect(plain.host == "broker" && plain.port == 5673 && plain.user == "u" && plain.password == "p@ss" && plain.vhost == "/")
        #expect(try AMQPConfiguration(url: "amqp://u:p@h/%2f").vhost == "/")
        #expect(try AMQPConfiguration(url: "amqp://u:p@h/huhang-test").vhost == "huhang-test")
        #expect(try AMQPConfiguration(url: "amqp://h").user == "guest")
        #expect(!plain.redactedURL.contains("p@ss"))
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "http://h") }
    }

    @Test("a cluster's nodes: listed in AMQP_URL or AMQP_ADDRESSES, each with its port or 5672; a malformed node is refused")
    func clusterNodes() throws {
        let cluster = try AMQPConfiguration(url: "amqp://u:p%40ss@n1:5672,n2:5673,n3/huhang")
        #expect(cluster.host == "n1" && cluster.port == 5672 && cluster.vhost == "huhang" && cluster.password == "p@ss")
        #expect(cluster.addresses.map(\.description) == ["n1:5672", "n2:5673", "n3:5672"])
        #expect(cluster.redactedURL == "amqp://u@n1:5672,n2:5673,n3:5672/huhang")
        #expect(try AMQPConfiguration(url: "amqp://u:p@h:5679").addresses == [.init(host: "h", port: 5679)])
        #expect(try AMQPConfiguration.address("[::1]:5673") == .init(host: "::1", port: 5673))
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "amqp://u:p@n1:5672,:5673/") }
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "amqp://u:p@n1,n2:70000") }
        let second = cluster.at(cluster.addresses[1])
        #expect(second.host == "n2" && second.port == 5673 && second.addresses == cluster.addresses && second.user == "u")
        let configured = try ServiceConfiguration(service: "intake", defaultHTTPPort: 8081, environment: [
            "AMQP_URL": "amqp://svc:pw@ignored:5672/huhang", "AMQP_ADDRESSES": "b1:5701, b2:5702,b3",
        ])
        #expect(configured.amqp.addresses.map(\.description) == ["b1:5701", "b2:5702", "b3:5672"] && configured.amqp.host == "b1"
                && configured.amqp.vhost == "huhang" && configured.amqp.user == "svc")
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(service: "intake", defaultHTTPPort: 8081, environment: ["AMQP_ADDRESSES": "b1:port"])
        }
    }

    @Test("database URLs parse, and the password never shows in the redacted form")
    func databaseURLs() throws {
        let config = try DatabaseConfiguration(url: "postgres://svc:secret@db:5433/huhang")
        #expect(config.host == "db" && config.port == 5433 && config.user == "svc" && config.password == "secret" && config.database == "huhang")
        #expect(!config.redactedURL.contains("secret"))
        #expect(throws: StorageError.self) { try DatabaseConfiguration(url: "mysql://x") }
    }

    @Test("service settings come from the environment with documented defaults")
    func serviceDefaults() throws {
        let config = try ServiceConfiguration(service: "intake", defaultHTTPPort: 8081, environment: [:])
        #expect(config.httpPort == 8081)
        #expect(config.amqp.host == "127.0.0.1" && config.amqp.user == "huhang" && config.amqp.heartbeatSeconds == 10)
        #expect(config.database.database == "huhang")
        #expect(config.prefetch == 64 && config.handlerConcurrency == 1 && config.handlerBatchSize == 32)
        #expect(config.retryDelays == [.seconds(1), .seconds(5), .seconds(30), .seconds(120), .seconds(600)])
        let custom = try ServiceConfiguration(service: "intake", defaultHTTPPort: 8081, environment: [
            "HTTP_PORT": "9000", "RETRY_DELAYS": "0.5, 2", "LOG_LEVEL": "debug", "AMQP_PREFETCH": "100",
        ])
        #expect(custom.httpPort == 9000 && custom.retryDelays == [.milliseconds(500), .seconds(2)])
        #expect(custom.logLevel == .debug && custom.prefetch == 100)
    }

    @Test("a bad setting names the variable and what is expected", arguments: [
        ["HTTP_PORT": "eighty"], ["LOG_LEVEL": "loud"], ["RETRY_DELAYS": "1,x"], ["LOG_FORMAT": "xml"],
    ])
    func badSettings(environment: [String: String]) {
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(service: "intake", defaultHTTPPort: 8081, environment: environment)
        }
    }
}

@Suite("Topology")
struct TopologyTests {
    @Test("a service's queues: quorum, a delivery limit, at-least-once dead-lettering, retry queues named by delay")
    func serviceQueues() {
        let queues = ServiceQueues(
            service: "assessment", bindings: [(ExchangeName.events, "report.accepted.v1")],
            retryDelays: [.milliseconds(200), .seconds(5)], deliveryLimit: 7)
        let topology = queues.topology
        #expect(Set(topology.exchanges.map(\.name)) == [
            "huhang.intake", "huhang.events", "huhang.events.unrouted", "huhang.replies", "huhang.replies.unclaimed", "assessment.aside",
        ])
        let byName = Dictionary(uniqueKeysWithValues: topology.queues.map { ($0.name, $0) })
        #expect(Set(byName.keys) == [
            "assessment.events", "assessment.dead", "assessment.retry.200ms", "assessment.retry.5s", "huhang.replies.unclaimed",
            "huhang.events.unrouted",
        ])
        #expect(topology.exchanges.first { $0.name == "huhang.replies" }?.arguments["alternate-exchange"] == .string("huhang.replies.unclaimed"))
        #expect(topology.exchanges.first { $0.name == "huhang.events" }?.arguments["alternate-exchange"] == .string("huhang.events.unrouted"))
        let main = byName["assessment.events"]!.arguments
        #expect(main["x-queue-type"] == .string("quorum"))
        #expect(main["x-delivery-limit"] == .int(7))
        #expect(main["x-dead-letter-routing-key"] == .string("assessment.dead"))
        #expect(main["x-dead-letter-strategy"] == .string("at-least-once"))
        #expect(main["x-overflow"] == .string("reject-publish"))
        let retry = byName["assessment.retry.5s"]!.arguments
        #expect(retry["x-message-ttl"] == .int(5000))
        #expect(retry["x-dead-letter-routing-key"] == .string("assessment.events"))
        #expect(topology.bindings.filter { $0.queue == "assessment.events" && $0.exchange == "huhang.events" }
            == [.init(queue: "assessment.events", exchange: "huhang.events", routingKey: "report.accepted.v1")])
        #expect(queues.retryQueue(1) == "assessment.retry.200ms")
        #expect(queues.retryQueue(2) == "assessment.retry.5s")
        #expect(topology.passive(["assessment.events"]).queues.first { $0.name == "assessment.events" }?.passive == true)
        // Retry and dead queues are reached through the service's own exchange, never the default one.
        #expect(Set(topology.bindings.filter { $0.exchange == "assessment.aside" }.map(\.queue)) == [
            "assessment.events", "assessment.dead", "assessment.retry.200ms", "assessment.retry.5s",
        ])
        // Dead-lettering and the way back from a retry queue need no right to the default exchange.
        #expect(topology.queues.allSatisfy { $0.arguments["x-dead-letter-exchange"].map { $0 == .string("assessment.aside") } ?? true })
        #expect(topology.bindings.filter { $0.exchange == "assessment.aside" }.allSatisfy { $0.routingKey == $0.queue })
    }

    @Test("least privilege: a service only checks the shared exchanges and declares nothing but its own")
    func checkedSharedTopology() throws {
        let queues = ServiceQueues(service: "notification", bindings: [(ExchangeName.events, "task.assigned.v1")], declaresShared: false)
        let topology = queues.topology
        #expect(topology.exchanges.filter { !$0.passive }.map(\.name) == ["notification.aside"])
        #expect(topology.exchanges.filter(\.passive).count == Topology.exchanges.exchanges.count)
        #expect(topology.queues.allSatisfy { $0.name.hasPrefix("notification.") })
        #expect(topology.bindings.allSatisfy { $0.queue.hasPrefix("notification.") })
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(service: "intake", defaultHTTPPort: 8081, environment: ["AMQP_SHARED_TOPOLOGY": "maybe"])
        }
        #expect(try ServiceConfiguration(service: "intake", defaultHTTPPort: 8081, environment: ["AMQP_SHARED_TOPOLOGY": "check"]).declaresSharedTopology == false)
    }

    @Test("back-off grows, stays under its maximum, and starts again after a reset")
    func backoff() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2))
        let delays = (0..<10).map { _ in backoff.next() }
        #expect(delays.allSatisfy { $0 <= .seconds(2) && $0 > .zero })
        #expect(delays[0] <= .milliseconds(100))
        #expect(delays[9] >= .seconds(1))
        backoff.reset()
        #expect(backoff.next() <= .milliseconds(100))
    }
}

@Suite("Envelope on AMQP")
struct EnvelopeMappingTests {
    func delivery(_ properties: AMQPProperties, exchange: String = "huhang.intake", routingKey: String = "report.incident.v1") -> Delivery {
        Delivery(deliveryTag: 1, redelivered: false, exchange: exchange, routingKey: routingKey, properties: properties, body: [], connectionID: 1)
    }

    @Test("CloudEvents attributes survive the trip through AMQP properties and headers")
    func roundTrip() throws {
        var envelope = EventEnvelope(
            type: "risk.assessed.v1", source: "assessment", time: Date(timeIntervalSince1970: 1_795_000_000.5), subject: "s-1",
            dataschema: "urn:huhang:schema:risk.assessed.v1", correlationID: "corr-1", causationID: "cause-1",
            traceparent: TraceContext.random().traceparent)
        envelope.replyTo = "agency.replies"
        let read = try EventEnvelope(delivery: delivery(envelope.amqpProperties, exchange: "huhang.events", routingKey: "risk.assessed.v1"))
        #expect(read == envelope)
        #expect(envelope.amqpProperties.headers["specversion"] == .string("1.0"))
        #expect(envelope.amqpProperties.persistent)
    }

    @Test("a message without an id is refused with a reason")
    func missingID() {
        #expect(throws: EnvelopeError.self) { try EventEnvelope(delivery: delivery(AMQPProperties(type: "x.v1"))) }
    }

    @Test("the sender is the verified user_id; a sender header is trusted only from the service's own retry queue")
    func senderTrust() throws {
        let forged = AMQPProperties(messageID: "1", type: "report.incident.v1", headers: [HeaderName.sender: .string("police-hq")])
        #expect(try EventEnvelope(delivery: delivery(forged)).sender == nil)
        #expect(try EventEnvelope(delivery: delivery(forged, exchange: "")).sender == "police-hq")
        #expect(try EventEnvelope(delivery: delivery(forged, exchange: "intake.aside")).sender == "police-hq")
        #expect(try EventEnvelope(delivery: delivery(forged, exchange: "huhang.intake")).sender == nil)
        let verified = AMQPProperties(messageID: "1", type: "report.incident.v1", userID: "school-1")
        #expect(try EventEnvelope(delivery: delivery(verified)).sender == "school-1")
    }

    @Test("after a retry the type comes from the original routing key when the type property is absent")
    func typeAfterRetry() throws {
        let properties = AMQPProperties(messageID: "1", headers: [HeaderName.originalRoutingKey: .string("report.incident.v1")])
        #expect(try EventEnvelope(delivery: delivery(properties, exchange: "", routingKey: "intake.events")).type == "report.incident.v1")
    }
}

@Suite("Migrations")
struct MigrationSplitTests {
    @Test("migration SQL splits into statements at semicolons that end a line")
    func split() {
        let sql = "CREATE TABLE a (x text DEFAULT ';');\nINSERT INTO a VALUES ('1;2');\n\n  CREATE INDEX i ON a (x);  \n"
        #expect(Migrator.statements(sql) == ["CREATE TABLE a (x text DEFAULT ';')", "INSERT INTO a VALUES ('1;2')", "CREATE INDEX i ON a (x)"])
    }
}
