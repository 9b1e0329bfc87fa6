import CRabbitMQ
import Foundation
import Logging
import Synchronization

/// One AMQP 0-9-1 connection with one channel, driven by a thread of its own.
///
/// rabbitmq-c is blocking and not thread-safe, and it sends heartbeats only
/// while one of its calls runs. So every call on the connection happens on a
/// dedicated thread, which loops: run the commands async callers queued, read
/// every frame the broker sent (deliveries, confirms, returns, heartbeats),
/// then sleep in `poll` on the socket and a wake-up pipe for at most a quarter
/// of a second. Heartbeats therefore keep flowing however long a handler runs,
/// and no caller ever blocks Swift's cooperative thread pool.
///
/// A connection that fails is finished: pending publishes fail with
/// ``AMQPError/Code-swift.struct/connectionLost``, the delivery stream ends,
/// and the owner opens a new connection. Deliveries carry the id of the
/// connection they came on, so a stale delivery tag is never acknowledged on a
/// newer connection.
public final class AMQPConnection: Sendable {
    private static let nextID = Atomic<UInt64>(1)

    /// Identifies this connection among all opened by the process.
    public let id: UInt64
    /// The configuration the connection was opened with.
    public let configuration: AMQPConfiguration

    private let shared: Mutex<SharedState>
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let logger: Logger

    private struct Command: Sendable {
        var run: @Sendable (Loop) throws -> Void
        var fail: @Sendable (AMQPError) -> Void
    }

    private struct SharedState {
        var commands: [Command] = []
        var open = true
        var closing = false
        var blocked = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var failure: AMQPError?
    }

