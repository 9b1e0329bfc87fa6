@testable import BenchKit
import Contracts
import Foundation
import Messaging
import Testing

/// The generators behind `bench/pipeline` and `scripts/bad-input-test`: a benchmark of invalid events or a
/// bad-input run with a good input in it would measure the wrong thing.
@Suite("Benchmark generators")
struct BenchGeneratorTests {
    static func people(in body: [UInt8]) -> [String] {
        guard let text = String(bytes: body, encoding: .utf8) else { return [] }
        let pattern = try! NSRegularExpression(pattern: #""(idNumber|studentNumber)":"([^"]+)""#)
        return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            Range(match.range(at: 2), in: text).map { String(text[$0]) }
        }
    }

    @Test("Every event of the pipeline mix is valid under its published schema, sent by an agency that may send it, in the declared shares")
    func mixIsValid() throws {
        let count = 3000
        var types: [String: Int] = [:]
        var ends: [PathEnd: Int] = [:]
        for index in 0..<count {
            let (agency, message, end) = try EventMix.event(index, run: "t")
            let type = try #require(message.properties.type)
            #expect(EventMix.agencies[agency].eventTypes.contains(type))
            #expect(message.properties.userID == EventMix.agencies[agency].code)
            #expect(message.properties.messageID == "t-\(index)")
            let eventType = try #require(EventType(name: type))
            let schema = try #require(try ContractSchemas.schema(for: eventType))
            let problems = schema.validate(try JSONValue.parse(message.body))
            #expect(problems.isEmpty, "\(type) #\(index): \(problems)")
            types[type, default: 0] += 1
            ends[end, default: 0] += 1
        }
        for (type, share) in EventMix.shares {
            let seen = Double(types[type] ?? 0) / Double(count)
            #expect(abs(seen - Double(share) / 100) < 0.03, "\(type): \(seen) against \(share) %")
        }
        // Both kinds of path are in the mix, most of it ending in a notice.
        #expect((ends[.notified] ?? 0) > count / 2 && (ends[.assessed] ?? 0) > count / 10)
    }

    @Test("Runs kept apart by `first` name nobody twice, so every event is about a minor not seen before")
    func peopleAreNew() throws {
        var seen = Set<String>()
        for (first, run) in [(0, "a"), (500, "b")] {
            for index in 0..<500 {
                let (agency, message, _) = try EventMix.event(index, run: run, first: first)
                // A pupil number is a person only within its school.
                let scope = EventMix.agencies[agency].schoolCode ?? "id"
                for person in Self.people(in: message.body) {
                    #expect(seen.insert("\(scope)|\(person)").inserted, "\(person) named twice")
                }
            }
        }
        // Every event names at least one person.
        #expect(seen.count >= 1000)
    }

    @Test("Every generated bad input is bad in the way its kind says")
    func badInputsAreBad() throws {
        var generator = BadInputs(run: "t", seed: 42)
        let agencyTypes = Set(Contracts.agencyPayloads.map { $0.eventType.name })
        var kinds: [BadInput.Kind: Int] = [:]
        for index in 0..<6000 {
            let bus = index % 2 == 0
            let input = generator.next(index, bus: bus)
            kinds[input.kind, default: 0] += 1
            switch input.kind {
            case .malformedJSON:
                let parsed = try? JSONValue.parse(input.body)
                if case .object? = parsed { Issue.record("\(input.label): a JSON object") }
            case .wrongTypes:
                let type = try #require(input.type)
                let eventType = try #require(EventType(name: type))
                let schema = try #require(try ContractSchemas.schema(for: eventType))
                #expect(!schema.validate(try JSONValue.parse(input.body)).isEmpty, "\(input.label) is valid")
            case .unknownVersion:
                let type = try #require(input.type)
                #expect(!agencyTypes.contains(type))
            case .oversized:
                #expect(input.body.count > 4 * 1024 * 1024)
            case .wrongAgency:
                #expect(input.agency != "bad-school")
                if input.agency == "bad-limited" { #expect(input.type != "report.incident.v1") }
            case .missingHeaders:
                if bus {
                    #expect(input.id == nil || !input.withUserID)
                } else {
                    #expect(input.type == nil || input.credential != .token)
                }
            }
            #expect(input.unroutable == false || (bus && input.kind == .unknownVersion))
        }
        #expect(kinds.count == 6)
    }
}
