import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Publishes with confirms over one connection it opens on first use and
/// reopens after a failure. Shared by everything in a service that publishes.
///
/// Callers get an outcome per message, or an error meaning the outcome is
/// unknown (the connection failed or the broker did not confirm in time); the
/// outbox keeps such rows unsent and tries again, and the inbox of every
/// consumer absorbs the copy that might result.
public actor Publisher: Service {
    private let configuration: AMQPConfiguration
    private let confirmTimeout: Duration
    private let logger: Logger
    private var connection: AMQPConnection?
    private var connecting: Task<AMQPConnection, any Error>?
    private var backoff = Backoff()
    private var retryAfter: ContinuousClock.Instant?
    private let published = Counter(label: "huhang_messages_published_total")
    private let failed = Counter(label: "huhang_messages_publish_failed_total")
    /// Confirm timeouts of windows in flight.
    private let deadlines = Deadlines()

    /// Creates a publisher; nothing connects until the first publish.
    /// - Parameters:
    ///   - configuration: The broker.
    ///   - confirmTimeout: How long to wait for confirms before giving the connection up.
    ///   - logger: Where to log.
    public init(configuration: AMQPConfiguration, confirmTimeout: Duration = .seconds(30), logger: Logger) {
        var configuration = configuration
        configuration.connectionName += ".publisher"
        self.configuration = configuration
        self.confirmTimeout = confirmTimeout
        self.logger = logger
    }

    /// Whether a publisher connection is currently open.
    public var isConnected: Bool { connection?.isOpen ?? false }

    /// Publishes a window of messages and waits for all confirms.
    /// - Parameter messages: The messages.
    /// - Returns: One outcome per message.
    /// - Throws: ``AMQPError`` when the outcome is unknown.
    public func publish(_ messages: [OutgoingMessage]) async throws -> [PublishOutcome] {
        let connection = try await openConnection()
        let timeout = confirmTimeout
        let timedOut = Atomic(false)
        let ticket = deadlines.add(.now + timeout) {
            timedOut.store(true, ordering: .relaxed)
            connection.abort()
        }
        defer { deadlines.remove(ticket) }
        do {
            let outcomes = try await connection.publish(messages)
            published.increment(by: outcomes.count)
            return outcomes
        } catch {
            failed.increment(by: messages.count)
            if timedOut.load(ordering: .relaxed) { throw AMQPError(.timeout, "no publisher confirm within \(timeout)") }
            throw error
        }
    }

    /// Publishes one message.
    public func publish(_ message: OutgoingMessage) async throws -> PublishOutcome {
        try await publish([message])[0]
    }

    /// Waits for graceful shutdown, then closes the connection.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Closes the connection.
    public func close() async {
        connecting?.cancel()
        await connection?.close()
        connection = nil
    }

    private func openConnection() async throws -> AMQPConnection {
        if let connection, connection.isOpen { return connection }
        connection = nil
        if let connecting { return try await connecting.value }
        if let retryAfter, ContinuousClock.now < retryAfter {
            throw AMQPError(.connectionLost, "publisher reconnecting; retrying shortly")
        }
        let task = Task { [configuration, logger] in
            try await AMQPConnection.connect(configuration, confirms: true, logger: logger)
        }
        connecting = task
        defer { connecting = nil }
        do {
            let opened = try await task.value
            connection = opened
            backoff.reset()
            retryAfter = nil
            return opened
        } catch {
            retryAfter = .now + backoff.next()
            logger.warning("publisher cannot connect", metadata: ["error.message": "\(error)"])
            throw error
        }
    }
}