    private init(configuration: AMQPConfiguration, logger: Logger) {
        self.id = Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "amqp.connection"] = "\(configuration.connectionName)#\(id)"
        self.logger = logger
        self.shared = Mutex(SharedState())
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        self.wakeRead = fds[0]
        self.wakeWrite = fds[1]
    }

    deinit {
        closeDescriptor(wakeRead)
        closeDescriptor(wakeWrite)
    }

    /// Opens a connection and its channel on a thread of its own, to the first of the configuration's nodes that
    /// takes it. With several nodes (a cluster), each call starts at the node after the one the previous call
    /// started at, in this process: connections spread over the nodes, and a reconnection after a node is lost
    /// first tries another.
    /// - Parameters:
    ///   - configuration: Where and how to connect.
    ///   - confirms: Put the channel in publisher-confirm mode.
    ///   - logger: Where the connection logs.
    /// - Throws: The last node's failure when none takes the connection.
    public static func connect(
        _ configuration: AMQPConfiguration,
        confirms: Bool = true,
        logger: Logger
    ) async throws -> AMQPConnection {
        let nodes = configuration.addresses.isEmpty ? [AMQPConfiguration.Address(host: configuration.host, port: configuration.port)] : configuration.addresses
        let start = nodes.count > 1 ? rotation.withLock { next in defer { next &+= 1 }; return next } : 0
        var failure: any Error = AMQPError(.connectFailed, "no broker node to connect to")
        for offset in 0..<nodes.count {
            let node = nodes[(start + offset) % nodes.count]
            do {
                return try await open(configuration.at(node), confirms: confirms, logger: logger)
            } catch {
                failure = error
                if nodes.count > 1 {
                    logger.notice("broker node not reachable; trying the next", metadata: ["amqp.node": "\(node)", "error.message": "\(error)"])
                }
            }
        }
        throw failure
    }

    /// Where the next ``connect(_:confirms:logger:)`` to a cluster starts in its list of nodes.
    private static let rotation = Mutex<Int>(0)

    private static func open(_ configuration: AMQPConfiguration, confirms: Bool, logger: Logger) async throws -> AMQPConnection {
        let connection = AMQPConnection(configuration: configuration, logger: logger)
        try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in
            Thread {
                // Named from inside: a name given to a Thread before it starts does not reach the system's thread on
                // Linux, which then shows under its parent's name (`top -H`, `perf`). Linux keeps 15 bytes of it.
                // The role only ("amqp-consumer"): the process already tells the service.
                let role = configuration.connectionName.split(separator: ".").last.map(String.init) ?? configuration.connectionName
                Thread.current.name = String("amqp-\(role)".utf8.prefix(15))!
                connection.threadMain(confirms: confirms, ready: ready)
            }.start()
        }
        return connection
    }

    /// Whether the connection is still usable.
    public var isOpen: Bool { shared.withLock { $0.open && !$0.closing } }

    /// Whether the broker has blocked publishing on this connection (a resource alarm).
    public var isBlocked: Bool { shared.withLock { $0.blocked } }

    /// Why the connection ended, if it failed.
    public var failure: AMQPError? { shared.withLock { $0.failure } }

    // MARK: - Operations

    /// Declares exchanges, queues and bindings.
    /// - Parameter topology: What to declare.
    public func declare(_ topology: Topology) async throws {
        try await perform { loop in try loop.declare(topology) }
    }

    /// Deletes a queue and the messages in it.
    /// - Parameter name: The queue.
    public func deleteQueue(_ name: String) async throws {
        try await perform { loop in try loop.deleteQueue(name) }
    }

    /// Publishes messages and waits for the broker's confirms.
    ///
    /// All messages go out at once and their confirms are awaited together:
    /// a window, not one round trip per message.
    /// - Parameter messages: The messages, in order.
    /// - Returns: One outcome per message, in the same order.
    /// - Throws: ``AMQPError`` with code `connectionLost` when the connection
    ///   failed before every confirm arrived; the outcome of each is then unknown.
    public func publish(_ messages: [OutgoingMessage]) async throws -> [PublishOutcome] {
        if messages.isEmpty { return [] }
        let collector = ConfirmCollector(count: messages.count)
        return try await withCheckedThrowingContinuation { continuation in
            collector.setContinuation(continuation)
            enqueue(Command(
                run: { loop in
                    for (index, message) in messages.enumerated() {
                        try loop.publish(message) { collector.complete(index, $0) }
                    }
                },
                fail: { collector.fail($0) }
            ))
        }
    }

    /// Publishes one message and waits for its confirm.
    /// - Parameter message: The message.
    public func publish(_ message: OutgoingMessage) async throws -> PublishOutcome {
        try await publish([message])[0]
    }

    /// Starts consuming a queue with manual acknowledgements.
    ///
    /// The stream ends when the consumer is cancelled (``cancelConsumer()``)
    /// and every delivery sent before the cancel has been yielded; it throws
    /// when the connection fails.
    /// - Parameters:
    ///   - queue: The queue.
    ///   - prefetch: How many unacknowledged deliveries the broker may send.
    public func consume(queue: String, prefetch: UInt16) async throws -> AsyncThrowingStream<Delivery, any Error> {
        let (stream, continuation) = AsyncThrowingStream<Delivery, any Error>.makeStream()
        try await perform { loop in try loop.consume(queue: queue, prefetch: prefetch, continuation: continuation) }
        return stream
    }

    /// Stops the consumer; deliveries the broker sent before the cancel still arrive, then the stream ends.
    public func cancelConsumer() async {
        try? await perform { loop in try loop.cancelConsumer() }
    }

    /// Acknowledges a delivery.
    ///
    /// A delivery that came on another connection, or on this one after it
    /// failed, is not acknowledged: its tag means nothing any more and the
    /// broker will deliver the message again.
    /// - Parameter delivery: The delivery.
    /// - Returns: Whether the ack was sent.
    @discardableResult
    public func ack(_ delivery: Delivery) async -> Bool {
        guard delivery.connectionID == id else {
            logger.warning("stale delivery tag not acknowledged", metadata: ["amqp.delivery_tag": "\(delivery.deliveryTag)"])
            return false
        }
        return (try? await perform { loop in try loop.ack(delivery.deliveryTag) }) != nil
    }

    /// Acknowledges deliveries handled together, in one command to the connection's thread: those below every
    /// delivery still outstanding on the channel with one `basic.ack` (`multiple`), the others one by one.
    ///
    /// Deliveries that came on another connection are left out, as ``ack(_:)`` leaves them.
    /// - Parameter deliveries: The deliveries.
    /// - Returns: Whether the acks were sent (false when none was).
    @discardableResult
    public func ack(_ deliveries: [Delivery]) async -> Bool {
        let tags = deliveries.filter { $0.connectionID == id }.map(\.deliveryTag)
        if tags.count < deliveries.count {
            logger.warning("stale delivery tags not acknowledged", metadata: ["amqp.count": "\(deliveries.count - tags.count)"])
        }
        guard !tags.isEmpty else { return false }
        return (try? await perform { loop in try loop.ack(tags) }) != nil
    }

    /// Rejects a delivery.
    /// - Parameters:
    ///   - delivery: The delivery.
    ///   - requeue: Put it back on the queue (counts towards the queue's delivery limit) or drop/dead-letter it.
    @discardableResult
    public func reject(_ delivery: Delivery, requeue: Bool) async -> Bool {
        guard delivery.connectionID == id else { return false }
        return (try? await perform { loop in try loop.reject(delivery.deliveryTag, requeue: requeue) }) != nil
    }

    /// Closes the connection cleanly; waits until the thread has ended.
    public func close() async {
        let wait = shared.withLock { state -> Bool in
            if !state.open { return false }
            state.closing = true
            return true
        }
        guard wait else { return }
        wake()
        await withCheckedContinuation { continuation in
            let resumeNow = shared.withLock { state -> Bool in
                if !state.open { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Drops the TCP connection without the AMQP close handshake, as a crash or network fault would.
    /// For tests of recovery.
    public func abort() {
        enqueue(Command(run: { loop in throw AMQPError(.connectionLost, "connection aborted") }, fail: { _ in }))
    }

    // MARK: - Command queue

    private func perform(_ body: @escaping @Sendable (Loop) throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enqueue(Command(
                run: { loop in
                    do {
                        try body(loop)
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                        throw error
                    }
                },
                fail: { continuation.resume(throwing: $0) }
            ))
        }
    }

    private func enqueue(_ command: Command) {
        let rejected = shared.withLock { state -> AMQPError? in
            guard state.open, !state.closing else {
                return state.failure ?? AMQPError(.connectionLost, "connection is closed")
            }
            state.commands.append(command)
            return nil
        }
        if let rejected { command.fail(rejected) } else { wake() }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: - The connection's thread

    private func threadMain(confirms: Bool, ready: CheckedContinuation<Void, any Error>) {
        let loop = Loop(connectionID: id, configuration: configuration, logger: logger) { [weak self] blocked in
            self?.shared.withLock { $0.blocked = blocked }
        }
        do {
            try loop.open(confirms: confirms)
        } catch {
            loop.destroy()
            finish(failure: error as? AMQPError ?? AMQPError(.connectFailed, "\(error)"))
            ready.resume(throwing: error)
            return
        }
        ready.resume()
        logger.debug("amqp connection open", metadata: ["amqp.url": "\(configuration.redactedURL)"])

        var failure: AMQPError?
        var buffer = [UInt8](repeating: 0, count: 64)
        run: while true {
            let (commands, closing) = shared.withLock { state -> ([Command], Bool) in
                let commands = state.commands
                state.commands.removeAll(keepingCapacity: true)
                return (commands, state.closing)
            }
            for (index, command) in commands.enumerated() {
                do {
                    try command.run(loop)
                } catch {
                    let error = error as? AMQPError ?? AMQPError(.protocolError, "\(error)")
                    for rest in commands[(index + 1)...] { rest.fail(error) }
                    failure = error
                    break run
                }
            }
            if closing && commands.isEmpty {
                loop.closeGracefully()
                break
            }
            do {
                try loop.readAvailableFrames()
            } catch {
                failure = error as? AMQPError ?? AMQPError(.protocolError, "\(error)")
                break
            }
            if !commands.isEmpty { continue }
            var fds = [
                pollfd(fd: loop.socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&fds, 2, 250)
            while read(wakeRead, &buffer, buffer.count) > 0 {}
        }

        if let failure {
            logger.warning("amqp connection lost", metadata: ["error.message": "\(failure.message)"])
        }
        let lost = failure ?? AMQPError(.connectionLost, "connection closed")
        loop.failEverything(lost)
        loop.destroy()
        finish(failure: failure)
    }

    private func finish(failure: AMQPError?) {
        let (commands, waiters) = shared.withLock { state -> ([Command], [CheckedContinuation<Void, Never>]) in
            state.open = false
            state.failure = failure
            let result = (state.commands, state.closeWaiters)
            state.commands = []
            state.closeWaiters = []
            return result
        }
        let error = failure ?? AMQPError(.connectionLost, "connection closed")
        for command in commands { command.fail(error) }
        for waiter in waiters { waiter.resume() }
    }
}

private func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}

// MARK: - Confirms

/// Gathers the confirms of one published window and resumes its caller once.
private final class ConfirmCollector: @unchecked Sendable {
    private let lock = Mutex<State>(State())
    private struct State {
        var outcomes: [PublishOutcome?]
        var remaining: Int
        var continuation: CheckedContinuation<[PublishOutcome], any Error>?
        var done = false
        init() { outcomes = []; remaining = 0 }
    }

    init(count: Int) {
        lock.withLock {
            $0.outcomes = Array(repeating: nil, count: count)
            $0.remaining = count
        }
    }

    func setContinuation(_ continuation: CheckedContinuation<[PublishOutcome], any Error>) {
        lock.withLock { $0.continuation = continuation }
    }

    func complete(_ index: Int, _ result: Result<PublishOutcome, AMQPError>) {
        switch result {
        case .failure(let error): fail(error)
        case .success(let outcome):
            let finished = lock.withLock { state -> (CheckedContinuation<[PublishOutcome], any Error>, [PublishOutcome])? in
                guard !state.done, state.outcomes[index] == nil else { return nil }
                state.outcomes[index] = outcome
                state.remaining -= 1
                guard state.remaining == 0, let continuation = state.continuation else { return nil }
                state.done = true
                return (continuation, state.outcomes.map { $0! })
            }
            if let (continuation, outcomes) = finished { continuation.resume(returning: outcomes) }
        }
    }

    func fail(_ error: AMQPError) {
        let continuation = lock.withLock { state -> CheckedContinuation<[PublishOutcome], any Error>? in
            guard !state.done else { return nil }
            state.done = true
            return state.continuation
        }
        continuation?.resume(throwing: error)
    }
}

// MARK: - Thread-confined state

/// Everything that touches rabbitmq-c. Used only on the connection's thread.
private final class Loop: @unchecked Sendable {
    static let channel: amqp_channel_t = 1

    let connectionID: UInt64
    let configuration: AMQPConfiguration
    let logger: Logger
    let onBlocked: (Bool) -> Void
    var state: amqp_connection_state_t?
    var socket: Int32 = -1

    var confirmMode = false
    var nextPublishSeq: UInt64 = 1
    var pendingConfirms: [UInt64: (messageID: String?, complete: @Sendable (Result<PublishOutcome, AMQPError>) -> Void)] = [:]
    var returned: [String: (Int, String)] = [:]

    var consumerTag: String?
    var deliveries: AsyncThrowingStream<Delivery, any Error>.Continuation?
    /// The consumer's prefetch.
    var prefetch = 0
    /// The tags of the deliveries on this channel neither acknowledged nor rejected yet — every one the broker
    /// sent, handed over or not — so that an ack with `multiple` never covers one that was not handled.
    var outstanding = Set<UInt64>()
    var unsettled: Int { outstanding.count }

    init(connectionID: UInt64, configuration: AMQPConfiguration, logger: Logger, onBlocked: @escaping (Bool) -> Void) {
        self.connectionID = connectionID
        self.configuration = configuration
        self.logger = logger
        self.onBlocked = onBlocked
    }

    func open(confirms: Bool) throws {
        guard let state = amqp_new_connection() else { throw AMQPError(.connectFailed, "out of memory") }
        self.state = state
        guard let tcp = amqp_tcp_socket_new(state) else { throw AMQPError(.connectFailed, "cannot create socket") }
        let seconds = configuration.connectTimeout.components.seconds
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: 0)
        let status = amqp_socket_open_noblock(tcp, configuration.host, Int32(configuration.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectFailed, "cannot connect to \(configuration.host):\(configuration.port): \(Self.describe(status))")
        }
        let login = huhang_amqp_login(
            state, configuration.vhost, 0, 131_072, Int32(configuration.heartbeatSeconds),
            configuration.user, configuration.password, configuration.connectionName
        )
        try check(login, AMQPError.Code.loginFailed, "login as \(configuration.user) to vhost \(configuration.vhost)")
        socket = amqp_get_sockfd(state)
        amqp_channel_open(state, Self.channel)
        try check(amqp_get_rpc_reply(state), .channelClosed, "channel.open")
        if confirms {
            amqp_confirm_select(state, Self.channel)
            try check(amqp_get_rpc_reply(state), .channelClosed, "confirm.select")
            confirmMode = true
        }
    }

    func closeGracefully() {
        guard let state else { return }
        if consumerTag != nil { deliveries?.finish(); deliveries = nil; consumerTag = nil }
        _ = amqp_channel_close(state, Self.channel, AMQP_REPLY_SUCCESS)
        _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
    }

    func destroy() {
        if let state { amqp_destroy_connection(state) }
        state = nil
    }

    func failEverything(_ error: AMQPError) {
        let pending = pendingConfirms
        pendingConfirms.removeAll()
        for (_, entry) in pending { entry.complete(.failure(error)) }
        deliveries?.finish(throwing: error)
        deliveries = nil
        consumerTag = nil
    }

    // MARK: Declarations

    func declare(_ topology: Topology) throws {
        guard let state else { return }
        for exchange in topology.exchanges {
            let arena = CArena()
            amqp_exchange_declare(
                state, Self.channel, arena.bytes(exchange.name), arena.bytes(exchange.type),
                exchange.passive ? 1 : 0, 1, 0, 0, exchange.passive ? arena.table([:]) : arena.table(exchange.arguments))
            try check(amqp_get_rpc_reply(state), .channelClosed, "declare exchange \(exchange.name)")
        }
        for queue in topology.queues {
            let arena = CArena()
            amqp_queue_declare(
                state, Self.channel, arena.bytes(queue.name), queue.passive ? 1 : 0,
                queue.transient ? 0 : 1, queue.transient ? 1 : 0, queue.transient ? 1 : 0,
                queue.passive ? arena.table([:]) : arena.table(queue.arguments))
            try check(amqp_get_rpc_reply(state), .channelClosed, "declare queue \(queue.name)")
        }
        for binding in topology.bindings {
            let arena = CArena()
            amqp_queue_bind(
                state, Self.channel, arena.bytes(binding.queue), arena.bytes(binding.exchange),
                arena.bytes(binding.routingKey), arena.table([:]))
            try check(amqp_get_rpc_reply(state), .channelClosed, "bind \(binding.queue) to \(binding.exchange)/\(binding.routingKey)")
        }
    }

    func deleteQueue(_ name: String) throws {
        guard let state else { return }
        let arena = CArena()
        amqp_queue_delete(state, Self.channel, arena.bytes(name), 0, 0)
        try check(amqp_get_rpc_reply(state), .channelClosed, "delete queue \(name)")
    }

    // MARK: Publishing

    func publish(_ message: OutgoingMessage, complete: @escaping @Sendable (Result<PublishOutcome, AMQPError>) -> Void) throws {
        guard let state else { throw AMQPError(.connectionLost, "connection is closed") }
        let arena = CArena()
        var properties = arena.properties(message.properties)
        let status = amqp_basic_publish(
            state, Self.channel, arena.bytes(message.exchange), arena.bytes(message.routingKey),
            message.mandatory ? 1 : 0, 0, &properties, arena.bytes(message.body))
        guard status == AMQP_STATUS_OK.rawValue else {
            let error = AMQPError(.connectionLost, "publish failed: \(Self.describe(status))")
            complete(.failure(error))
            throw error
        }
        if confirmMode {
            pendingConfirms[nextPublishSeq] = (message.properties.messageID, complete)
            nextPublishSeq += 1
        } else {
            complete(.success(.confirmed))
        }
    }

    private func settle(_ tag: UInt64, multiple: Bool, outcome: PublishOutcome) {
        let tags = multiple ? pendingConfirms.keys.filter { $0 <= tag } : [tag]
        for tag in tags {
            guard let entry = pendingConfirms.removeValue(forKey: tag) else { continue }
            var result = outcome
            if outcome == .confirmed, let id = entry.messageID, let (code, text) = returned.removeValue(forKey: id) {
                result = .returned(replyCode: code, replyText: text)
            }
            entry.complete(.success(result))
        }
        if pendingConfirms.isEmpty { returned.removeAll() }
    }

    // MARK: Consuming

    func consume(queue: String, prefetch: UInt16, continuation: AsyncThrowingStream<Delivery, any Error>.Continuation) throws {
        guard let state else { throw AMQPError(.connectionLost, "connection is closed") }
        amqp_basic_qos(state, Self.channel, 0, prefetch, 0)
        try check(amqp_get_rpc_reply(state), .channelClosed, "basic.qos")
        let arena = CArena()
        guard let ok = amqp_basic_consume(state, Self.channel, arena.bytes(queue), arena.bytes(""), 0, 0, 0, arena.table([:])) else {
            try check(amqp_get_rpc_reply(state), .channelClosed, "consume \(queue)")
            throw AMQPError(.protocolError, "basic.consume gave no reply")
        }
        consumerTag = ok.pointee.consumer_tag.string
        deliveries = continuation
        self.prefetch = Int(prefetch)
        outstanding = []
    }

    func cancelConsumer() throws {
        guard let state, let tag = consumerTag else { return }
        // A quorum queue hands back to the queue — to be redelivered later — whatever it sends this consumer
        // between the broker's channel taking basic.cancel and the queue applying it (a delivery for a cancelled
        // consumer tag is returned). So first take away the queue's reason to send: until every prefetch slot is
        // taken the queue may send more, and acks queued by handlers wait behind this command, freeing none. Under
        // load the slots fill in a moment; at a trickle a quiet 300 ms does instead (at most 1 s in all).
        let started = Date()
        let until = started.addingTimeInterval(1)
        while unsettled < prefetch, Date() < until, try readFrame(within: 0.3) {}
        let arena = CArena()
        amqp_basic_cancel(state, Self.channel, arena.bytes(tag))
        try check(amqp_get_rpc_reply(state), .channelClosed, "basic.cancel")
        // Deliveries that arrived before cancel-ok were queued by rabbitmq-c;
        // hand them over before ending the stream. Some may still be on their
        // way to the channel when cancel-ok leaves it: keep reading until the
        // connection has been quiet for 250 ms (at most 2 s).
        try readAvailableFrames()
        let drainUntil = Date().addingTimeInterval(2)
        while Date() < drainUntil, try readFrames(quietFor: 0.25) > 0 {}
        logger.info("consumer cancelled", metadata: [
            "amqp.unsettled": "\(unsettled)", "amqp.prefetch": "\(prefetch)",
            "amqp.wait_ms": "\(Int(Date().timeIntervalSince(started) * 1000))",
        ])
        consumerTag = nil
        deliveries?.finish()
        deliveries = nil
    }

    func ack(_ tag: UInt64) throws {
        guard let state else { throw AMQPError(.connectionLost, "connection is closed") }
        let status = amqp_basic_ack(state, Self.channel, tag, 0)
        guard status == AMQP_STATUS_OK.rawValue else { throw AMQPError(.connectionLost, "ack failed: \(Self.describe(status))") }
        outstanding.remove(tag)
    }

    /// Acknowledges several deliveries: the ones below every tag still outstanding with one `multiple` ack
    /// (it covers nothing else: every lower tag is settled already or among them), the rest one by one.
    func ack(_ tags: [UInt64]) throws {
        guard let state else { throw AMQPError(.connectionLost, "connection is closed") }
        let settling = Set(tags)
        outstanding.subtract(settling)
        let lowest = outstanding.min() ?? .max
        let sorted = settling.sorted()
        let below = sorted.prefix { $0 < lowest }
        var single = sorted[below.count...].map { $0 }
        if below.count == 1 { single.append(below[below.startIndex]) }
        if below.count > 1, let last = below.last {
            let status = amqp_basic_ack(state, Self.channel, last, 1)
            guard status == AMQP_STATUS_OK.rawValue else { throw AMQPError(.connectionLost, "ack failed: \(Self.describe(status))") }
        }
        for tag in single {
            let status = amqp_basic_ack(state, Self.channel, tag, 0)
            guard status == AMQP_STATUS_OK.rawValue else { throw AMQPError(.connectionLost, "ack failed: \(Self.describe(status))") }
        }
    }

    func reject(_ tag: UInt64, requeue: Bool) throws {
        guard let state else { throw AMQPError(.connectionLost, "connection is closed") }
        let status = amqp_basic_reject(state, Self.channel, tag, requeue ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else { throw AMQPError(.connectionLost, "reject failed: \(Self.describe(status))") }
        outstanding.remove(tag)
    }

    // MARK: Frames

    /// Reads and handles frames until none arrives for `quiet` seconds. - Returns: How many were handled.
    func readFrames(quietFor quiet: Double) throws -> Int {
        var handled = 0
        while try readFrame(within: quiet) { handled += 1 }
        return handled
    }

    /// Reads and handles one frame if one arrives within `seconds`. - Returns: Whether one did.
    func readFrame(within seconds: Double) throws -> Bool {
        guard let state else { return false }
        var frame = amqp_frame_t()
        var wait = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        let status = amqp_simple_wait_frame_noblock(state, &frame, &wait)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return false }
        guard status == AMQP_STATUS_OK.rawValue else { throw AMQPError(.connectionLost, Self.describe(status)) }
        try handle(frame)
        return true
    }

    /// Reads and handles every frame already available, without waiting.
    func readAvailableFrames() throws {
        guard let state else { return }
        while true {
            var frame = amqp_frame_t()
            var immediately = timeval(tv_sec: 0, tv_usec: 0)
            let status = amqp_simple_wait_frame_noblock(state, &frame, &immediately)
            if status == AMQP_STATUS_TIMEOUT.rawValue { break }
            guard status == AMQP_STATUS_OK.rawValue else {
                throw AMQPError(.connectionLost, Self.describe(status))
            }
            try handle(frame)
        }
        amqp_maybe_release_buffers(state)
    }

    private func handle(_ frame: amqp_frame_t) throws {
        guard let state, frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return }
        var frame = frame
        let method = huhang_frame_method(&frame)
        switch method.id {
        case huhang_method_basic_deliver():
            let deliver = method.decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            let message = try readMessage(channel: frame.channel)
            let delivery = Delivery(
                deliveryTag: deliver.delivery_tag,
                redelivered: deliver.redelivered != 0,
                exchange: deliver.exchange.string,
                routingKey: deliver.routing_key.string,
                properties: message.properties,
                body: message.body,
                connectionID: connectionID)
            outstanding.insert(deliver.delivery_tag)
            if let deliveries {
                deliveries.yield(delivery)
            } else {
                // Arrived after the consumer was cancelled and its stream ended: never handled here, so the
                // broker delivers it again once this connection closes.
                logger.notice("delivery after the consumer was cancelled; left to the broker", metadata: [
                    "amqp.delivery_tag": "\(deliver.delivery_tag)", "event.id": "\(message.properties.messageID ?? "-")",
                ])
            }
        case huhang_method_basic_ack():
            let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            settle(ack.delivery_tag, multiple: ack.multiple != 0, outcome: .confirmed)
        case huhang_method_basic_nack():
            let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            settle(nack.delivery_tag, multiple: nack.multiple != 0, outcome: .nacked)
        case huhang_method_basic_return():
            let ret = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let message = try readMessage(channel: frame.channel)
            if let id = message.properties.messageID {
                returned[id] = (Int(ret.reply_code), ret.reply_text.string)
            }
            logger.warning("amqp message returned unroutable", metadata: [
                "amqp.exchange": "\(ret.exchange.string)", "amqp.routing_key": "\(ret.routing_key.string)",
                "amqp.reply_text": "\(ret.reply_text.string)",
            ])
        case huhang_method_basic_cancel():
            throw AMQPError(.channelClosed, "the broker cancelled the consumer (queue deleted or node lost)")
        case huhang_method_channel_close():
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            throw AMQPError(.channelClosed, "\(close.reply_code) \(close.reply_text.string)")
        case huhang_method_connection_close():
            let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            var ok = amqp_connection_close_ok_t(dummy: 0)
            _ = amqp_send_method(state, 0, huhang_method_connection_close_ok(), &ok)
            throw AMQPError(.connectionClosed, "\(close.reply_code) \(close.reply_text.string)")
        case huhang_method_connection_blocked():
            logger.warning("amqp connection blocked by the broker (resource alarm)")
            onBlocked(true)
        case huhang_method_connection_unblocked():
            logger.notice("amqp connection unblocked")
            onBlocked(false)
        default:
            break
        }
    }

    private func readMessage(channel: amqp_channel_t) throws -> (properties: AMQPProperties, body: [UInt8]) {
        guard let state else { throw AMQPError(.connectionLost, "connection is closed") }
        var message = amqp_message_t()
        let reply = amqp_read_message(state, channel, &message, 0)
        defer { amqp_destroy_message(&message) }
        try check(reply, .connectionLost, "read message")
        return (CDecode.properties(message.properties), message.body.array)
    }

    // MARK: Errors

    private func check(_ reply: amqp_rpc_reply_t, _ code: AMQPError.Code, _ what: String) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == huhang_method_channel_close() {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                throw AMQPError(code == .loginFailed ? code : .channelClosed, "\(what): \(close.reply_code) \(close.reply_text.string)")
            }
            if reply.reply.id == huhang_method_connection_close() {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                throw AMQPError(code == .loginFailed ? code : .connectionClosed, "\(what): \(close.reply_code) \(close.reply_text.string)")
            }
            throw AMQPError(code, "\(what): server exception")
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw AMQPError(code == .loginFailed ? code : .connectionLost, "\(what): \(Self.describe(reply.library_error))")
        default:
            throw AMQPError(code, "\(what): no reply")
        }
    }

    static func describe(_ status: Int32) -> String {
        String(cString: amqp_error_string2(status))
    }
}
