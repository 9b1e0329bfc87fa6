import ArgumentParser
import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import Storage
import ToolKit

/// Benchmarks that put Huhang's throughput next to the broker's own limit, measured in the same run, and
/// the bad-input run at volume.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "huhang-bench",
        abstract: "Huhang benchmarks (run them through bench/*).",
        subcommands: [IntakeBench.self, PipelineBench.self, CompareBench.self, PassOnCommand.self, BadInputRun.self, ConsoleBench.self])
}

struct IntakeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intake",
        abstract: "Intake's sustained accepted events/s against a raw publish-and-consume through one quorum queue.")

    @Option(help: "The services' AMQP URL.") var amqpURL = "amqp://huhang:huhang@127.0.0.1:5672/huhang-load"
    @Option(help: "The agency's AMQP URL.") var agencyURL = "amqp://agency-demo:agency-demo@127.0.0.1:5672/huhang-load"
    @Option(help: "PostgreSQL.") var databaseURL = "postgres://huhang:huhang@127.0.0.1:5432/huhang_load"
    @Option(help: "Messages for the raw baseline.") var raw = 20_000
    @Option(help: "Incident reports through intake.") var events = 5_000
    @Option(help: "Publish window (messages per batch of confirms).") var window = 500
    @Option(help: "HTTP port for the intake process.") var port = 18081

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let services = try AMQPConfiguration(url: amqpURL, connectionName: "bench")
        let agency = try AMQPConfiguration(url: agencyURL, connectionName: "bench-agency")

        // 1. The broker's own limit L: publish with confirms and consume through one quorum queue.
        let limit = try await rawLimit(services, count: raw, window: window, logger: logger)

        // 2. Intake: a real intake process, fed by an agency, until every report is accepted.
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let logs = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".bench/logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let intake = try ServiceProcess(
            "intake", binaries: bin, environment: ["AMQP_URL": amqpURL, "DATABASE_URL": databaseURL, "LOG_LEVEL": "warning"],
            port: port, logs: logs)
        guard await intake.ready(within: 60) else {
            await intake.stop()
            throw ValidationError("intake did not become ready; see \(intake.log.path)")
        }

        let database = try Database(configuration: try DatabaseConfiguration(url: databaseURL), schema: "intake", logger: logger)
        let measured: Result<Double, any Error>
        do { measured = .success(try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            defer { group.cancelAll() }
            try await database.query("""
                INSERT INTO intake.agencies (code, name, kind, event_types) VALUES ('agency-demo', 'Demo school', 'school', '{report.incident.v1}')
                ON CONFLICT (code) DO UPDATE SET event_types = '{report.incident.v1}', active = true
                """, logger: logger)
            return try await intakeThroughput(agency, database: database, logger: logger)
        }) } catch { measured = .failure(error) }
        await intake.stop()
        let rate = try measured.get()

        // Nothing downstream ran: drop what intake passed on, so repeated runs start alike.
        let cleanup = try await AMQPConnection.connect(services, logger: logger)
        for queue in ["assessment.events", "inspection.events", ExchangeName.unclaimedReplies, ExchangeName.unroutedEvents] {
            try? await cleanup.deleteQueue(queue)
        }
        await cleanup.close()

        print("""

            | measure | events | events/s |
            |---|---|---|
            | raw: publish with confirms + consume, one quorum queue (L) | \(raw) | \(Int(limit)) |
            | intake: agency publish → accepted (report stored, events in outbox, receipt) | \(events) | \(Int(rate)) |

            intake / L = \(String(format: "%.3f", rate / limit))
            """)
    }

    func intakeThroughput(_ agency: AMQPConfiguration, database: Database, logger: Logger) async throws -> Double {
        let run = "bench-\(UUID().uuidString.lowercased().prefix(8))"
        let connection = try await AMQPConnection.connect(agency, logger: logger)
        let start = ContinuousClock.now
        for first in stride(from: 0, to: events, by: window) {
            let messages = try (first..<min(first + window, events)).map { index -> OutgoingMessage in
                let report = IncidentReportV1(
                    externalID: "\(run)-\(index)", category: IncidentCategory.allCases[index % 12], immediateDanger: index % 50 == 0,
                    occurredAt: Date(), schoolCode: "BENCH-\(index % 40)", narrative: "benchmark report",
                    people: [.init(role: .victim, studentNumber: "\(index)"), .init(role: .witness, name: "w\(index)", birthDate: "2012-01-01")])
                var envelope = EventEnvelope(id: "\(run)-msg-\(index)", type: IncidentReportV1.eventType.name, source: agency.user)
                envelope.sender = agency.user
                return try OutgoingMessage(report, envelope: envelope, exchange: ExchangeName.intake)
            }
            _ = try await connection.publish(messages)
        }
        await connection.close()
        while true {
            let rows = try await database.query(
                "SELECT count(*)::int FROM intake.event_status WHERE event_id LIKE \(run + "-msg-%") AND status = 'accepted'", logger: logger)
            var done = 0
            for try await n in rows.decode(Int.self) { done = n }
            if done >= events { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return Double(events) / durationSeconds(ContinuousClock.now - start)
    }
}
