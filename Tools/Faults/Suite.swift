import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import Storage
import Synchronization
import ToolKit

/// A suite's world: its broker and database, the service processes it started, an agency, and the oracle's
/// checker. The fault suite's is one broker and one database (`Suite<FaultStack>`); the cluster suite's, three
/// broker nodes and a database pair (`Suite<Clusters>`).
final class Suite<Stack: Engines>: @unchecked Sendable {
    let stack: Stack
    let binaries: URL
    let logs: URL
    let logger: Logger
    let database: Database
    let agencyCode = "fault-school"
    var processes: [String: [ServiceProcess]] = [:]
    private var nextPort = 19100

    /// - Parameters:
    ///   - stack: The broker and database.
    ///   - logs: The folder for the services' logs (emptied).
    ///   - binaries: Where the built services are.
    ///   - logger: The suite's own logger.
    init(stack: Stack, logs: URL, binaries: URL, logger: Logger) throws {
        self.stack = stack
        self.logs = logs
        try? FileManager.default.removeItem(at: logs)
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        self.binaries = binaries
        self.logger = logger
        database = try Database(configuration: try DatabaseConfiguration(url: stack.databaseURL, maximumConnections: 4), schema: "intake", logger: logger)
    }

    /// What every service gets: the broker as the stack gives it to services, short heartbeats and retries.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        [
            "AMQP_URL": stack.servicesBrokerURL, "DATABASE_URL": stack.databaseURL,
            "AMQP_HEARTBEAT": "2", "RETRY_DELAYS": "0.2,0.4", "DELIVERY_LIMIT": "5", "OUTBOX_POLL_INTERVAL_MS": "200",
            "LOG_LEVEL": "info", "LOG_FORMAT": "json", "DATABASE_POOL_SIZE": "6", "SHUTDOWN_TIMEOUT": "8",
            // The ledger counts what intake passed on, and fault 22 follows one report through every service, by
            // what each wrote to its outbox: they keep the rows the broker confirmed (a day, as a deployment
            // tracing its publishes would) instead of deleting them at once, the default.
            "OUTBOX_RETENTION_SECONDS": "86400",
        ].merging(extra) { _, new in new }
    }

    /// Starts one more replica of a service and waits until it is ready.
    @discardableResult
    func start(_ name: String, _ extra: [String: String] = [:], waitReady: Bool = true) async throws -> ServiceProcess {
        nextPort += 1
        let process = try ServiceProcess(name, binaries: binaries, environment: environment(extra), port: nextPort, logs: logs)
        processes[name, default: []].append(process)
        if waitReady, !(await process.ready(within: 60)) {
            throw CommandFailure(description: "\(name) did not become ready; see \(process.log.path)")
        }
        return process
    }

    /// Brings a service to exactly `replicas` running replicas with the default settings.
    func ensure(_ name: String, replicas: Int = 1) async throws {
        processes[name] = (processes[name] ?? []).filter(\.isRunning)
        while (processes[name]?.count ?? 0) < replicas { try await start(name) }
        while (processes[name]?.count ?? 0) > replicas {
            let last = processes[name]!.removeLast()
            await last.stop()
        }
    }

    /// Stops every replica of a service (SIGTERM, then SIGKILL).
    func stopAll(_ name: String) async {
        for process in processes[name] ?? [] { await process.stop() }
        processes[name] = []
    }

    func stopEverything() async {
        for name in processes.keys { await stopAll(name) }
    }

    /// The agency, registered with intake (which must have run its migrations) and the broker.
    func registerAgency() async throws {
        try await database.query("""
            INSERT INTO intake.agencies (code, name, kind, event_types) VALUES (\(agencyCode), 'Fault suite school', 'school', '{report.incident.v1}')
            ON CONFLICT (code) DO UPDATE SET event_types = '{report.incident.v1}', active = true
            """, logger: logger)
        _ = try? stack.ctl("-q", "add_user", agencyCode, agencyCode)
        _ = try stack.ctl("-q", "set_permissions", "-p", "/", agencyCode, "^$", "^huhang\\.intake$", "^$")
    }

    func sender(_ run: String) -> AgencySender {
        AgencySender(code: agencyCode, url: stack.agencyURL(agencyCode), run: run, logger: logger)
    }

    /// A number from one SQL query.
    func number(_ query: PostgresQuery) async throws -> Int {
        let rows = try await database.query(query, logger: logger)
        for try await value in rows.decode(Int?.self) { return value ?? 0 }
        return 0
    }

    /// Waits until `condition` holds or the time is up. - Returns: Whether it held.
    func eventually(_ seconds: Double, _ condition: () async throws -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? await condition()) == true { return true }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return (try? await condition()) == true
    }

    /// Queue depth as the broker reports it.
    func depth(_ queue: String) throws -> Int { try queueFigure(queue, "messages") }

    /// Consumers on a queue as the broker reports them.
    func consumers(_ queue: String) throws -> Int { try queueFigure(queue, "consumers") }

    /// One of `rabbitmqctl list_queues`' figures for a queue (0 when the queue is not listed).
    private func queueFigure(_ queue: String, _ column: String) throws -> Int {
        let output = try stack.ctl("-q", "list_queues", "name", column)
        for line in output.split(separator: "\n") {
            let parts = line.split(whereSeparator: \.isWhitespace)
            if parts.count == 2, parts[0] == queue { return Int(parts[1]) ?? 0 }
        }
        return 0
    }

    /// Publishes a raw message on huhang.events as the services would (operator's login, direct to the broker).
    func publishEvent(_ message: OutgoingMessage) async throws -> PublishOutcome {
        let connection = try await AMQPConnection.connect(try AMQPConfiguration(url: stack.brokerURL, connectionName: "fault-operator"), logger: logger)
        defer { Task { await connection.close() } }
        return try await connection.publish(message)
    }

    /// Reads a service's dead queue without taking anything: ids and reasons.
    func deadLetters(_ service: String) async throws -> [(id: String, reason: String)] {
        let connection = try await AMQPConnection.connect(
            try AMQPConfiguration(url: stack.brokerURL, connectionName: "fault-dead"), confirms: false, logger: logger)
        let stream = try await connection.consume(queue: "\(service).dead", prefetch: 500)
        let found = Mutex<[(String, String)]>([])
        let reader = Task {
            for try await delivery in stream {
                found.withLock {
                    $0.append((delivery.properties.messageID ?? "", delivery.properties.headers[HeaderName.deadReason]?.stringValue ?? ""))
                }
            }
        }
        try await Task.sleep(for: .seconds(1.5))
        await connection.cancelConsumer()
        _ = try? await reader.value
        await connection.close()
        return found.withLock { $0 }
    }

    /// How far each service log has been written, to look only at what comes after.
    func logSizes() -> [String: Int] {
        var sizes: [String: Int] = [:]
        for file in (try? FileManager.default.contentsOfDirectory(atPath: logs.path)) ?? [] {
            sizes[file] = ((try? FileManager.default.attributesOfItem(atPath: logs.appendingPathComponent(file).path))?[.size] as? Int) ?? 0
        }
        return sizes
    }

    /// Crash reports of the Swift runtime (a failed precondition, a fatal error, a bad pointer) written to the
    /// services' logs since `sizes`: a process that stopped by itself, which the suite would otherwise just
    /// start again. The suite's own kills and failpoints end a process without one.
    /// - Returns: One line per crashed process: its log file and the report's first line.
    func crashes(since sizes: [String: Int]) -> [String] {
        var found: [String] = []
        for file in ((try? FileManager.default.contentsOfDirectory(atPath: logs.path)) ?? []).sorted() {
            guard let handle = FileHandle(forReadingAtPath: logs.appendingPathComponent(file).path) else { continue }
            defer { try? handle.close() }
            try? handle.seek(toOffset: UInt64(sizes[file] ?? 0))
            let added = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
            if let line = added.split(separator: "\n").first(where: {
                $0.contains("*** Program crashed") || $0.contains("Precondition failed") || $0.contains("Fatal error")
            }) {
                found.append("\(file): \(line.prefix(160))")
            }
        }
        return found
    }

    /// Lines of the logs of every process of a service that contain `text`.
    func logLines(_ name: String, containing text: String) -> Int {
        var count = 0
        for file in (try? FileManager.default.contentsOfDirectory(atPath: logs.path)) ?? [] where file.hasPrefix(name + "-") {
            let content = (try? String(contentsOfFile: logs.appendingPathComponent(file).path, encoding: .utf8)) ?? ""
            count += content.split(separator: "\n").filter { $0.contains(text) }.count
        }
        return count
    }
}
