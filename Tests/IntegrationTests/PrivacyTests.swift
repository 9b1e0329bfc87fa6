import Contracts
import Foundation
import Messaging
import PostgresNIO
import Storage
import Testing

/// Identity numbers never appear in clear: not in any table of the database, not in the logs;
/// names are stored only sealed.
@Suite("Privacy", .serialized)
struct PrivacyTests {
    /// An identity number of the right shape, new each run, so finding it anywhere is this run's leak.
    static func identityNumber() -> String {
        "1101052011" + String(format: "%07d", Int.random(in: 0..<10_000_000)) + "X"
    }

    func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self)
    }

    @Test("a report naming a child by identity number and name leaves neither in clear in the database or the logs")
    func noIdentityNumberInClear() async throws {
        let idNumber = Self.identityNumber()
        let name = "隐私测试" + String(Int.random(in: 1000...9999))
        let port = try freePort()
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("intake-privacy-\(port).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        defer { try? FileManager.default.removeItem(at: logFile) }

        // The real intake process, logging everything it can.
        let process = try launchService("intake", port: port, environment: ["LOG_LEVEL": "trace"], output: log)
        defer { if process.isRunning { process.terminate() } }

        try await withDatabase(schema: "intake") { database in
            #expect(try await eventually(timeout: .seconds(60)) {
                (try? await httpGet("http://127.0.0.1:\(port)/health/ready").status) == 200
            })
            try await database.query("""
                INSERT INTO intake.agencies (code, name, kind, event_types) VALUES ('agency-demo', 'Demo school', 'school', '{report.incident.v1}')
                ON CONFLICT (code) DO UPDATE SET event_types = '{report.incident.v1}', active = true
                """)
            let report = IncidentReportV1(
                externalID: TestEnvironment.unique("privacy"), category: .sexualAbuse, immediateDanger: true, occurredAt: Date(),
                schoolCode: "PRIV-1", narrative: "named in the report",
                people: [.init(role: .victim, idNumber: idNumber, name: name, birthDate: "2011-03-04")])
            let agency = try AMQPConfiguration(url: TestEnvironment.agencyAMQPURL, connectionName: "privacy")
            let connection = try await AMQPConnection.connect(agency, logger: TestEnvironment.logger)
            let id = UUID().uuidString
            var envelope = EventEnvelope(id: id, type: IncidentReportV1.eventType.name, source: "agency-demo")
            envelope.sender = agency.user
            #expect(try await connection.publish(try OutgoingMessage(report, envelope: envelope, exchange: ExchangeName.intake)) == .confirmed)
            await connection.close()
            #expect(try await eventually {
                try await count(database, "SELECT count(*)::int FROM intake.accepted WHERE event_id = \(id)") == 1
            })
            // The name is kept — sealed, so the dump below must not show it.
            #expect(try await count(database, """
                SELECT count(*)::int FROM intake.subject_links l JOIN intake.accepted a USING (intake_id)
                WHERE a.event_id = \(id) AND l.identity IS NOT NULL
                """) == 1)
            // Let the outbox publish what the report caused.
            #expect(try await eventually {
                try await count(database, "SELECT count(*)::int FROM intake.outbox WHERE properties->>'correlationID' = \(id) AND sent_at IS NULL") == 0
            })
        }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        try log.close()

        let dump = try run("/usr/bin/pg_dump", ["-h", "127.0.0.1", "-U", "huhang", "--data-only", "huhang_test"], environment: ["PGPASSWORD": "huhang"])
        #expect(dump.count > 1000, "pg_dump produced nothing")
        #expect(!dump.contains(idNumber), "the identity number is stored in clear")
        #expect(!dump.contains(name), "the name is stored in clear")
        let logs = try String(contentsOf: logFile, encoding: .utf8)
        #expect(logs.contains("event accepted"), "the log was not captured")
        #expect(!logs.contains(idNumber), "the identity number is in the log")
        #expect(!logs.contains(name), "the name is in the log")
    }
}
