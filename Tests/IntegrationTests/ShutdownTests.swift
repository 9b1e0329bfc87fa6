import Contracts
import Foundation
import Messaging
import PostgresNIO
import ServiceKit
import Storage
import Testing

/// SIGTERM to a real service process: it drains and exits 0 in time, and nothing is lost or applied twice.
@Suite("Shutdown", .serialized)
struct ShutdownTests {
    /// The directory holding the built executables (next to the test bundle).
    static var binaries: URL { builtExecutables }

    func launch(_ name: String, port: Int) throws -> Process {
        // The load vhost: the events this test queues must not linger where other tests run.
        try launchService(name, port: port, environment: [
            "AMQP_URL": TestEnvironment.loadAMQPURL, "DATABASE_URL": TestEnvironment.loadDatabaseURL,
            "LOG_LEVEL": "warning", "HANDLER_CONCURRENCY": "4", "AMQP_PREFETCH": "50",
        ])
    }

    func isReady(port: Int) async -> Bool { await answers(port: port, path: "/health/ready") }

    func isLive(port: Int) async -> Bool { await answers(port: port, path: "/health/live") }

    /// Whether the service answers 2xx on a path.
    func answers(port: Int, path: String) async -> Bool {
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { return false }
        return await withCheckedContinuation { continuation in
            let task = Process()
            task.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            task.arguments = ["curl", "-sf", "-o", "/dev/null", "--max-time", "2", url.absoluteString]
            task.terminationHandler = { continuation.resume(returning: $0.terminationStatus == 0) }
            do { try task.run() } catch { continuation.resume(returning: false) }
        }
    }

    @Test("SIGTERM mid-stream: exit 0 within 10 s; after a restart every event is applied exactly once")
    func sigtermDrains() async throws {
        let school = TestEnvironment.unique("school")
        let total = 3000
        let port = try freePort()
        var process = try launch("inspection", port: port)
        defer { if process.isRunning { process.terminate() } }
        #expect(try await eventually(timeout: .seconds(60)) { await isReady(port: port) })

        try await withDatabase(schema: "inspection", url: TestEnvironment.loadDatabaseURL) { database in
            let publisher = Publisher(
                configuration: try AMQPConfiguration(url: TestEnvironment.loadAMQPURL, connectionName: "shutdown-test"), logger: TestEnvironment.logger)
            let events = try (0..<total).map { index -> OutgoingMessage in
                let event = ReportAcceptedV1(
                    reportID: UUID().uuidString, agency: "agency-demo", externalID: "e-\(index)", category: .bullying,
                    immediateDanger: false, occurredAt: Date(), schoolCode: school, subjects: [])
                return try OutgoingMessage(event, envelope: EventEnvelope(type: ReportAcceptedV1.eventType.name, source: "test"))
            }
            let outcomes = try await publisher.publish(events)
            #expect(outcomes.allSatisfy { $0 == .confirmed })
            await publisher.close()

            func applied() async throws -> Int {
                try await count(database, "SELECT coalesce(sum(incidents), 0)::int FROM inspection.school_incidents WHERE school_code = \(school)")
            }
            // Stop it while it works through the stream.
            #expect(try await eventually { try await applied() > 0 })
            let start = ContinuousClock.now
            kill(process.processIdentifier, SIGTERM)
            let exited = try await eventually(timeout: .seconds(10)) { !process.isRunning }
            let took = ContinuousClock.now - start
            #expect(exited, "still running 10 s after SIGTERM")
            #expect(process.terminationStatus == 0)
            #expect(took < .seconds(10))
            let afterStop = try await applied()
            #expect(afterStop <= total)
            print("shutdown test: SIGTERM after \(afterStop) of \(total) events; exited in \(took)")

            // A new process finishes the rest: nothing lost, nothing applied twice.
            process = try launch("inspection", port: port)
            #expect(try await eventually(timeout: .seconds(60)) { try await applied() == total })
            try await Task.sleep(for: .seconds(1))
            #expect(try await applied() == total)
            kill(process.processIdentifier, SIGTERM)
            #expect(try await eventually(timeout: .seconds(10)) { !process.isRunning })
            #expect(process.terminationStatus == 0)
        }
        // Assessment, not running here, would find these events waiting: drop them.
        let cleanup = try await AMQPConnection.connect(try AMQPConfiguration(url: TestEnvironment.loadAMQPURL), logger: TestEnvironment.logger)
        try? await cleanup.deleteQueue("assessment.events")
        await cleanup.close()
    }

    @Test("SIGTERM before migrations are done (the database never answers): exit 0 within the shutdown timeout")
    func sigtermBeforeMigrations() async throws {
        let port = try freePort()
        let closed = try freePort()  // nothing listens here: migrations keep retrying
        let process = try launchService("inspection", port: port, environment: [
            "AMQP_URL": TestEnvironment.loadAMQPURL,
            "DATABASE_URL": "postgres://huhang:huhang@127.0.0.1:\(closed)/huhang?sslmode=disable",
            "LOG_LEVEL": "error", "SHUTDOWN_TIMEOUT": "2",
        ])
        defer { if process.isRunning { process.terminate() } }
        // Up (its liveness answers) but not ready: the workers wait for migrations.
        #expect(try await eventually(timeout: .seconds(30)) { await isLive(port: port) })
        #expect(await !isReady(port: port))
        let start = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        let exited = try await eventually(timeout: .seconds(10)) { !process.isRunning }
        #expect(exited, "still running 10 s after SIGTERM")
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "ended by \(process.terminationReason) \(process.terminationStatus)")
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}
