import ArgumentParser
import BenchKit
import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import ServiceKit
import Storage
import ToolKit

// The platform's own cost, told apart from the domain's: four services shaped as intake, assessment,
// intervention and notification are, run by ServiceKit exactly as those are (consumer, inbox, handler,
// outbox, relay), whose handlers only pass the event on. An event published as an agency's goes through all
// four and ends as the fourth one's event, like a notice recorded. `bench/pipeline` prints it as the
// platform row beside the loop's own figures.

/// An event of the pass-through chain: which run, which event, and how far it has come.
protocol HopEvent: EventPayload {
    /// The hop that consumes it: 0 is the first service's input.
    static var stage: Int { get }
    var run: String { get }
    var index: Int { get }
    init(run: String, index: Int)
}

struct HopIntoIntakeV1: HopEvent {
    static let eventType = EventType("bench.hop.intake", major: 1)
    static let stage = 0
    var run: String
    var index: Int
}

struct HopIntoAssessmentV1: HopEvent {
    static let eventType = EventType("bench.hop.assessment", major: 1)
    static let stage = 1
    var run: String
    var index: Int
}

struct HopIntoInterventionV1: HopEvent {
    static let eventType = EventType("bench.hop.intervention", major: 1)
    static let stage = 2
    var run: String
    var index: Int
}

struct HopIntoNotificationV1: HopEvent {
    static let eventType = EventType("bench.hop.notification", major: 1)
    static let stage = 3
    var run: String
    var index: Int
}

/// The end of the chain, as `notification.delivered.v1` is of the loop.
struct HopDoneV1: HopEvent {
    static let eventType = EventType("bench.hop.done", major: 1)
    static let stage = 4
    var run: String
    var index: Int
}

/// A service of the chain: consumes `In`, emits `Out`, nothing else.
struct PassOnService<In: HopEvent, Out: HopEvent>: HuhangService {
    static var name: String { ["platform_intake", "platform_assessment", "platform_intervention", "platform_notification"][In.stage] }
    static var defaultHTTPPort: Int { 0 }
    static var migrations: [Migration] { [] }

    init(context: ServiceContext) throws {}

    func register(_ handlers: inout HandlerRegistry) {
        handlers.on(In.self) { event, context in
            try await context.emit(Out(run: event.run, index: event.index), subject: "\(event.run)-\(event.index)")
            return .applied
        }
    }
}

/// `huhang-bench pass-on N`: runs the chain's service N (0 to 3), as `bench/pipeline` starts it.
struct PassOnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pass-on", abstract: "Runs one service of the platform benchmark's pass-through chain (started by bench/pipeline).")

    @Argument(help: "Which: 0 (as intake) to 3 (as notification).") var stage: Int

    func run() async throws {
        switch stage {
        case 0: await ServiceApp.main(PassOnService<HopIntoIntakeV1, HopIntoAssessmentV1>.self)
        case 1: await ServiceApp.main(PassOnService<HopIntoAssessmentV1, HopIntoInterventionV1>.self)
        case 2: await ServiceApp.main(PassOnService<HopIntoInterventionV1, HopIntoNotificationV1>.self)
        case 3: await ServiceApp.main(PassOnService<HopIntoNotificationV1, HopDoneV1>.self)
        default: throw ValidationError("stage is 0 to 3")
        }
    }
}

/// The platform row: the chain's closed loop, measured as the loop's is.
struct PlatformRun {
    static let names = ["platform_intake", "platform_assessment", "platform_intervention", "platform_notification"]

    var throughput = 0.0
    var p99 = Double.nan
    var cpuSeconds: [String: Double] = [:]
    var database = DatabaseWork()
    var done = 0

