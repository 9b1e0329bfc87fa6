import Contracts
import Foundation
@testable import Intake
import Messaging
import PostgresNIO
import ServiceKit
import Storage
import Testing
import ToolKit

/// Random and mutated events of every agency type through intake: every one is answered.
@Suite("Intake fuzz", .serialized)
struct IntakeFuzzTests {
    static let events = Int(ProcessInfo.processInfo.environment["FUZZ_COUNT"] ?? "") ?? 10_000
    static let seed = UInt64(ProcessInfo.processInfo.environment["FUZZ_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)

    /// The shipped example of each agency event type, as a JSON object to mutate.
    static var examples: [(type: String, object: [String: Any])] { ContractExamples.valid.compactMap { payload in
        let type = Swift.type(of: payload).eventType.name
        guard Contracts.agencyPayloads.contains(where: { $0.eventType.name == type }),
              let data = try? ContractCoding.encoder().encode(payload),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (type, object)
    } }

    /// An event of a random agency type: valid, mutated, or garbage; sometimes a repeat of an earlier one.
    static func event(
        _ index: Int, run: String, previous: [(type: String, body: String)], examples: [(type: String, object: [String: Any])],
        using rng: inout SplitMix64
    ) -> (type: String, body: String) {
        if !previous.isEmpty, Int.random(in: 0..<20, using: &rng) == 0 {
            return previous.randomElement(using: &rng)!  // an exact repeat: duplicate
        }
        let example = examples.randomElement(using: &rng)!
        var type = example.type
        var object = example.object
        object["externalId"] = "\(run)-\(index)"
        let garbage: [Any] = [NSNull(), 42, -1.5, true, "", String(repeating: "界", count: 300), ["x": [1, 2]], [[]], "'; DROP TABLE intake.accepted; --"]
        func json(_ value: Any) -> String { String(decoding: try! JSONSerialization.data(withJSONObject: value), as: UTF8.self) }
        switch Int.random(in: 0..<13, using: &rng) {
        case 0...3:
            break  // valid
        case 4:
            object.removeValue(forKey: object.keys.randomElement(using: &rng)!)
        case 5, 6:
            object[object.keys.randomElement(using: &rng)!] = garbage.randomElement(using: &rng)!
        case 7:
            // One level down: a field of a nested object, or of an array's first element.
            let key = object.keys.randomElement(using: &rng)!
            if var nested = object[key] as? [String: Any], let inner = nested.keys.randomElement(using: &rng) {
                nested[inner] = garbage.randomElement(using: &rng)!
                object[key] = nested
            } else if var items = object[key] as? [Any], var first = items.first as? [String: Any], let inner = first.keys.randomElement(using: &rng) {
                first[inner] = ["123", "11010520100101123X", "ABCDEFGHIJKLMNOPQR", "boss", -7].randomElement(using: &rng)!
                items[0] = first
                object[key] = items
            } else {
                object[key] = garbage.randomElement(using: &rng)!
            }
        case 8:
            type = examples.randomElement(using: &rng)!.type  // the body of one type sent as another
        case 9:
            object["externalId"] = "\(run)-\(Int.random(in: 0...max(0, index - 1), using: &rng))"  // maybe a conflict
        case 10:
            let valid = json(object)
            return (type, String(valid.prefix(Int.random(in: 0..<valid.count, using: &rng))))  // truncated JSON
        case 11:
            return (type, json([garbage.randomElement(using: &rng)!]))  // not an object
        default:
            let bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return (type, String(decoding: bytes, as: UTF8.self))  // noise
        }
        return (type, json(object))
    }

    @Test("10,000 random and mutated events of every agency type: each accepted, rejected with a reason, duplicate or conflict; counts reconcile")
    func fuzz() async throws {
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake", load: true), logger: TestEnvironment.logger)
        var rng = SplitMix64(state: Self.seed)
        let run = TestEnvironment.unique("fuzz")
        var bodies: [(type: String, body: String)] = []
        let examples = Self.examples
        for index in 0..<Self.events { bodies.append(Self.event(index, run: run, previous: bodies, examples: examples, using: &rng)) }
        let ids = (0..<Self.events).map { "\(run)-msg-\($0)" }
        print("intake fuzz: seed \(Self.seed), \(Self.events) events")

        try await withServices([intake]) { () async throws in
            try await AgencyStore(database: intake.database).upsert(Agency(
                code: "agency-demo", name: "Demo school", kind: .school, eventTypes: Contracts.agencyPayloads.map { $0.eventType.name }, active: true))
            let agency = try AMQPConfiguration(url: TestEnvironment.loadAgencyAMQPURL, connectionName: "fuzz")
            let connection = try await AMQPConnection.connect(agency, logger: TestEnvironment.logger)
            for window in stride(from: 0, to: Self.events, by: 500) {
                let messages = (window..<min(window + 500, Self.events)).map { index in
                    var envelope = EventEnvelope(id: ids[index], type: bodies[index].type, source: "agency-demo")
                    envelope.sender = agency.user
                    return OutgoingMessage(envelope: envelope, body: Array(bodies[index].body.utf8), exchange: ExchangeName.intake)
                }
                let outcomes = try await connection.publish(messages)
                #expect(outcomes.allSatisfy { $0 == .confirmed })
            }
            await connection.close()

            func answered() async throws -> Int {
                try await count(intake.database, "SELECT count(*)::int FROM intake.event_status WHERE event_id LIKE \(run + "-msg-%")")
            }
            #expect(try await eventually(timeout: .seconds(300)) { try await answered() == Self.events })
            var byStatus: [String: Int] = [:]
            let rows = try await intake.database.query("""
                SELECT status, count(*)::int FROM intake.event_status WHERE event_id LIKE \(run + "-msg-%") GROUP BY status
                """)
            for try await (status, n) in rows.decode((String, Int).self) { byStatus[status] = n }
            print("intake fuzz: \(byStatus.sorted { $0.key < $1.key })")
            #expect(byStatus.values.reduce(0, +) == Self.events)
            #expect(Set(byStatus.keys).isSubset(of: ["accepted", "duplicate", "conflict", "rejected"]))
            #expect((byStatus["accepted"] ?? 0) > 0 && (byStatus["rejected"] ?? 0) > 0)
            // Every refusal has a reason; every acceptance was recorded exactly once; every type was tried.
            #expect(try await count(intake.database, """
                SELECT count(*)::int FROM intake.event_status WHERE event_id LIKE \(run + "-msg-%")
                AND status IN ('rejected', 'conflict') AND jsonb_array_length(reasons) = 0
                """) == 0)
            #expect(try await count(intake.database, "SELECT count(*)::int FROM intake.accepted WHERE event_id LIKE \(run + "-msg-%")") == byStatus["accepted"] ?? 0)
            #expect(try await count(intake.database, """
                SELECT count(DISTINCT event_type)::int FROM intake.event_status WHERE event_id LIKE \(run + "-msg-%") AND status = 'accepted'
                """) == Contracts.agencyPayloads.count)
            #expect(await intake.readiness.check().ready)
        }
        // Nothing downstream runs here: drop what intake passed on, so the load vhost does not grow run after run.
        let cleanup = try await AMQPConnection.connect(try AMQPConfiguration(url: TestEnvironment.loadAMQPURL), logger: TestEnvironment.logger)
        for queue in ["assessment.events", "inspection.events", ExchangeName.unclaimedReplies, ExchangeName.unroutedEvents, ExchangeName.agencyReplyQueue("agency-demo"), "intake.dead"] {
            try? await cleanup.deleteQueue(queue)
        }
        await cleanup.close()
    }
}
