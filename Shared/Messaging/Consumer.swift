import Contracts
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// What became of a delivery once its handler ran.
public enum HandlingOutcome: Sendable, Hashable {
    /// The handler's transaction committed (or the message was a duplicate): acknowledge.
    case done
    /// The handler committed an effect and the message is also to be kept in
    /// `<service>.dead` with the reason (e.g. a rejected agency event).
    case setAside(reason: String)
    /// A transient failure: try again after a growing delay.
    case retry(reason: String)
    /// The message can never succeed: set it aside in `<service>.dead` with the reason.
    case dead(reason: String)
    /// Leave the delivery unacknowledged: the broker gives it to a consumer
    /// again once this connection closes (shutdown while the database is away).
    case abandon
}

/// Settings of a consumer.
public struct ConsumerConfiguration: Sendable {
    /// Unacknowledged deliveries the broker may send ahead.
    public var prefetch: UInt16
    /// Handlers run at once.
    public var concurrency: Int

    public init(prefetch: UInt16 = 32, concurrency: Int = 8) {
        self.prefetch = prefetch
        self.concurrency = max(1, concurrency)
    }
}

/// Consumes a service's queue for as long as the service runs.
///
/// Connects, declares the service's topology, consumes with manual acks and
/// runs up to `concurrency` handlers at once. A delivery is acknowledged only
/// after its handler returned, i.e. after its transaction committed. Failed
/// deliveries go to the retry queues with growing delays, then to
/// `<service>.dead`; undecodable ones go there at once. A lost connection is
/// reopened with back-off and the topology declared again; deliveries from the
/// old connection are never acknowledged on the new one.
///
/// On graceful shutdown the consumer is cancelled, every delivery already
/// received is handled and acknowledged, then the connection closes.
public final class Consumer: Service, Sendable {
    public typealias Handler = @Sendable (Delivery) async -> HandlingOutcome

    private let amqp: AMQPConfiguration
    private let queues: ServiceQueues
    private let configuration: ConsumerConfiguration
    private let publisher: Publisher
    private let logger: Logger
    private let handler: Handler
    private let connected = Mutex<AMQPConnection?>(nil)
    private let outcomes: [String: Counter]
    private let handlerTimer: Timer

    /// Creates a consumer.
    /// - Parameters:
    ///   - amqp: The broker.
    ///   - queues: The service's queues and the keys it consumes.
    ///   - configuration: Prefetch and concurrency.
    ///   - publisher: Used to move messages to retry and dead queues.
    ///   - logger: Where to log.
    ///   - handler: Runs one delivery; must not throw.
    public init(
        amqp: AMQPConfiguration,
        queues: ServiceQueues,
        configuration: ConsumerConfiguration,
        publisher: Publisher,
        logger: Logger,
        handler: @escaping Handler
    ) {
        var amqp = amqp
        amqp.connectionName += ".consumer"
        self.amqp = amqp
        self.queues = queues
        self.configuration = configuration
        self.publisher = publisher
        self.logger = logger
        self.handler = handler
        var outcomes: [String: Counter] = [:]
        for outcome in ["done", "set_aside", "retry", "dead", "unacked"] {
            outcomes[outcome] = Counter(label: "huhang_messages_consumed_total", dimensions: [("outcome", outcome)])
        }
        self.outcomes = outcomes
        self.handlerTimer = Timer(label: "huhang_handler_duration_seconds", preferredDisplayUnit: .seconds)
    }

    /// Whether the consumer currently has an open connection.
    public var isConnected: Bool { connected.withLock { $0?.isOpen ?? false } }

    /// Drops the current connection as a network fault would (for tests of recovery).
    func dropConnection() {
        connected.withLock { $0 }?.abort()
    }

    /// How many connections the consumer has opened and started consuming on.
    var connectionsOpened: Int { opened.load(ordering: .relaxed) }
    private let opened = Atomic<Int>(0)

    public func run() async throws {
        var backoff = Backoff()
        // Queues found with other arguments than configured (an operator
        // changed a setting): used as they are, with a warning, rather than
        // refused — a queue's arguments cannot change without deleting it.
        var keepAsIs = Set<String>()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let connection: AMQPConnection
            do {
                connection = try await AMQPConnection.connect(amqp, confirms: false, logger: logger)
                do {
                    try await connection.declare(queues.topology.passive(keepAsIs))
                } catch let error as AMQPError where error.message.contains("PRECONDITION_FAILED") {
                    await connection.close()
                    let names = queues.topology.queues.map(\.name).filter { error.message.contains("queue '\($0)'") }
                    guard let name = names.first, !keepAsIs.contains(name) else { throw error }
                    logger.warning("queue exists with other arguments; using it as it is (change it with a policy or delete it)", metadata: [
                        "amqp.queue": "\(name)", "error.message": "\(error.message)",
                    ])
                    keepAsIs.insert(name)
                    continue
                }
            } catch {
                logger.warning("consumer cannot connect", metadata: ["error.message": "\(error)", "amqp.queue": "\(queues.mainQueue)"])
                try? await Task.sleep(for: backoff.next())
                continue
            }
            backoff.reset()
            connected.withLock { $0 = connection }
            opened.add(1, ordering: .relaxed)
            do {
                let stream = try await connection.consume(queue: queues.mainQueue, prefetch: configuration.prefetch)
                logger.info("consuming", metadata: ["amqp.queue": "\(queues.mainQueue)", "amqp.prefetch": "\(configuration.prefetch)"])
                try await withGracefulShutdownHandler {
                    try await process(stream, on: connection)
                } onGracefulShutdown: {
                    Task { await connection.cancelConsumer() }
                }
            } catch {
                logger.warning("consumer connection lost", metadata: ["error.message": "\(error)"])
            }
            connected.withLock { $0 = nil }
            await connection.close()
            if !Task.isShuttingDownGracefully && !Task.isCancelled {
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    private func process(_ stream: AsyncThrowingStream<Delivery, any Error>, on connection: AMQPConnection) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for try await delivery in stream {
                if running >= configuration.concurrency {
                    try await group.next()
                    running -= 1
                }
                group.addTask { await self.handle(delivery, on: connection) }
                running += 1
            }
            try await group.waitForAll()
        }
    }

