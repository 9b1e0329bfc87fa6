import Contracts
import Foundation
import Hummingbird
import Logging
import Messaging
import Metrics
import Prometheus
import ServiceLifecycle
import Storage
import Synchronization
import UnixSignals

/// Builds and runs a service: the one bootstrap every service's `main` calls.
///
/// The group, in start order: database pool, publisher, migrations, outbox
/// relay, the service's background work, consumer, HTTP server. Graceful
/// shutdown (SIGTERM, SIGINT) runs in reverse: the HTTP server stops, the
/// consumer cancels and finishes what it received, background work stops, the
/// relay flushes the outbox, then the publisher and the pool close.
public enum ServiceApp {
    /// The entry point of a service executable. Exits 0 after a graceful shutdown.
    public static func main<S: HuhangService>(_ service: S.Type) async {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration(service: S.name, defaultHTTPPort: S.defaultHTTPPort)
        } catch {
            FileHandle.standardError.write(Data("\(S.name): \(error)\n".utf8))
            exit(2)
        }
        bootstrapObservability(service: S.name, configuration: configuration)
        let logger = Logger(label: S.name)
        do {
            let running = try RunningService<S>(configuration: configuration, logger: logger, signals: true)
            try await running.group.run()
            logger.info("stopped")
        } catch {
            logger.critical("service failed", metadata: ["error.message": "\(error)"])
            exit(1)
        }
    }

    private static let bootstrapped = Mutex(false)

    /// Sets up logging and metrics once per process.
    public static func bootstrapObservability(service: String, configuration: ServiceConfiguration) {
        let first = bootstrapped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        let level = configuration.logLevel
        switch configuration.logFormat {
        case .json: LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        case .text: LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        var factory = PrometheusMetricsFactory(registry: metricsRegistry)
        // Libraries name metrics with dots (Hummingbird's `hb.requests`, `http.server.request.duration`);
        // Prometheus names and label names take underscores.
        factory.nameAndLabelSanitizer = { name, labels in
            (name.replacingOccurrences(of: ".", with: "_"), labels.map { ($0.0.replacingOccurrences(of: ".", with: "_"), $0.1) })
        }
        MetricsSystem.bootstrap(factory)
    }

    /// The process's metrics, served at `/metrics`.
    public static let metricsRegistry = PrometheusCollectorRegistry()
}

/// A service assembled and ready to run (used by `main` and by tests).
public struct RunningService<S: HuhangService>: Sendable {
    /// The service group; run it, or trigger its graceful shutdown.
    public let group: ServiceGroup
    public let service: S
    public let database: Database
    public let publisher: Publisher
    public let relay: OutboxRelay
    /// The service's queues and the bindings its handlers make.
    public let queues: ServiceQueues
    /// Reads the service's queue; nil for a service that handles no events (the console), which then needs no broker to start.
    public let consumer: Consumer?
    /// Runs events through the service's handlers, as the consumer does (tests hand it batches of their own).
    public let dispatcher: EventDispatcher
    public let readiness: Readiness
    /// The service's HTTP routes, as its router answers them (for in-process route tests).
    public let responder: RouterResponder<HuhangRequestContext>
    /// Every route the service serves, as `GET /v1/cases/:id`.
    public let routes: [String]

    /// Assembles the service.
    /// - Parameters:
    ///   - configuration: Its settings.
    ///   - logger: Its logger.
    ///   - signals: Shut down gracefully on SIGTERM and SIGINT.
    ///   - clock: The time of day for deadlines and timers.
    public init(configuration: ServiceConfiguration, logger: Logger, signals: Bool = false, clock: any WallClock = SystemWallClock()) throws {
        let database = try Database(configuration: configuration.database, schema: S.name, logger: logger)
        let publisher = Publisher(configuration: configuration.amqp, logger: logger)
        let context = ServiceContext(
            configuration: configuration, database: database, originator: Originator(database: database, source: S.name, announcements: configuration.announcements), logger: logger,
            clock: clock)
        let service = try S(context: context)
        var registry = HandlerRegistry()
        service.register(&registry)
        let queues = ServiceQueues(
            service: S.name, bindings: registry.bindings,
            retryDelays: configuration.retryDelays, deliveryLimit: configuration.deliveryLimit,
            declaresShared: configuration.declaresSharedTopology)
        let dispatcher = EventDispatcher(
            registry: registry, database: database, service: S.name, announcements: configuration.announcements, logger: logger)
        let processor = MessageProcessor(dispatcher: dispatcher)
        let consumer = registry.bindings.isEmpty ? nil : Consumer(
            amqp: configuration.amqp, queues: queues,
            configuration: ConsumerConfiguration(
                prefetch: configuration.prefetch, concurrency: configuration.handlerConcurrency,
                batchSize: configuration.handlerBatchSize, linger: configuration.handlerBatchLinger),
            publisher: publisher, logger: logger
        ) { deliveries in await processor.process(deliveries) }
        let relay = OutboxRelay(database: database, publisher: publisher, configuration: configuration.outbox, logger: logger)
        let readiness = Readiness(database: database, consumer: consumer)
        let migrations = MigrationService(migrations: S.migrations, database: database, readiness: readiness, logger: logger)

        if configuration.apiTokenKey == nil {
            logger.warning("API_TOKEN_KEY not set; API tokens use the development key — never in production")
        }
        let tokens = try APITokens(secret: configuration.apiTokenKey ?? APITokens.developmentSecret)
        let router = Router(context: HuhangRequestContext.self)
        // Requests by route template (never a concrete id), method and status, with their durations.
        router.add(middleware: MetricsMiddleware())
        HealthRoutes.add(to: router, readiness: readiness)
        if let document = S.apiDocument { try HealthRoutes.addAPIDocument(to: router, document: document) }
        let v1 = router.group("v1").add(middleware: BearerAuthMiddleware(tokens: tokens))
        service.addRoutes(to: v1, events: dispatcher)
        AuditRoutes.add(to: v1, database: database)
        if consumer != nil { DeadLetterRoutes.add(to: v1, service: S.name, amqp: configuration.amqp, database: database, logger: logger) }
        service.addPages(to: router)
        let responder = router.buildResponder()
        let http = Application(
            responder: responder,
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: S.name),
            logger: logger)