    /// Starts the four services, sends `events` through them with `inFlight` in flight, stops them.
    static func measure(
        events: Int, inFlight: Int, broker: AMQPConfiguration, amqpURL: String, databaseURL: String, firstPort: Int,
        database: Database, logs: URL, logger: Logger
    ) async throws -> PlatformRun {
        try await database.query("""
            DROP SCHEMA IF EXISTS platform_intake, platform_assessment, platform_intervention, platform_notification CASCADE
            """)
        let bench = URL(fileURLWithPath: CommandLine.arguments[0])
        var processes: [String: [ServiceProcess]] = [:]
        func stopAll() async { for process in processes.values.joined() { await process.stop() } }
        do {
            for stage in 0..<4 {
                let process = try ServiceProcess(
                    bench.lastPathComponent, binaries: bench.deletingLastPathComponent(),
                    environment: ["AMQP_URL": amqpURL, "DATABASE_URL": databaseURL, "LOG_LEVEL": "warning"], port: firstPort + stage, logs: logs,
                    arguments: ["pass-on", String(stage)])
                processes[names[stage]] = [process]
                guard await process.ready(within: 60) else { throw CommandFailure(description: "\(names[stage]) did not become ready; see \(process.log.path)") }
            }
            let result = try await closedLoop(events: events, inFlight: inFlight, broker: broker, running: processes, database: database, logger: logger)
            await stopAll()
            return result
        } catch {
            await stopAll()
            throw error
        }
    }

    static func closedLoop(
        events: Int, inFlight: Int, broker: AMQPConfiguration, running: [String: [ServiceProcess]], database: Database, logger: Logger
    ) async throws -> PlatformRun {
        let run = "pf\(UInt32.random(in: 0...UInt32.max) % 1_000_000)"
        let completions = Completions()
        let (listener, listening) = try await watchEnds(
            queue: "bench.platform.ends", keys: [HopDoneV1.eventType.name], broker: broker, logger: logger
        ) { delivery in
            if let id = delivery.properties.correlationID { completions.arrive(id, end: .notified, at: .now) }
        }
        defer { listening.cancel() }
        let sender = try await AMQPConnection.connect(broker, logger: logger)
        let next = Locked(0)
        let databaseBefore = try await DatabaseWork.now(database)
        let cpuBefore = Sampler.cpu(running)
        let began = ContinuousClock.now
        let latencies: [Duration] = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for _ in 0..<inFlight {
                group.addTask {
                    var latencies: [Duration] = []
                    while true {
                        let index = next.withLock { value in defer { value += 1 }; return value }
                        guard index < events else { return latencies }
                        let id = "\(run)-\(index)"
                        let type = HopIntoIntakeV1.eventType
                        let envelope = EventEnvelope(id: id, type: type.name, source: "bench", subject: id, dataschema: type.dataschema)
                        let sent = ContinuousClock.now
                        completions.expect(id, end: .notified, sent: sent)
                        _ = try await sender.publish(try OutgoingMessage(HopIntoIntakeV1(run: run, index: index), envelope: envelope))
                        if let done = await completions.wait(id, timeout: .seconds(60)) { latencies.append(done - sent) }
                    }
                }
            }
            var all: [Duration] = []
            for try await part in group { all += part }
            return all
        }
        let elapsed = durationSeconds(ContinuousClock.now - began)
        let cpuAfter = Sampler.cpu(running)
        let databaseAfter = try await DatabaseWork.now(database)
        await sender.close()
        await listener.close()  // its queue goes with it
        let phase = Phase(name: "platform", offered: nil, sent: events, done: latencies.count, seconds: elapsed, latencies: latencies)
        return PlatformRun(
            throughput: phase.throughput, p99: phase.percentile(0.99),
            cpuSeconds: cpuAfter.merging(cpuBefore) { after, before in after - before }, database: databaseAfter - databaseBefore,
            done: latencies.count)
    }

    /// The row's CPU per event: the four services, PostgreSQL and RabbitMQ.
    var cpuMillisecondsPerEvent: Double {
        cpuSeconds.values.reduce(0, +) * 1000 / Double(max(done, 1))
    }
}
