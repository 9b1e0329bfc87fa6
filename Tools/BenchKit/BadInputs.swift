import Contracts
import Foundation
import Messaging
import ToolKit

/// One generated bad input.
package struct BadInput: Sendable {
    package enum Kind: String, Sendable { case malformedJSON = "malformed JSON", wrongTypes = "wrong types", unknownVersion = "unknown version",
                                      oversized, wrongAgency = "wrong agency", missingHeaders = "missing headers" }
    package enum Credential: Sendable { case token, garbage, none }
    package var index: Int
    package var label: String
    package var kind: Kind
    package var agency: String
    package var type: String?
    package var id: String?
    package var body: [UInt8]
    package var credential: Credential = .token
    package var withUserID = true
    /// Its routing key on the bus.
    package var routingKey: String
    /// The broker has no route for it (its routing key is no type intake takes) and hands it back.
    package var unroutable = false

    /// Whether intake keys a rejection row for it: an id and a type it handles (on HTTP also a valid token).
    package var recordable: Bool { id != nil && (type.map { t in Contracts.agencyPayloads.contains { $0.eventType.name == t } } ?? false) }
    /// On HTTP: whether it gets past authentication, the ce-type check and the registry to the dispatcher.
    package var reachesDispatcher: Bool { credential == .token && recordable && kind != .wrongAgency && kind != .oversized }

    package func message() -> OutgoingMessage {
        var properties = AMQPProperties(contentType: "application/json", messageID: id, type: type, persistent: true)
        if withUserID { properties.userID = agency }
        properties.headers[BadInputs.labelHeader] = .string(label)
        properties.headers[HeaderName.specversion] = .string("1.0")
        return OutgoingMessage(exchange: ExchangeName.intake, routingKey: routingKey, properties: properties, body: body)
    }
}

/// Generates bad inputs of six kinds from the shipped examples, seeded.
package struct BadInputs {
    package static let agencies = ["bad-school", "bad-limited", "bad-unregistered", "bad-inactive"]
    package static let labelHeader = "x-bad-input"
    package let run: String
    package let oversizedEvery: Int
    package var rng: SplitMix64
    package let examples: [(type: String, object: [String: Any])]

    /// - Parameters:
    ///   - run: Prefix of the inputs' ids.
    ///   - seed: Seed of the generator.
    ///   - oversizedEvery: One input in this many is oversized; 0 for none.
    package init(run: String, seed: UInt64, oversizedEvery: Int = 500) {
        self.run = run
        self.oversizedEvery = oversizedEvery
        rng = SplitMix64(state: seed)
        examples = ContractExamples.valid.compactMap { payload in
            let type = Swift.type(of: payload).eventType.name
            guard Contracts.agencyPayloads.contains(where: { $0.eventType.name == type }),
                  let data = try? ContractCoding.encoder().encode(payload),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return (type, object)
        }
    }

    package func json(_ value: Any) -> [UInt8] { Array((try? JSONSerialization.data(withJSONObject: value)) ?? Data("{".utf8)) }

    /// Input `index`, for the bus or for HTTP.
    package mutating func next(_ index: Int, bus: Bool) -> BadInput {
        let label = "\(run)-\(index)"
        let example = examples.randomElement(using: &rng)!
        var object = example.object
        object["externalId"] = label
        var input = BadInput(
            index: index, label: label, kind: .malformedJSON, agency: "bad-school", type: example.type, id: label, body: [], routingKey: example.type)
        // One in `oversizedEvery` is oversized (4.5 MB each); the rest spread over the other five kinds.
        let roll = Int.random(in: 0..<500, using: &rng)
        let oversized = oversizedEvery > 0 && Int.random(in: 0..<oversizedEvery, using: &rng) == 0
        switch roll {
        case _ where oversized:
            input.kind = .oversized
            object["narrative"] = String(repeating: "长", count: 1_500_000)  // 4.5 MB of UTF-8
            input.body = json(object)
        case 0..<100:
            input.kind = .malformedJSON
            let valid = json(object)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: input.body = Array(valid.prefix(Int.random(in: 0..<valid.count, using: &rng)))  // cut short
            case 1: input.body = valid + Array("}}".utf8)  // trailing garbage
            case 2: input.body = (0..<Int.random(in: 1...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }  // noise
            default: input.body = json([object])  // an array, not an object
            }
        case 100..<200:
            input.kind = .wrongTypes
            let keys = object.keys.filter { $0 != "externalId" }.sorted()
            if keys.isEmpty || Int.random(in: 0..<5, using: &rng) == 0 {
                object.removeValue(forKey: "externalId")
            } else {
                let key = keys.randomElement(using: &rng)!
                object[key] = switch object[key] {
                case is String: 42 as Any
                case is [Any]: ["not": "a list"] as Any
                case is [String: Any]: [1, 2, 3] as Any
                default: "not a number or flag" as Any
                }
            }
            input.body = json(object)
        case 200..<300:
            input.kind = .unknownVersion
            let base = example.type.dropLast(3)
            let type = ["\(base).v2", "\(base).v0", "\(base).v10", "weather.report.v1"].randomElement(using: &rng)!
            input.type = type
            input.body = json(object)
            // On the bus, half with the routing key of a type intake takes (it reaches intake), half with the
            // unknown one (the broker hands it back).
            input.unroutable = bus && Bool.random(using: &rng)
            if input.unroutable { input.routingKey = type }
        case 300..<400:
            input.kind = .wrongAgency
            input.body = json(object)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                input.agency = "bad-limited"
                input.type = examples.first { $0.type != "report.incident.v1" && $0.type == example.type }?.type ?? "hotline.call.v1"
            case 1: input.agency = "bad-unregistered"
            default: input.agency = "bad-inactive"
            }
        default:
            input.kind = .missingHeaders
            input.body = json(object)
            // The bus: no message_id, or no user_id (a type falls back to the routing key, so it is never
            // missing there). HTTP: no ce-type, no Authorization, or a forged token (a missing ce-id is made).
            switch (bus, Int.random(in: 0..<3, using: &rng)) {
            case (true, 0), (true, 1): input.id = nil
            case (true, _): input.withUserID = false
            case (false, 0): input.type = nil
            case (false, 1): input.credential = .none
            case (false, _): input.credential = .garbage
            }
        }
        return input
    }
}