    private func handle(_ delivery: Delivery, on connection: AMQPConnection) async {
        let start = ContinuousClock.now
        let outcome = await handler(delivery)
        handlerTimer.recordNanoseconds(Int64((ContinuousClock.now - start).components.attoseconds / 1_000_000_000)
            + (ContinuousClock.now - start).components.seconds * 1_000_000_000)
        let settled: Bool
        switch outcome {
        case .done:
            Failpoint.crash("consumer.before-ack")
            settled = await connection.ack(delivery)
            if settled { outcomes["done"]?.increment() }
        case .setAside(let reason):
            settled = await moveAside(delivery, to: queues.deadQueue, reason: reason, attempt: nil, on: connection)
            if settled { outcomes["set_aside"]?.increment() }
        case .dead(let reason):
            logger.warning("message set aside", metadata: [
                "amqp.queue": "\(queues.deadQueue)", "event.id": "\(delivery.properties.messageID ?? "-")",
                "event.type": "\(delivery.properties.type ?? delivery.routingKey)", "error.message": "\(reason)",
            ])
            settled = await moveAside(delivery, to: queues.deadQueue, reason: reason, attempt: nil, on: connection)
            if settled { outcomes["dead"]?.increment() }
        case .abandon:
            settled = false
        case .retry(let reason):
            let attempt = Int(delivery.properties.headers[HeaderName.attempt]?.intValue ?? 0) + 1
            if attempt > queues.retryDelays.count {
                let reason = "gave up after \(queues.retryDelays.count) retries: \(reason)"
                // A message that failed every retry is lost to the loop until an operator replays it: an error.
                logger.error("message set aside", metadata: [
                    "amqp.queue": "\(queues.deadQueue)", "event.id": "\(delivery.properties.messageID ?? "-")",
                    "event.type": "\(delivery.properties.type ?? delivery.routingKey)", "error.message": "\(reason)",
                ])
                settled = await moveAside(delivery, to: queues.deadQueue, reason: reason, attempt: attempt, on: connection)
                if settled { outcomes["dead"]?.increment() }
            } else {
                // A handler that failed is worth an operator's look even when a retry may mend it.
                logger.warning("message retried later", metadata: [
                    "event.id": "\(delivery.properties.messageID ?? "-")", "event.type": "\(delivery.properties.type ?? delivery.routingKey)",
                    "retry.attempt": "\(attempt)", "error.message": "\(reason)",
                ])
                settled = await moveAside(delivery, to: queues.retryQueue(attempt), reason: reason, attempt: attempt, on: connection)
                if settled { outcomes["retry"]?.increment() }
            }
        }
        if !settled { outcomes["unacked"]?.increment() }
    }

    /// Copies a delivery to another of the service's queues, then acknowledges
    /// it; if the copy is not confirmed, the delivery is requeued instead, so
    /// it is never lost (the queue's delivery limit bounds the loop).
    private func moveAside(_ delivery: Delivery, to queue: String, reason: String, attempt: Int?, on connection: AMQPConnection) async -> Bool {
        var properties = delivery.properties
        if properties.headers[HeaderName.originalRoutingKey] == nil {
            properties.headers[HeaderName.originalRoutingKey] = .string(delivery.routingKey)
            properties.headers[HeaderName.originalExchange] = .string(delivery.exchange)
        }
        if let attempt { properties.headers[HeaderName.attempt] = .int(Int64(attempt)) }
        if queue == queues.deadQueue {
            properties.headers[HeaderName.deadReason] = .string(String(reason.prefix(2000)))
            properties.headers[HeaderName.deadService] = .string(queues.service)
            properties.headers[HeaderName.deadAt] = .string(ContractCoding.formatTime(Date()))
        }
        // The sender's user_id stays as it was: the broker accepts a foreign
        // user_id only from a user tagged impersonator, so it moves to a header.
        if let user = properties.userID {
            properties.headers[HeaderName.sender] = .string(user)
            properties.userID = nil
        }
        let copy = OutgoingMessage(exchange: queues.asideExchange, routingKey: queue, properties: properties, body: delivery.body, mandatory: true)
        do {
            let outcome = try await publisher.publish(copy)
            guard outcome == .confirmed else {
                logger.error("could not move message", metadata: ["amqp.queue": "\(queue)", "amqp.outcome": "\(outcome)"])
                return await connection.reject(delivery, requeue: true) && false
            }
            return await connection.ack(delivery)
        } catch {
            logger.error("could not move message", metadata: ["amqp.queue": "\(queue)", "error.message": "\(error)"])
            _ = await connection.reject(delivery, requeue: true)
            return false
        }
    }
}