        let gated: [any Service] = [relay] + service.backgroundServices() + (consumer.map { [$0] } ?? [])
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: database, serviceName: "database"),
            .init(service: publisher, serviceName: "publisher"),
            .init(service: migrations, successTerminationBehavior: .ignore, serviceName: "migrations"),
        ]
        for (index, inner) in gated.enumerated() {
            services.append(.init(service: AfterMigrations(inner: inner, readiness: readiness), serviceName: "worker-\(index)"))
        }
        services.append(.init(service: http, serviceName: "http"))
        var groupConfiguration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        groupConfiguration.maximumCancellationDuration = .seconds(1)
        self.group = ServiceGroup(configuration: groupConfiguration)
        self.service = service
        self.database = database
        self.publisher = publisher
        self.relay = relay
        self.queues = queues
        self.consumer = consumer
        self.dispatcher = dispatcher
        self.readiness = readiness
        self.responder = responder
        self.routes = router.routes.map { "\($0.method) \($0.path)" }
    }
}

/// Whether a service may take traffic: migrations done, broker and database reachable.
public final class Readiness: Sendable {
    private let migrated = Mutex(false)
    private let waiters = Mutex<Waiters>(Waiters())
    let database: Database
    let consumer: Consumer?

    /// Those waiting for migrations, by a number each, so that a cancelled one can be let go alone.
    private struct Waiters {
        var next = 0
        var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    init(database: Database, consumer: Consumer?) {
        self.database = database
        self.consumer = consumer
    }

    /// Migrations have been applied.
    public var isMigrated: Bool { migrated.withLock { $0 } }

    func markMigrated() {
        migrated.withLock { $0 = true }
        let pending = waiters.withLock { list -> [CheckedContinuation<Void, Never>] in
            defer { list.waiting = [:] }
            return Array(list.waiting.values)
        }
        for waiter in pending { waiter.resume() }
    }

    /// Returns once migrations are done, or as soon as the task is cancelled (a process stopped before its
    /// migrations finished must still end in time).
    func waitUntilMigrated() async {
        if isMigrated { return }
        let number = waiters.withLock { list -> Int in
            defer { list.next += 1 }
            return list.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = waiters.withLock { list -> Bool in
                    if migrated.withLock({ $0 }) || Task.isCancelled { return true }
                    list.waiting[number] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            waiters.withLock { $0.waiting.removeValue(forKey: number) }?.resume()
        }
    }

    /// The readiness report.
    public func check() async -> (ready: Bool, checks: [String: Bool]) {
        var checks = [
            "migrations": isMigrated,
            "database": await database.isReachable(),
        ]
        if let consumer { checks["broker"] = consumer.isConnected }
        return (checks.values.allSatisfy { $0 }, checks)
    }
}

/// Applies migrations once the pool runs, retrying until the database answers.
struct MigrationService: Service {
    let migrations: [Migration]
    let database: Database
    let readiness: Readiness
    let logger: Logger

    func run() async throws {
        await database.waitUntilRunning()
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // A SIGTERM while the attempt waits for a connection (the database does not answer) ends it: the pool
                // it leases from stops only after this service has, so nothing else would. A statement already sent
                // (another replica's migration holding the lock) runs to its end.
                try await cancelWhenGracefulShutdown { [migrations, database] in try await Migrator.migrate(migrations, on: database) }
                readiness.markMigrated()
                logger.info("migrations done", metadata: ["db.schema": "\(database.schema)"])
                return
            } catch {
                // Interrupted by the stop, not failed.
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                if let failure = error as? StorageError, failure.code == .migrationFailed { throw failure }
                logger.warning("database not reachable for migrations", metadata: ["error.message": "\(error)"])
                let pause = backoff.next()
                await cancelWhenGracefulShutdown { try? await Task.sleep(for: pause) }
            }
        }
    }
}

/// Starts a service only after migrations are done.
struct AfterMigrations: Service {
    let inner: any Service
    let readiness: Readiness

    func run() async throws {
        await cancelWhenGracefulShutdown { await readiness.waitUntilMigrated() }
        if Task.isShuttingDownGracefully || Task.isCancelled { return }
        try await inner.run()
    }
}
