import Contracts
import Foundation
@testable import Intake
import Messaging
import PostgresNIO
import ServiceKit
import Storage
import Testing

/// A small seeded generator, so a failing run can be replayed (`FUZZ_SEED`).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random and mutated incident reports through intake: every one is answered.
@Suite("Intake fuzz", .serialized)
struct IntakeFuzzTests {
    static let events = Int(ProcessInfo.processInfo.environment["FUZZ_COUNT"] ?? "") ?? 10_000
    static let seed = UInt64(ProcessInfo.processInfo.environment["FUZZ_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)

    /// A body: valid, mutated, or garbage; and sometimes a repeat of an earlier one.
    static func body(_ index: Int, run: String, previous: [String], using rng: inout SplitMix64) -> String {
        if !previous.isEmpty, Int.random(in: 0..<20, using: &rng) == 0 {
            return previous.randomElement(using: &rng)!  // an exact repeat: duplicate
        }
        var object: [String: Any] = [
            "externalId": "\(run)-\(index)",
            "category": IncidentCategory.allCases.randomElement(using: &rng)!.rawValue,
            "immediateDanger": Bool.random(using: &rng),
            "occurredAt": "2026-11-\(10 + Int.random(in: 0...9, using: &rng))T08:00:00Z",
            "schoolCode": "FUZZ-\(Int.random(in: 1...50, using: &rng))",
            "people": [["role": "victim", "studentNumber": "\(Int.random(in: 1...9999, using: &rng))"]],
        ]
        let garbage: [Any] = [NSNull(), 42, -1.5, true, "", String(repeating: "界", count: 300), ["x": [1, 2]], [[]], "'; DROP TABLE intake.reports; --"]
        switch Int.random(in: 0..<12, using: &rng) {
        case 0...3:
            break  // valid
        case 4:
            object.removeValue(forKey: object.keys.randomElement(using: &rng)!)
        case 5, 6:
            object[object.keys.randomElement(using: &rng)!] = garbage.randomElement(using: &rng)!
        case 7:
            object["people"] = [["role": ["victim", "boss", ""].randomElement(using: &rng)!, "idNumber": ["123", "11010520100101123X", "ABCDEFGHIJKLMNOPQR"].randomElement(using: &rng)!]]
        case 8:
            object["category"] = ["fighting", "BULLYING", "bullying ", ""].randomElement(using: &rng)!
        case 9:
            object["externalId"] = "\(run)-\(Int.random(in: 0...max(0, index - 1), using: &rng))"  // maybe a conflict
        case 10:
            let valid = String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            return String(valid.prefix(Int.random(in: 0..<valid.count, using: &rng)))  // truncated JSON
        default:
            let bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return String(decoding: bytes, as: UTF8.self)  // noise
        }
        return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test("10,000 random and mutated reports: each accepted, rejected with a reason, duplicate or conflict; counts reconcile")
    func fuzz() async throws {
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake", load: true), logger: TestEnvironment.logger)
        var rng = SplitMix64(state: Self.seed)
        let run = TestEnvironment.unique("fuzz")
        var bodies: [String] = []
        for index in 0..<Self.events { bodies.append(Self.body(index, run: run, previous: bodies, using: &rng)) }
        let ids = (0..<Self.events).map { "\(run)-msg-\($0)" }
        print("intake fuzz: seed \(Self.seed), \(Self.events) events")

        try await withServices([intake]) { () async throws in
            try await AgencyRegistry(database: intake.database).upsert(Agency(
                code: "agency-demo", name: "Demo school", kind: .school, eventTypes: [IncidentReportV1.eventType.name], active: true))
            let agency = try AMQPConfiguration(url: TestEnvironment.loadAgencyAMQPURL, connectionName: "fuzz")
            let connection = try await AMQPConnection.connect(agency, logger: TestEnvironment.logger)
            for window in stride(from: 0, to: Self.events, by: 500) {
                let messages = (window..<min(window + 500, Self.events)).map { index in
                    var envelope = EventEnvelope(id: ids[index], type: IncidentReportV1.eventType.name, source: "agency-demo")
                    envelope.sender = agency.user
                    return OutgoingMessage(envelope: envelope, body: Array(bodies[index].utf8), exchange: ExchangeName.intake)
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
            let rows = try await intake.database.client.query("""
                SELECT status, count(*)::int FROM intake.event_status WHERE event_id LIKE \(run + "-msg-%") GROUP BY status
                """)
            for try await (status, n) in rows.decode((String, Int).self) { byStatus[status] = n }
            print("intake fuzz: \(byStatus.sorted { $0.key < $1.key })")
            #expect(byStatus.values.reduce(0, +) == Self.events)
            #expect(Set(byStatus.keys).isSubset(of: ["accepted", "duplicate", "conflict", "rejected"]))
            #expect((byStatus["accepted"] ?? 0) > 0 && (byStatus["rejected"] ?? 0) > 0)
            // Every refusal has a reason; every acceptance made exactly one report.
            #expect(try await count(intake.database, """
                SELECT count(*)::int FROM intake.event_status WHERE event_id LIKE \(run + "-msg-%")
                AND status IN ('rejected', 'conflict') AND jsonb_array_length(reasons) = 0
                """) == 0)
            #expect(try await count(intake.database, "SELECT count(*)::int FROM intake.accepted WHERE event_id LIKE \(run + "-msg-%")") == byStatus["accepted"] ?? 0)
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
