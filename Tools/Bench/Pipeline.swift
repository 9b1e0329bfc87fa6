import ArgumentParser
import BenchKit
import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import Storage
import Synchronization
import ToolKit

/// The whole loop under load: agencies publish a realistic mix of events to intake, and each event is done
/// at the end of its path (``PathEnd``): when notification has recorded the first notice it caused (seen as
/// the `notification.delivered.v1` event, which carries the agency message's id as its correlation id) or,
/// for a concern only to watch, when assessment has placed the minor (`risk.assessed.v1`). Measured next to
/// the broker's own limit L, in the same run, with fsync on.
struct PipelineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "End-to-end throughput and latency of the five services (agency publish → notification recorded) against L.")

    @Option(help: "The services' AMQP URL (a virtual host of the benchmark's own).")
    var amqpURL = "amqp://huhang:huhang@127.0.0.1:5672/huhang-load"
    @Option(help: "PostgreSQL (a database of the benchmark's own; its service schemas are dropped first).")
    var databaseURL = "postgres://huhang:huhang@127.0.0.1:5432/huhang_load"
    @Option(help: "The repository (for scripts/dev-stack, which makes the agencies' broker users).")
    var root = FileManager.default.currentDirectoryPath
    @Option(help: "Messages for the raw baseline L.") var raw = 20_000
    @Option(help: "Events in the closed-loop run.") var events = 3_000
    @Option(help: """
        Events sent (closed loop, not measured) before the closed-loop run, after which the services' tables are analysed — \
        what autovacuum does in a deployment's first minutes, so that the run measures plans made from the tables' statistics, \
        not from empty tables (0: none).
        """)
    var warmUp = 1_000
    @Option(help: "Events in flight in the closed-loop run: each sender waits for its event's notification before the next.")
    var inFlight = 64
    @Option(help: "Seconds of the open-loop run.") var seconds = 20
    @Option(help: "Open-loop rate, events/s (default: half the closed-loop maximum measured in this run).") var rate: Double?
    @Option(help: "Replicas of a service, e.g. assessment=2 (repeatable; 1 each by default).") var replicas: [String] = []
    @Option(help: "A setting for every service, e.g. HANDLER_CONCURRENCY=16 (repeatable).") var env: [String] = []
    @Option(help: "First HTTP port of the services.") var port = 18200
    @Option(help: "Where the service executables are (another revision's, for a before/after run); beside huhang-bench by default.")
    var binaries: String?
    @Option(help: "What the table calls the services measured, e.g. a revision.") var label = "this tree"
    @Option(help: "Write each open-loop event's send time and latency to this CSV file (to see whether slow events come together).")
    var openTrace: String?
    @Option(help: "Append the run's key figures, one JSON line, to this file (bench/pipeline --baseline compares them).")
    var summary: String?
    @Flag(inversion: .prefixedNo, help: "Measure the platform row: the same hops with handlers that only pass the event on.")
    var platform = true

    static let services = ["notification", "intervention", "inspection", "assessment", "intake"]

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let broker = try AMQPConfiguration(url: amqpURL, connectionName: "bench")
        let stack = DevStack(root: root, amqpURL: amqpURL)
        let binaries = binaries.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let logs = URL(fileURLWithPath: root).appendingPathComponent(".bench/logs")
        try? FileManager.default.removeItem(at: logs)
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let counts = try replicaCounts()
        var extra = try settings()
        // This tree's assessment writes risk.assessed.v1 below high only where ANNOUNCE names it (no platform service
        // acts on it), and the benchmark ends a concern only to watch on it. A revision before that wrote it always
        // (and may not know the name as an announcement), so only this tree's services are told.
        let own = binaries.resolvingSymlinksInPath().path
            == URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().resolvingSymlinksInPath().path
        if own, extra["ANNOUNCE"] == nil { extra["ANNOUNCE"] = RiskAssessedV1.eventType.name }

        let database = try Database(configuration: try DatabaseConfiguration(url: databaseURL, maximumConnections: 2), schema: "intake", logger: logger)
        let dbTask = Task { await database.run() }
        defer { dbTask.cancel() }

        // A clean slate: no schemas, no queues, so every run starts alike.
        say("clearing the benchmark's database schemas and queues …")
        try await database.query(
            "DROP SCHEMA IF EXISTS intake, assessment, intervention, inspection, notification CASCADE", logger: logger)
        let setup = try await AMQPConnection.connect(broker, logger: logger)
        let listed = try stack.ctl(["list_queues", "-p", stack.vhost, "--no-table-headers", "name"])
        for queue in listed.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) where !queue.isEmpty {
            try? await setup.deleteQueue(queue)
        }
        var durability: [String] = []
        for setting in ["fsync", "synchronous_commit"] {
            let rows = try await database.query("SELECT current_setting(\(setting))", logger: logger)
            for try await value in rows.decode(String.self) { durability.append("\(setting)=\(value)") }
        }

        // 1. The broker's own limit L.
        say("raw limit L: \(raw) messages with confirms through one quorum queue …")
        let limit = try await rawLimit(broker, count: raw, window: 500, logger: logger)

        // 2. The agencies' broker users.
        for agency in EventMix.agencies { try stack.ensureAgency(agency.code) }

        // 3. The services: started twice, one at a time, to time start → ready with and without migrations to run.
        var nextPort = port
        var cold: [String: Double] = [:]
        var warm: [String: Double] = [:]
        var running: [String: [ServiceProcess]] = [:]
        func start(_ name: String) async throws -> (ServiceProcess, Double) {
            nextPort += 1
            let environment = ["AMQP_URL": amqpURL, "DATABASE_URL": databaseURL, "LOG_LEVEL": "warning"].merging(extra) { _, new in new }
            let began = ContinuousClock.now
            let process = try ServiceProcess(name, binaries: binaries, environment: environment, port: nextPort, logs: logs)
            while await httpStatus("http://127.0.0.1:\(nextPort)/health/ready", timeout: 1) != 200 {
                guard process.isRunning, ContinuousClock.now - began < .seconds(60) else {
                    throw CommandFailure(description: "\(name) did not become ready; see \(process.log.path)")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            return (process, durationSeconds(ContinuousClock.now - began))
        }
        func stopAll() async { for process in running.values.joined() { await process.stop() }; running = [:] }
        do {
            say("starting the services (first start: migrations run) …")
            for name in Self.services {
                let (process, time) = try await start(name)
                cold[name] = time
                running[name] = [process]
            }
            await stopAll()
            say("starting them again (migrations already applied) …")
            for name in Self.services {
                for replica in 0..<(counts[name] ?? 1) {
                    let (process, time) = try await start(name)
                    if replica == 0 { warm[name] = time }
                    running[name, default: []].append(process)
                }
            }
        } catch {
            await stopAll()
            throw error
        }

        var report: Report
        do {
            for agency in EventMix.agencies {
                try await database.query("""
                    INSERT INTO intake.agencies (code, name, kind, event_types) VALUES (\(agency.code), \(agency.code), \(agency.kind), \(agency.eventTypes))
                    ON CONFLICT (code) DO UPDATE SET event_types = excluded.event_types, kind = excluded.kind, active = true
                    """, logger: logger)
            }
            try await Task.sleep(for: .seconds(3))
            let idle = running.mapValues { $0.map(\.residentKB).max() ?? 0 }
            report = try await measure(broker: broker, stack: stack, running: running, limit: limit, database: database, logger: logger)
            report.idleKB = idle
            report.cold = cold
            report.warm = warm
        } catch {
            await stopAll()
            throw error
        }
        await stopAll()
        if platform {
            say("platform row: \(events) events through four pass-through services, \(inFlight) in flight …")
            report.platform = try await PlatformRun.measure(
                events: events, inFlight: inFlight, broker: broker, amqpURL: amqpURL, databaseURL: databaseURL, firstPort: nextPort + 1,
                database: database, logs: logs, logger: logger)
        }
        try? await setup.deleteQueue(ExchangeName.unclaimedReplies)
        await setup.close()
        report.durability = durability.joined(separator: ", ")
        report.replicas = Self.services.map { "\($0) ×\(counts[$0] ?? 1)" }.joined(separator: ", ")
        report.settings = (env.isEmpty ? "defaults" : env.joined(separator: " "))
            + (warmUp > 0 ? "; the loop measured after a warm-up of \(warmUp) events and ANALYZE" : "; no warm-up")
        report.label = label
        say(report.render())
        if let summary {
            let line = try JSONEncoder().encode(report.summary) + Data("\n".utf8)
            if let handle = FileHandle(forWritingAtPath: summary) {
                handle.seekToEndOfFile()
                handle.write(line)
                handle.closeFile()
            } else {
                try line.write(to: URL(fileURLWithPath: summary))
            }
        }
    }

    func replicaCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for item in replicas {
            let parts = item.split(separator: "=")
            guard parts.count == 2, Self.services.contains(String(parts[0])), let n = Int(parts[1]), n >= 1 else {
                throw ValidationError("--replicas takes service=count, e.g. assessment=2")
            }
            counts[String(parts[0])] = n
        }
        return counts
    }

    func settings() throws -> [String: String] {
        var settings: [String: String] = [:]
        for item in env {
            guard let equals = item.firstIndex(of: "=") else { throw ValidationError("--env takes NAME=value") }
            settings[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        return settings
    }

    /// The closed-loop and open-loop runs, with memory and CPU sampled throughout.
    func measure(
        broker: AMQPConfiguration, stack: DevStack, running: [String: [ServiceProcess]], limit: Double, database: Database, logger: Logger
    ) async throws -> Report {
        let run = "pl\(UInt32.random(in: 0...UInt32.max) % 1_000_000)"
        let completions = Completions()
        // The benchmark's own view of the ends of the paths: every notification.delivered.v1 and risk.assessed.v1 (every
        // tier: `risk.assessed.v1.#` matches the plain name a revision before tiered keys published under, too).
        let (listener, listening) = try await watchEnds(
            queue: "bench.pipeline.ends", keys: [NotificationDeliveredV1.eventType.name, RiskAssessedV1.eventType.routingKey + ".#"],
            broker: broker, logger: logger
        ) { delivery in
            if let id = delivery.properties.correlationID {
                completions.arrive(id, end: delivery.routingKey.hasPrefix(RiskAssessedV1.eventType.routingKey) ? .assessed : .notified, at: .now)
            }
        }
        defer { listening.cancel() }
        var senders: [AMQPConnection] = []
        for agency in EventMix.agencies {
            senders.append(try await AMQPConnection.connect(
                try AMQPConfiguration(url: stack.agencyURL(agency.code), connectionName: agency.code), logger: logger))
        }
        let sampler = Sampler(running: running)
        var report = Report(limit: limit)

        // Closed loop: `inFlight` senders, each publishing its next event when the last one's notice arrived.
        say("closed loop: \(events) events, \(inFlight) in flight …")
        let agencies = senders
        let inFlight = inFlight
        /// `total` events, `inFlight` senders each waiting for its last event's end; the latencies of those that ended.
        @Sendable func closedLoop(_ total: Int, run: String, first: Int) async throws -> [Duration] {
            let next = Locked(0)
            return try await withThrowingTaskGroup(of: [Duration].self) { group in
                for _ in 0..<inFlight {
                    group.addTask {
                        var latencies: [Duration] = []
                        while true {
                            let index = next.withLock { value in defer { value += 1 }; return value }
                            guard index < total else { return latencies }
                            let (agency, message, end) = try EventMix.event(index, run: run, first: first)
                            let sent = ContinuousClock.now
                            completions.expect(message.properties.messageID!, end: end, sent: sent)
                            _ = try await agencies[agency].publish(message)
                            guard let done = await completions.wait(message.properties.messageID!, timeout: .seconds(60)) else {
                                // A healthy stack ends every event in well under a second: one that took a minute means the
                                // loop is stuck or its end is never published, and waiting on would take an hour.
                                throw CommandFailure(description: """
                                    event \(message.properties.messageID!) (\(message.properties.type ?? "?")) did not reach the end of its path (\(end)) in 60 s; \
                                    the services' logs are in .bench/logs (the services of a revision before tiered assessments \
                                    need --env ANNOUNCE=risk.assessed.v1)
                                    """)
                            }
                            latencies.append(done - sent)
                        }
                    }
                }
                var all: [Duration] = []
                for try await part in group { all += part }
                return all
            }
        }
        if warmUp > 0 {
            // People of their own (numbered far past the measured runs'), so that those meet no one the warm-up met.
            say("warm-up: \(warmUp) events, then ANALYZE …")
            _ = try await closedLoop(warmUp, run: run + "w", first: 10_000_000)
            // What the warm-up's last events still cause (their other notices) done before the measured run begins:
            // every service's outbox empty twice in a row, then a moment for the last messages to be consumed.
            let outboxes = Self.services.map { "SELECT count(*) FROM \($0).outbox WHERE sent_at IS NULL" }.joined(separator: " UNION ALL ")
            var emptyChecks = 0
            let drainDeadline = ContinuousClock.now + .seconds(30)
            while emptyChecks < 2 && ContinuousClock.now < drainDeadline {
                var unsent: Int64 = 0
                for try await count in try await database.query(PostgresQuery(unsafeSQL: outboxes), logger: logger).decode(Int64.self) { unsent += count }
                emptyChecks = unsent == 0 ? emptyChecks + 1 : 0
                try await Task.sleep(for: .milliseconds(250))
            }
            if emptyChecks < 2 { say("warning: the warm-up's messages were still leaving the outboxes after 30 s; measuring anyway") }
            try await Task.sleep(for: .milliseconds(500))
            try await database.query("ANALYZE", logger: logger)
        }
        sampler.start()
        let databaseBefore = try await DatabaseWork.now(database)
        let cpuBefore = Sampler.cpu(running)
        let began = ContinuousClock.now
        let closed = try await closedLoop(events, run: run, first: 0)
        let closedElapsed = durationSeconds(ContinuousClock.now - began)
        let cpuAfter = Sampler.cpu(running)
        let databaseAfter = try await DatabaseWork.now(database)
        report.database = databaseAfter - databaseBefore
        let closedIDs = (0..<events).map { "\(run)-\($0)" }
        report.closed = Phase(name: "closed loop, \(inFlight) in flight", offered: nil, sent: events, done: closed.count,
                              seconds: closedElapsed, latencies: closed, notified: completions.latencies(of: closedIDs, end: .notified))
        report.cpuSeconds = cpuAfter.merging(cpuBefore) { after, before in after - before }
        report.cpu = report.cpuSeconds.mapValues { $0 / closedElapsed }
        report.loadKB = sampler.stop()

        // Open loop: a fixed rate, whatever the pipeline does; latency from each event's scheduled time.
        let target = rate ?? max(1, report.closed.throughput / 2)
        let planned = Int(target * Double(seconds))
        say("open loop: \(Int(target)) events/s for \(seconds) s …")
        let openDatabaseBefore = try await DatabaseWork.now(database)
        let openCPUBefore = Sampler.cpu(running)
        sampler.start()
        let openRun = run + "o"
        let closedCount = events
        let start = ContinuousClock.now
        let publishing = Task {
            var sent = 0
            while sent < planned {
                let due = min(planned, Int(durationSeconds(ContinuousClock.now - start) * target) + 1)
                if due > sent {
                    var byAgency: [Int: [OutgoingMessage]] = [:]
                    for index in sent..<due {
                        let (agency, message, end) = try EventMix.event(index, run: openRun, first: closedCount)
                        completions.expect(message.properties.messageID!, end: end, sent: start + .nanoseconds(Int64(Double(index) / target * 1e9)))
                        byAgency[agency, default: []].append(message)
                    }
                    for (agency, messages) in byAgency { Task { _ = try? await agencies[agency].publish(messages) } }
                    sent = due
                }
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        try await publishing.value
        let ids = (0..<planned).map { "\(openRun)-\($0)" }
        let deadline = ContinuousClock.now + .seconds(60)
        while completions.count(of: ids) < planned && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let openCPUAfter = Sampler.cpu(running)
        let openElapsed = durationSeconds(ContinuousClock.now - start)
        report.openCPUSeconds = openCPUAfter.merging(openCPUBefore) { after, before in after - before }
        report.openCPU = report.openCPUSeconds.mapValues { $0 / openElapsed }
        report.openDatabase = try await DatabaseWork.now(database) - openDatabaseBefore
        let open = completions.latencies(of: ids)
        if let openTrace {
            var csv = "index,sent_ms,latency_ms,end,type\n"
            for (index, id) in ids.enumerated() {
                let sent = Double(index) / target * 1000
                let (latency, end) = completions.latency(of: id)
                let type = (try? EventMix.event(index, run: openRun, first: closedCount).1.properties.type) ?? nil
                csv += "\(index),\(String(format: "%.1f", sent)),\(latency.map { String(format: "%.1f", durationSeconds($0) * 1000) } ?? ""),\(end.map { "\($0)" } ?? ""),\(type ?? "")\n"
            }
            try csv.write(toFile: openTrace, atomically: true, encoding: .utf8)
        }
        report.open = Phase(name: "open loop at \(Int(target))/s", offered: target, sent: planned, done: open.count,
                            seconds: durationSeconds(completions.last(of: ids) - start), latencies: open,
                            notified: completions.latencies(of: ids, end: .notified))
        // The same latencies by when the events were sent, five seconds at a time: a tail made by a few seconds' stall (an
        // autovacuum, a checkpoint) is told apart from one spread over the whole run.
        // (The last window takes the few events left over.)
        let windowSize = max(1, Int(target * 5))
        let windowCount = max(1, planned / windowSize)
        report.openWindows = (0..<windowCount).map { window in
            ids[window * windowSize..<(window == windowCount - 1 ? planned : (window + 1) * windowSize)].compactMap { completions.latency(of: $0).0 }
        }
        report.openLoadKB = sampler.stop()

        for sender in senders { await sender.close() }
        await listener.close()  // its queue goes with it
        return report
    }
}

/// When each event was sent and when the end of its path was seen.
final class Completions: Sendable {
    private struct State {
        var sent: [String: ContinuousClock.Instant] = [:]
        var ends: [String: PathEnd] = [:]
        var arrived: [String: ContinuousClock.Instant] = [:]
        var waiting: [String: CheckedContinuation<ContinuousClock.Instant?, Never>] = [:]
    }
    private let state = Mutex(State())

    func expect(_ id: String, end: PathEnd, sent: ContinuousClock.Instant) {
        state.withLock {
            $0.sent[id] = sent
            $0.ends[id] = end
        }
    }

    /// An end-of-path event for `id` was seen; the first of the kind its path ends with counts.
    func arrive(_ id: String, end: PathEnd, at instant: ContinuousClock.Instant) {
        let waiter = state.withLock { state -> CheckedContinuation<ContinuousClock.Instant?, Never>? in
            guard state.ends[id] == end, state.arrived[id] == nil else { return nil }
            state.arrived[id] = instant
            return state.waiting.removeValue(forKey: id)
        }
        waiter?.resume(returning: instant)
    }

    /// Waits for the first notice of `id`. - Returns: When it arrived, or nil after `timeout`.
    func wait(_ id: String, timeout: Duration) async -> ContinuousClock.Instant? {
        let timer = Task {
            try await Task.sleep(for: timeout)
            let waiter = state.withLock { $0.waiting.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
        defer { timer.cancel() }
        // Cancelled (another sender gave up), the wait ends at once.
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let arrived = state.withLock { state -> ContinuousClock.Instant?? in
                    if let at = state.arrived[id] { return at }
                    if Task.isCancelled { return .some(nil) }
                    state.waiting[id] = continuation
                    return nil
                }
                if let arrived { continuation.resume(returning: arrived) }
            }
        } onCancel: {
            state.withLock { $0.waiting.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }

    /// How long `id` took, if it arrived, and how its path ends.
    func latency(of id: String) -> (Duration?, PathEnd?) {
        state.withLock { state in (state.arrived[id].flatMap { at in state.sent[id].map { at - $0 } }, state.ends[id]) }
    }

    func count(of ids: [String]) -> Int { state.withLock { state in ids.filter { state.arrived[$0] != nil }.count } }

    /// - Parameter end: Only events whose path ends so, or all.
    func latencies(of ids: [String], end: PathEnd? = nil) -> [Duration] {
        state.withLock { state in
            ids.compactMap { id in
                guard end == nil || state.ends[id] == end else { return nil }
                return state.arrived[id].flatMap { at in state.sent[id].map { at - $0 } }
            }
        }
    }

    func last(of ids: [String]) -> ContinuousClock.Instant {
        state.withLock { state in ids.compactMap { state.arrived[$0] }.max() ?? .now }
    }
}

/// Resident memory of the services sampled while the load runs, and CPU time from /proc.
final class Sampler: @unchecked Sendable {
    let running: [String: [ServiceProcess]]
    private let peak = Mutex<[String: Int]>([:])
    private var task: Task<Void, Never>?

    init(running: [String: [ServiceProcess]]) { self.running = running }

    func start() {
        peak.withLock { $0 = [:] }
        task = Task { [self] in
            while !Task.isCancelled {
                for (name, processes) in running {
                    let kb = processes.map(\.residentKB).max() ?? 0
                    self.peak.withLock { $0[name] = max($0[name] ?? 0, kb) }
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Stops sampling. - Returns: The highest resident memory of each service (its largest replica), kB.
    func stop() -> [String: Int] {
        task?.cancel()
        return peak.withLock { $0 }
    }

    /// CPU seconds so far: each service (all replicas), PostgreSQL (all its processes) and RabbitMQ. A process's children
    /// that ended count too (their time is added to their parent's when it reaps them): a connection the services' pools
    /// close when it has been idle ends its PostgreSQL backend, whose time would otherwise drop out of the sum between
    /// two readings.
    static func cpu(_ running: [String: [ServiceProcess]]) -> [String: Double] {
        var cpu = running.mapValues { $0.map(\.cpuSeconds).reduce(0, +) }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.allSatisfy(\.isNumber) {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let command = String(stat[stat.index(after: open)..<close])
            let name = command == "postgres" ? "postgresql" : command == "beam.smp" ? "rabbitmq" : nil
            guard let name else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 14, let user = Double(fields[11]), let system = Double(fields[12]),
                  let children = Double(fields[13]), let childrenSystem = Double(fields[14]) else { continue }
            cpu[name, default: 0] += (user + system + children + childrenSystem) / ticks
        }
        return cpu
    }
}

struct Phase {
    var name: String
    var offered: Double?
    var sent: Int
    var done: Int
    var seconds: Double
    var latencies: [Duration]
    /// Those of events whose path ends in a notification.
    var notified: [Duration] = []

    var throughput: Double { seconds > 0 ? Double(done) / seconds : 0 }

    func percentile(_ p: Double, of latencies: [Duration]? = nil) -> Double {
        let sorted = (latencies ?? self.latencies).map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
    }
}

struct Report {
    var limit: Double
    var closed = Phase(name: "", sent: 0, done: 0, seconds: 0, latencies: [])
    var open = Phase(name: "", sent: 0, done: 0, seconds: 0, latencies: [])
    var idleKB: [String: Int] = [:]
    var loadKB: [String: Int] = [:]
    var openLoadKB: [String: Int] = [:]
    var cold: [String: Double] = [:]
    var warm: [String: Double] = [:]
    var cpu: [String: Double] = [:]
    /// CPU seconds each process (all replicas) spent in the closed loop.
    var cpuSeconds: [String: Double] = [:]
    /// What PostgreSQL did in the closed loop.
    var database = DatabaseWork()
    /// CPU in the open loop, cores (all replicas), from its first event until its last one ended.
    var openCPU: [String: Double] = [:]
    /// CPU seconds each process spent in the open loop.
    var openCPUSeconds: [String: Double] = [:]
    /// What PostgreSQL did in the open loop.
    var openDatabase = DatabaseWork()
    /// The open loop's latencies in windows of five seconds of sending, in order.
    var openWindows: [[Duration]] = []
    /// The same hops with handlers that only pass the event on; nil when not measured.
    var platform: PlatformRun?
    var label = ""
    var durability = ""
    var replicas = ""
    var settings = ""

    func render() -> String {
        func f(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }
        var lines = [
            "", "pipeline benchmark of \(label) — \(durability); \(replicas); settings: \(settings)", "",
            "| run | sent | done | events/s | / L | p50 ms | p95 ms | p99 ms | ending in a notification: done, p50 / p99 ms |",
            "|---|---|---|---|---|---|---|---|---|",
            "| raw: publish with confirms + consume, one quorum queue (L) | | | \(f(limit)) | 1.000 | | | | |",
        ]
        for phase in [closed, open] {
            lines.append("| \(phase.name) | \(phase.sent) | \(phase.done) | \(f(phase.throughput)) | \(f(phase.throughput / limit, 3)) | "
                + "\(f(phase.percentile(0.5), 1)) | \(f(phase.percentile(0.95), 1)) | \(f(phase.percentile(0.99), 1)) | "
                + "\(phase.notified.count), \(f(phase.percentile(0.5, of: phase.notified), 1)) / \(f(phase.percentile(0.99, of: phase.notified), 1)) |")
        }
        let perEvent = summary.cpuMillisecondsPerEvent
        let openPerEvent = summary.openCPUMillisecondsPerEvent ?? [:]
        lines += ["", "| process | start → ready, first (ms) | again (ms) | RSS idle (MB) | RSS closed loop (MB) | RSS open loop (MB) | CPU, closed loop (cores) | CPU ms / event | CPU, open loop (cores) | CPU ms / event, open loop |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for name in PipelineBench.services {
            lines.append("| \(name) | \(f((cold[name] ?? 0) * 1000)) | \(f((warm[name] ?? 0) * 1000)) | \(f(Double(idleKB[name] ?? 0) / 1024, 1)) | "
                + "\(f(Double(loadKB[name] ?? 0) / 1024, 1)) | \(f(Double(openLoadKB[name] ?? 0) / 1024, 1)) | \(f(cpu[name] ?? 0, 2)) | \(f(perEvent[name] ?? 0, 2)) | "
                + "\(f(openCPU[name] ?? 0, 2)) | \(f(openPerEvent[name] ?? 0, 2)) |")
        }
        for name in ["postgresql", "rabbitmq"] {
            lines.append("| \(name) | | | | | | \(f(cpu[name] ?? 0, 2)) | \(f(perEvent[name] ?? 0, 2)) | \(f(openCPU[name] ?? 0, 2)) | \(f(openPerEvent[name] ?? 0, 2)) |")
        }
        lines.append("| all processes | | | | | | \(f(cpu.values.reduce(0, +), 2)) | \(f(summary.cpuMillisecondsPerEventTotal, 2)) | "
            + "\(f(openCPU.values.reduce(0, +), 2)) | \(f(summary.openCPUMillisecondsPerEventTotal ?? .nan, 2)) |")
        // The CPU of a transaction (all processes, its share of the hops around it): at a rate where each message is
        // its own transaction the host's CPU follows the transactions, not the events.
        func work(_ name: String, _ database: DatabaseWork, phase: Phase, cpuPerEvent: Double) -> String {
            let events = Double(max(phase.done, 1))
            let perEvent = Double(database.transactions) / events
            return "\(name), per agency event: \(f(perEvent, 1)) transactions, "
                + (database.statements.map { "\(f(Double($0) / events, 1)) SQL statements" } ?? "SQL statements not counted (pg_stat_statements is not installed in this database)")
                + " (pg_stat_database, pg_stat_statements); \(f(Double(database.transactions) / max(phase.seconds, 0.001))) transactions/s, "
                + "\(f(perEvent > 0 ? cpuPerEvent / perEvent : .nan, 2)) CPU ms per transaction, all processes"
        }
        lines += ["", work("closed loop", database, phase: closed, cpuPerEvent: summary.cpuMillisecondsPerEventTotal),
                  work("open loop", openDatabase, phase: open, cpuPerEvent: summary.openCPUMillisecondsPerEventTotal ?? .nan)]
        if openWindows.count > 1 {
            lines.append("open loop, p50 / p99 ms of the events sent in each 5 s: " + openWindows.enumerated().map { index, window in
                "\(index * 5)–\(index * 5 + 5) s \(f(open.percentile(0.5, of: window))) / \(f(open.percentile(0.99, of: window)))"
            }.joined(separator: ", "))
        }
        if let platform {
            let events = Double(max(platform.done, 1))
            lines += ["", "| platform: four services passing the event on, \(closed.name) | events/s | / L | p99 ms | CPU ms / event, all processes | transactions / event | SQL statements / event |",
                      "|---|---|---|---|---|---|---|",
                      "| ServiceKit alone (inbox, handler, outbox, relay, consumer) | \(f(platform.throughput)) | \(f(platform.throughput / limit, 3)) | "
                        + "\(f(platform.p99, 1)) | \(f(platform.cpuMillisecondsPerEvent, 2)) | \(f(Double(platform.database.transactions) / events, 1)) | "
                        + "\(platform.database.statements.map { f(Double($0) / events, 1) } ?? "—") |",
                      "| the loop (above) | \(f(closed.throughput)) | \(f(closed.throughput / limit, 3)) | \(f(closed.percentile(0.99), 1)) | "
                        + "\(f(summary.cpuMillisecondsPerEventTotal, 2)) | \(f(summary.transactionsPerEvent, 1)) | \(summary.statementsPerEvent.map { f($0, 1) } ?? "—") |"]
        }
        return lines.joined(separator: "\n")
    }

    /// The run's key figures, for comparing revisions.
    var summary: Summary {
        let events = Double(max(closed.done, 1))
        let perEvent = cpuSeconds.mapValues { $0 * 1000 / events }
        let openEvents = Double(max(open.done, 1))
        let openPerEvent = openCPUSeconds.mapValues { $0 * 1000 / openEvents }
        return Summary(
            label: label, limit: limit, closedThroughput: closed.throughput, closedP99: closed.percentile(0.99),
            openRate: open.offered ?? 0, openP99: open.percentile(0.99),
            cpuMillisecondsPerEvent: perEvent, cpuMillisecondsPerEventTotal: perEvent.values.reduce(0, +),
            transactionsPerEvent: Double(database.transactions) / events,
            statementsPerEvent: database.statements.map { Double($0) / events },
            idleMB: idleKB.mapValues { Double($0) / 1024 },
            platformThroughput: platform?.throughput, platformCPUMillisecondsPerEvent: platform?.cpuMillisecondsPerEvent,
            openCPUMillisecondsPerEvent: openPerEvent, openCPUMillisecondsPerEventTotal: openPerEvent.values.reduce(0, +),
            openTransactionsPerEvent: Double(openDatabase.transactions) / openEvents)
    }

    /// A run's key figures, one JSON line.
    struct Summary: Codable {
        var label: String
        var limit: Double
        var closedThroughput: Double
        var closedP99: Double
        var openRate: Double
        var openP99: Double
        var cpuMillisecondsPerEvent: [String: Double]
        var cpuMillisecondsPerEventTotal: Double
        var transactionsPerEvent: Double
        var statementsPerEvent: Double?
        var idleMB: [String: Double]
        var platformThroughput: Double?
        var platformCPUMillisecondsPerEvent: Double?
        /// The open loop's CPU per event (nil in summaries written before it was measured).
        var openCPUMillisecondsPerEvent: [String: Double]?
        var openCPUMillisecondsPerEventTotal: Double?
        var openTransactionsPerEvent: Double?
    }
}

func durationSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// The broker's own limit L: `count` messages published with confirms (in windows) and consumed, through one
/// quorum queue. - Returns: Messages per second.
func rawLimit(_ configuration: AMQPConfiguration, count: Int, window: Int, logger: Logger) async throws -> Double {
    let setup = try await AMQPConnection.connect(configuration, logger: logger)
    let queue = "bench.raw.\(UUID().uuidString.lowercased().prefix(8))"
    try await setup.declare(Topology(queues: [.init(name: queue, arguments: ["x-queue-type": .string("quorum")])]))
    let body = Array(String(repeating: "x", count: 400).utf8)
    let start = ContinuousClock.now
    let consumer = try await AMQPConnection.connect(configuration, confirms: false, logger: logger)
    let stream = try await consumer.consume(queue: queue, prefetch: 1000)
    let consuming = Task {
        var received = 0
        for try await delivery in stream {
            received += 1
            await consumer.ack(delivery)
            if received == count { break }
        }
    }
    for first in stride(from: 0, to: count, by: window) {
        let messages = (first..<min(first + window, count)).map { index in
            OutgoingMessage(exchange: "", routingKey: queue,
                            properties: AMQPProperties(contentType: "application/json", messageID: "raw-\(index)"), body: body)
        }
        _ = try await setup.publish(messages)
    }
    try await consuming.value
    let elapsed = ContinuousClock.now - start
    await consumer.close()
    try await setup.deleteQueue(queue)
    await setup.close()
    return Double(count) / durationSeconds(elapsed)
}

/// What the database did: transactions (pg_stat_database) and SQL statements (pg_stat_statements, when installed).
struct DatabaseWork: Sendable {
    var transactions = 0
    var statements: Int?

    /// The counters now. PostgreSQL publishes a backend's counts when its transaction ends, at most a second late.
    static func now(_ database: Database) async throws -> DatabaseWork {
        try await Task.sleep(for: .milliseconds(1100))
        var work = DatabaseWork()
        for try await count in try await database.query("""
            SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = current_database()
            """).decode(Int.self) { work.transactions = count }
        if let rows = try? await database.query("""
            SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            """) {
            for try await count in rows.decode(Int.self) { work.statements = count }
        }
        return work
    }

    static func - (after: DatabaseWork, before: DatabaseWork) -> DatabaseWork {
        DatabaseWork(transactions: after.transactions - before.transactions,
                     statements: after.statements.flatMap { a in before.statements.map { a - $0 } })
    }
}

/// The benchmark's own view of the ends of the paths: a queue bound to the given routing keys on `huhang.events`,
/// consumed with `arrived` called for each delivery. It is an instrument, not part of what is measured, so it costs
/// the broker as little as it can: transient (held in memory, gone with the connection) and acknowledged in groups.
/// - Parameters:
///   - queue: The start of the queue's name (a run's own suffix follows).
///   - keys: The routing keys (event types) it is bound to.
///   - broker: The broker.
///   - logger: The logger.
///   - arrived: Called for each delivery, in order.
/// - Returns: The listening connection (kept open while watching) and the task that reads it; cancel it to stop.
func watchEnds(
    queue: String, keys: [String], broker: AMQPConfiguration, logger: Logger, arrived: @escaping @Sendable (Delivery) -> Void
) async throws -> (AMQPConnection, Task<Void, any Error>) {
    let listener = try await AMQPConnection.connect(broker, confirms: false, logger: logger)
    // A name of its own each run, so that a durable queue an older benchmark left behind is never in the way.
    let queue = "\(queue).\(UUID().uuidString.lowercased().prefix(8))"
    try await listener.declare(Topology(
        queues: [.init(name: queue, arguments: ["x-queue-type": .string("classic")], transient: true)],
        bindings: keys.map { .init(queue: queue, exchange: ExchangeName.events, routingKey: $0) }))
    let prefetch: UInt16 = 2000
    let stream = try await listener.consume(queue: queue, prefetch: prefetch)
    let listening = Task {
        var unacknowledged: [Delivery] = []
        for try await delivery in stream {
            arrived(delivery)
            unacknowledged.append(delivery)
            // Well below the prefetch, so the broker never waits for these acks to deliver more.
            if unacknowledged.count >= 100 {
                _ = await listener.ack(unacknowledged)
                unacknowledged.removeAll(keepingCapacity: true)
            }
        }
    }
    return (listener, listening)
}
