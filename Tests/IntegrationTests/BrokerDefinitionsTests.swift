@testable import Assessment
import Foundation
@testable import Inspection
@testable import Intake
@testable import Intervention
import Messaging
@testable import Notification
import ServiceKit
import Testing

/// The least-privilege broker of `docker-compose.yml` (`deploy/rabbitmq/definitions.json`) lets each
/// service do what its topology asks, and no more: declare its own queues and aside exchange, bind its
/// queue to every exchange its handlers name, consume its queue, publish to the exchanges it writes.
/// A handler added on a new exchange without a grant fails here, not in a container at start.
@Suite("Broker definitions")
struct BrokerDefinitionsTests {
    static let definitions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/rabbitmq/definitions.json")

    struct Grant {
        let configure: NSRegularExpression
        let write: NSRegularExpression
        let read: NSRegularExpression
    }

    static func grants() throws -> [String: Grant] {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: definitions)) as? [String: Any])
        let permissions = try #require(document["permissions"] as? [[String: String]])
        var grants: [String: Grant] = [:]
        for entry in permissions {
            let user = try #require(entry["user"])
            grants[user] = Grant(
                configure: try NSRegularExpression(pattern: entry["configure"] ?? "^$"),
                write: try NSRegularExpression(pattern: entry["write"] ?? "^$"),
                read: try NSRegularExpression(pattern: entry["read"] ?? "^$"))
        }
        return grants
    }

    static func allows(_ pattern: NSRegularExpression, _ name: String) -> Bool {
        pattern.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }

    /// Each service's queues as a service on that broker declares them (shared topology only checked).
    static func queues() throws -> [(String, ServiceQueues, publishes: [String])] {
        func configured(_ service: String) throws -> ServiceConfiguration {
            var configuration = try TestEnvironment.serviceConfiguration(service)
            configuration.declaresSharedTopology = false
            return configuration
        }
        let logger = TestEnvironment.logger
        return [
            ("intake", try RunningService<IntakeService>(configuration: try configured("intake"), logger: logger).queues, ["huhang.events", "huhang.replies"]),
            ("assessment", try RunningService<AssessmentService>(configuration: try configured("assessment"), logger: logger).queues, ["huhang.events"]),
            ("intervention", try RunningService<InterventionService>(configuration: try configured("intervention"), logger: logger).queues, ["huhang.events"]),
            ("inspection", try RunningService<InspectionService>(configuration: try configured("inspection"), logger: logger).queues, ["huhang.events"]),
            ("notification", try RunningService<NotificationService>(configuration: try configured("notification"), logger: logger).queues, ["huhang.events"]),
        ]
    }

    @Test("each service may declare, bind, consume and publish what its topology needs")
    func everyServiceItsTopology() throws {
        let grants = try Self.grants()
        for (service, queues, publishes) in try Self.queues() {
            let grant = try #require(grants[service], "no permissions for \(service)")
            let topology = queues.topology
            #expect(!queues.declaresShared, "\(service) checks the shared topology on that broker")
            for queue in topology.queues where !queue.passive {
                #expect(Self.allows(grant.configure, queue.name), "\(service) may not declare its queue \(queue.name)")
            }
            for exchange in topology.exchanges where !exchange.passive {
                #expect(Self.allows(grant.configure, exchange.name), "\(service) may not declare the exchange \(exchange.name)")
            }
            for binding in topology.bindings {
                #expect(Self.allows(grant.write, binding.queue), "\(service) may not bind its queue \(binding.queue)")
                #expect(Self.allows(grant.read, binding.exchange), "\(service) may not bind from \(binding.exchange) (\(binding.routingKey))")
            }
            #expect(Self.allows(grant.read, queues.mainQueue), "\(service) may not consume \(queues.mainQueue)")
            for exchange in publishes + [queues.asideExchange] {
                #expect(Self.allows(grant.write, exchange), "\(service) may not publish to \(exchange)")
            }
            // And no more: no other service's queues.
            for other in ["intake", "assessment", "intervention", "inspection", "notification"] where other != service {
                #expect(!Self.allows(grant.read, "\(other).events") && !Self.allows(grant.configure, "\(other).events"),
                        "\(service) may read or configure \(other).events")
            }
        }
    }

    @Test("the catch-all queues are bounded: one policy caps each by size and drops the oldest first")
    func catchAllsBounded() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.definitions)) as? [String: Any])
        let policies = try #require(document["policies"] as? [[String: Any]])
        let catchAlls = Topology.exchanges.queues.map(\.name)
        #expect(Set(catchAlls) == [ExchangeName.unroutedEvents, ExchangeName.unclaimedReplies])
        for queue in catchAlls {
            // RabbitMQ applies the one matching policy of the highest priority.
            let matching = try policies.filter { policy in
                let pattern = try NSRegularExpression(pattern: policy["pattern"] as? String ?? "^$")
                return (policy["apply-to"] as? String) == "queues" && Self.allows(pattern, queue)
            }
            #expect(matching.count == 1, "\(queue) matches \(matching.count) policies")
            let definition = matching.first?["definition"] as? [String: Any]
            let bytes = definition?["max-length-bytes"] as? Int ?? 0
            #expect(bytes > 0 && bytes <= 4 << 30, "\(queue) is not bounded by size")
            #expect(definition?["overflow"] as? String == "drop-head", "\(queue) must keep taking what no one claims, dropping the oldest")
        }
    }
}
