import Contracts
import Foundation
import Testing
import Yams

/// The AsyncAPI document agencies' integrators are given, read with a standard YAML parser as their
/// tools would, and checked against the Swift contracts: a message per contract, with its schema; every
/// reference resolving.
@Suite("AsyncAPI document")
struct AsyncAPITests {
    static let contracts = SchemaTests.schemaDirectory.deletingLastPathComponent()

    static func document() throws -> [String: Any] {
        let text = try String(contentsOf: contracts.appendingPathComponent("asyncapi.yaml"), encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    static func section(_ document: [String: Any], _ path: String...) throws -> [String: [String: Any]] {
        var node: Any = document
        for key in path { node = try #require((node as? [String: Any])?[key], "no \(path.joined(separator: "/"))") }
        let dictionary = try #require(node as? [String: Any])
        return dictionary.compactMapValues { $0 as? [String: Any] }
    }

    static func reference(_ node: [String: Any]?) -> String? { node?["$ref"] as? String }

    @Test("it loads with Yams as AsyncAPI 3, and every contract is a message with its schema file")
    func everyContract() throws {
        let document = try Self.document()
        #expect(document["asyncapi"] as? String == "3.0.0")
        let messages = try Self.section(document, "components", "messages")
        let named = Dictionary(messages.values.compactMap { message in (message["name"] as? String).map { ($0, message) } }) { first, _ in first }
        for payload in Contracts.allPayloads {
            let name = payload.eventType.name
            let message = try #require(named[name], "no message named \(name)")
            let schema = try #require(Self.reference(message["payload"] as? [String: Any]), "\(name): no payload reference")
            #expect(schema == "./Schemas/\(name).json", "\(name): payload is \(schema)")
            #expect(FileManager.default.fileExists(atPath: Self.contracts.appendingPathComponent(schema).path), "\(schema) is missing")
        }
        #expect(Set(named.keys) == Set(Contracts.allPayloads.map { $0.eventType.name }), "messages without a contract, or the other way round")
    }

    @Test("every channel, operation and message reference resolves, and every message is on a channel")
    func referencesResolve() throws {
        let document = try Self.document()
        let channels = try Self.section(document, "channels")
        let messages = try Self.section(document, "components", "messages")
        let schemas = try Self.section(document, "components", "schemas")
        var used = Set<String>()
        for (key, channel) in channels {
            #expect(channel["address"] is String, "channel \(key) has no address")
            for (_, entry) in (channel["messages"] as? [String: Any] ?? [:]) {
                let target = try #require(Self.reference(entry as? [String: Any]), "channel \(key): a message without $ref")
                let name = target.replacingOccurrences(of: "#/components/messages/", with: "")
                #expect(target.hasPrefix("#/components/messages/") && messages[name] != nil, "channel \(key) → \(target)")
                used.insert(name)
            }
        }
        #expect(used == Set(messages.keys), "messages on no channel: \(Set(messages.keys).subtracting(used).sorted())")
        for (key, operation) in try Self.section(document, "operations") {
            let target = try #require(Self.reference(operation["channel"] as? [String: Any]), "operation \(key) names no channel")
            #expect(channels[target.replacingOccurrences(of: "#/channels/", with: "")] != nil, "operation \(key) → \(target)")
            #expect(["send", "receive"].contains(operation["action"] as? String ?? ""), "operation \(key): action")
        }
        for (key, message) in messages {
            if let headers = Self.reference(message["headers"] as? [String: Any]) {
                #expect(schemas[headers.replacingOccurrences(of: "#/components/schemas/", with: "")] != nil, "message \(key) → \(headers)")
            }
        }
    }

    @Test("each producer's contracts are on its exchange: agencies' on huhang.intake, receipts on huhang.replies, the services' on huhang.events")
    func producersAndExchanges() throws {
        let document = try Self.document()
        let channels = try Self.section(document, "channels")
        let messages = try Self.section(document, "components", "messages")
        var exchangeOf: [String: String] = [:]
        for channel in channels.values {
            let exchange = (((channel["bindings"] as? [String: Any])?["amqp"] as? [String: Any])?["exchange"] as? [String: Any])?["name"] as? String
            for entry in (channel["messages"] as? [String: Any] ?? [:]).values {
                let key = (Self.reference(entry as? [String: Any]) ?? "").replacingOccurrences(of: "#/components/messages/", with: "")
                if let name = messages[key]?["name"] as? String { exchangeOf[name] = exchange }
            }
        }
        for payload in Contracts.agencyPayloads { #expect(exchangeOf[payload.eventType.name] == "huhang.intake", "\(payload.eventType.name)") }
        #expect(exchangeOf[IntakeReceiptV1.eventType.name] == "huhang.replies")
        let services = Contracts.intakePayloads + Contracts.assessmentPayloads + Contracts.interventionPayloads + Contracts.inspectionPayloads
            + Contracts.notificationPayloads + Contracts.sharedPayloads
        for payload in services where payload != IntakeReceiptV1.self {
            #expect(exchangeOf[payload.eventType.name] == "huhang.events", "\(payload.eventType.name) is on \(exchangeOf[payload.eventType.name] ?? "no exchange")")
        }
        let names = Contracts.allPayloads.map { $0.eventType.name }
        #expect(Set(names).count == names.count, "a contract listed by two producers")
    }
}
