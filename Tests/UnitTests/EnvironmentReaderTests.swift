import Contracts
import Foundation
import ServiceKit
import Testing

/// The one reader of settings: empty is unset, out of range is refused by name, secrets come from files.
@Suite("Environment reader")
struct EnvironmentReaderTests {
    @Test("an empty value is unset; a whole number below its minimum, or not a number, is refused with the variable named")
    func integers() throws {
        let reader = EnvironmentReader(["A": "", "B": "7", "C": "0", "D": "seven", "E": " 3 "])
        #expect(reader.string("A") == nil && reader.string("A", default: "x") == "x")
        #expect(try reader.integer("A", default: 5) == 5)
        #expect(try reader.integer("B", default: 5) == 7)
        #expect(try reader.integer("C", default: 5, minimum: 0) == 0)
        #expect(try reader.integer("E", default: 5) == 3)
        #expect(throws: ConfigurationError.self) { try reader.integer("C", default: 5) }
        do {
            _ = try reader.integer("D", default: 5, minimum: 2)
            Issue.record("a word was taken for a number")
        } catch let error as ConfigurationError {
            #expect(error.key == "D" && error.description == "D=seven is not valid: expected a whole number, 2 or more")
        }
    }

    @Test("a positive number allows decimals and refuses zero, negatives and words")
    func positives() throws {
        let reader = EnvironmentReader(["H": "0.0005", "Z": "0", "N": "-1", "W": "soon", "I": "inf"])
        #expect(try reader.positive("H", default: 1) == 0.0005)
        #expect(try reader.positive("missing", default: 24) == 24)
        for key in ["Z", "N", "W", "I"] {
            #expect(throws: ConfigurationError.self) { try reader.positive(key, default: 1) }
        }
    }

    @Test("a secret comes from the file <NAME>_FILE names, trimmed, before the variable itself; an unreadable file is refused")
    func secrets() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("huhang-secret-\(UUID().uuidString)")
        try "from-the-file-0123456789\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try EnvironmentReader(["K": "from-the-variable", "K_FILE": file.path]).secret("K") == "from-the-file-0123456789")
        #expect(try EnvironmentReader(["K": "from-the-variable"]).secret("K") == "from-the-variable")
        #expect(try EnvironmentReader([:]).secret("K") == nil)
        #expect(throws: ConfigurationError.self) { try EnvironmentReader(["K_FILE": "/nonexistent/secret"]).secret("K") }
        #expect(EnvironmentReader(["TASK_FORCE_UNIT": ""]).taskForceUnit == "district-task-force")
    }

    @Test("the services' shared settings refuse what they once clamped")
    func sharedSettings() throws {
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(service: "x", defaultHTTPPort: 1, environment: ["DATABASE_POOL_SIZE": "1"])
        }
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration(service: "x", defaultHTTPPort: 1, environment: ["HANDLER_CONCURRENCY": "0"])
        }
        #expect(try ServiceConfiguration(service: "x", defaultHTTPPort: 1, environment: ["HTTP_PORT": "0"]).httpPort == 0)
    }

    @Test("ANNOUNCE names the announcements a service publishes: none by default, all, or a list; any other type is always published")
    func announcements() throws {
        func announce(_ value: String?) throws -> Announcements {
            try ServiceConfiguration(service: "x", defaultHTTPPort: 1, environment: value.map { ["ANNOUNCE": $0] } ?? [:]).announcements
        }
        #expect(Set(Contracts.announcements.map { $0.eventType.name }) == ["ledger.changed.v1", "case.opened.v1", "risk.assessed.v1"])
        // An assessment below high is an announcement; at high and critical intervention and notification act on it.
        func assessed(_ tier: RiskTier) -> RiskAssessedV1 {
            RiskAssessedV1(subjectID: "s", tier: tier, previousTier: nil, score: 1, reasons: [], modelVersion: "m", provisional: false,
                           urgent: false, schoolCode: nil, assessedAt: Date(timeIntervalSince1970: 0))
        }
        let none = try announce(nil)
        #expect(!none.publishes(LedgerChangedV1.self) && !none.publishes(CaseOpenedV1.self))
        #expect(none.publishes(RiskAssessedV1.self) && none.publishes(TaskAssignedV1.self) && none.publishes(NotificationDeliveredV1.self))
        #expect(!none.publishes(assessed(.low)) && !none.publishes(assessed(.medium)))
        #expect(none.publishes(assessed(.high)) && none.publishes(assessed(.critical)))
        let all = try announce("all")
        #expect(all.publishes(LedgerChangedV1.self) && all.publishes(CaseOpenedV1.self) && all.publishes(RiskAssessedV1.self))
        #expect(RiskTier.allCases.allSatisfy { all.publishes(assessed($0)) })
        let one = try announce(" ledger.changed.v1 ")
        #expect(one.publishes(LedgerChangedV1.self) && !one.publishes(CaseOpenedV1.self) && !one.publishes(assessed(.medium)))
        let both = try announce("ledger.changed.v1,case.opened.v1")
        #expect(both.publishes(LedgerChangedV1.self) && both.publishes(CaseOpenedV1.self))
        let tiers = try announce("risk.assessed.v1")
        #expect(RiskTier.allCases.allSatisfy { tiers.publishes(assessed($0)) } && !tiers.publishes(LedgerChangedV1.self))
        // Each tier under its own routing key, so that a service binds the tiers it acts on.
        #expect(RiskTier.allCases.map { assessed($0).routingKey }
            == ["risk.assessed.v1.low", "risk.assessed.v1.medium", "risk.assessed.v1.high", "risk.assessed.v1.critical"])
        #expect(TaskAssignedV1.eventType.routingKey == "task.assigned.v1")
        // Not an announcement (always published), or not a type at all: refused, naming the ones there are.
        for wrong in ["task.assigned.v1", "ledger.changed", "everything"] {
            #expect {
                try announce(wrong)
            } throws: { error in
                let refused = error as? ConfigurationError
                return refused?.key == "ANNOUNCE" && refused?.expected.contains("ledger.changed.v1, case.opened.v1") == true
                    && refused?.expected.contains(wrong) == true
            }
        }
    }
}
