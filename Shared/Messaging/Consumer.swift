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
    /// Batches handled at once.
    public var concurrency: Int
    /// Most deliveries handled together (in one transaction, by the service's handler).
    public var batchSize: Int
    /// How long a batch that is not full waits for more deliveries before it is handled, while they arrive
    /// steadily (the last batch held more than one); zero takes what has arrived, so that batches grow only
    /// when the deliveries come faster than they are handled.
    public var linger: Duration

    public init(prefetch: UInt16 = 64, concurrency: Int = 1, batchSize: Int = 32, linger: Duration = .zero) {
        self.prefetch = prefetch
        self.concurrency = max(1, concurrency)
        self.batchSize = max(1, batchSize)
        self.linger = linger
    }
}

/// Consumes a service's queue for as long as the service runs.
///
/// Connects, declares the service's topology, consumes with manual acks and
/// hands what the broker has delivered to the handler in batches (up to
/// `batchSize`, `concurrency` batches at once). A delivery is acknowledged only
/// after its handler returned, i.e. after its transaction committed; the
/// batch's acknowledgements go out together. Failed
/// deliveries go to the retry queues with growing delays, then to
/// `<service>.dead`; undecodable ones go there at once. A lost connection is
/// reopened with back-off and the topology declared again; deliveries from the
/// old connection are never acknowledged on the new one.
///
/// On graceful shutdown the consumer is cancelled, every delivery already
/// received is handled and acknowledged, then the connection closes.
public final class Consumer: Service, Sendable {
    /// Handles a batch of deliveries; returns one outcome per delivery, in the same order.
    public typealias Handler = @Sendable ([Delivery]) async -> [HandlingOutcome]

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
    ///   - handler: Runs a batch of deliveries; must not throw.
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
        let arrived = DeliveryBuffer()
        let configuration = self.configuration
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<configuration.concurrency {
                group.addTask {
                    var steady = false
                    while var batch = await arrived.take(upTo: configuration.batchSize) {
                        let room = configuration.batchSize - batch.count
                        // While messages arrive steadily (the last batch held more than one), a batch that is not full
                        // waits a moment for more; a lone message after a quiet spell is handled at once.
                        if room > 0, steady, configuration.linger > .zero {
                            try? await Task.sleep(for: configuration.linger)
                            batch += arrived.takeAvailable(upTo: room)
                        }
                        steady = batch.count > 1
                        await self.handle(batch, on: connection)
                    }
                }
            }
            do {
                for try await delivery in stream { arrived.put(delivery) }
                // Cancelled: what has arrived is still handled and acknowledged.
                arrived.finish(discarding: false)
            } catch {
                // The connection is gone: what waits cannot be acknowledged any more; the broker delivers it again.
                arrived.finish(discarding: true)
                throw error
            }
            try await group.waitForAll()
        }
    }

    private func handle(_ batch: [Delivery], on connection: AMQPConnection) async {
        let start = ContinuousClock.now
        let results = await handler(batch)
        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        var done: [Delivery] = []
        for (delivery, outcome) in zip(batch, results) {
            handlerTimer.recordNanoseconds(nanoseconds)
            if outcome == .done { done.append(delivery) } else { await settle(delivery, outcome, on: connection) }
        }
        guard !done.isEmpty else { return }
        Failpoint.crash("consumer.before-ack")
        if await connection.ack(done) {
            outcomes["done"]?.increment(by: done.count)
        } else {
            outcomes["unacked"]?.increment(by: done.count)
        }
    }

    /// Settles a delivery that was not simply done: set aside, retried later, or left to the broker.
    private func settle(_ delivery: Delivery, _ outcome: HandlingOutcome, on connection: AMQPConnection) async {
        let settled: Bool
        switch outcome {
        case .done:
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

/// Deliveries received and not yet taken by a batch: the consumer's stream puts them in, the batch
/// workers take up to a batch at a time, waiting while there is none.
final class DeliveryBuffer: Sendable {
    private struct State {
        var waiting: [Delivery] = []
        var takers: [CheckedContinuation<[Delivery]?, Never>] = []
        var finished = false
    }
    private let state = Mutex(State())

    /// Adds a delivery, handing it straight to a worker that waits.
    func put(_ delivery: Delivery) {
        let taker = state.withLock { state -> CheckedContinuation<[Delivery]?, Never>? in
            if !state.takers.isEmpty { return state.takers.removeFirst() }
            state.waiting.append(delivery)
            return nil
        }
        taker?.resume(returning: [delivery])
    }

    /// Takes up to `count` deliveries, waiting for one if none is there.
    /// - Returns: nil once ``finish(discarding:)`` was called and nothing is left.
    func take(upTo count: Int) async -> [Delivery]? {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> [Delivery]?? in
                if !state.waiting.isEmpty {
                    let taken = Array(state.waiting.prefix(count))
                    state.waiting.removeFirst(taken.count)
                    return .some(taken)
                }
                if state.finished { return .some(nil) }
                state.takers.append(continuation)
                return .none
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    /// Takes up to `count` deliveries without waiting.
    func takeAvailable(upTo count: Int) -> [Delivery] {
        state.withLock { state in
            let taken = Array(state.waiting.prefix(count))
            state.waiting.removeFirst(taken.count)
            return taken
        }
    }

    /// No more deliveries come; workers finish what is there (or, `discarding`, drop it) and stop.
    func finish(discarding: Bool) {
        let takers = state.withLock { state -> [CheckedContinuation<[Delivery]?, Never>] in
            state.finished = true
            if discarding { state.waiting = [] }
            defer { state.takers = [] }
            return state.takers
        }
        for taker in takers { taker.resume(returning: nil) }
    }
}
