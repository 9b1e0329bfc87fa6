import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Messaging
import Synchronization

/// Where and how to connect to PostgreSQL.
public struct DatabaseConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// Most connections the pool opens.
    public var maximumConnections: Int
    /// How long a connection stays open unused before the pool closes it; the pool opens connections on
    /// demand. Each time a connection goes idle the pool sets a timer this long whose memory stays held until
    /// it runs out, even when the connection is leased again at once, so under steady traffic the pool's
    /// memory is proportional to this time.
    ///
    /// The pool keeps no minimum of open connections: with a minimum, PostgresNIO 1.33 stops the process on
    /// a failed precondition (`createNewDemandConnectionIfPossible`) when a query asks for a connection while
    /// the server is unreachable.
    public var idleTimeout: Duration = .seconds(10)
    /// How often an idle connection is checked with `SELECT 1`; nil for never. Each time a connection goes
    /// idle the pool sets such a timer, held for the whole interval.
    public var keepAlive: Duration? = .seconds(30)

    public init(host: String = "127.0.0.1", port: Int = 5432, user: String = "huhang", password: String? = "huhang",
                database: String = "huhang", maximumConnections: Int = 10) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.maximumConnections = maximumConnections
    }

    /// Parses `postgres://user:password@host:port/database`.
    public init(url: String, maximumConnections: Int = 10) throws {
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql",
              let host = components.host, !host.isEmpty
        else { throw StorageError(.invalidConfiguration, "expected postgres://user:password@host:port/database") }
        let name = String(components.path.drop(while: { $0 == "/" }))
        self.init(
            host: host,
            port: components.port ?? 5432,
            user: components.user?.removingPercentEncoding ?? "postgres",
            password: components.password?.removingPercentEncoding,
            database: name.isEmpty ? (components.user ?? "postgres") : name,
            maximumConnections: maximumConnections
        )
    }

    public var redactedURL: String { "postgres://\(user)@\(host):\(port)/\(database)" }
}

/// An error from storage.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let value: String
        private init(_ value: String) { self.value = value }
        /// A setting could not be used.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// A migration failed; the service must not start.
        public static let migrationFailed = Code("migrationFailed")
        /// A database operation did not finish in time (a connection lost without notice); it may still commit.
        public static let timedOut = Code("timedOut")
        public var description: String { value }
    }

    public let code: Code
    public let message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: What kind of failure.
    ///   - message: A readable explanation, free of personal data.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "StorageError(\(code)): \(message)" }
}

/// A service's database: a connection pool bound to the service's own schema.
///
/// Run it in the service group; it must start before anything queries it.
public final class Database: Service, Sendable {
    /// The pool. Not public: a service's SQL lives in its stores, which query through
    /// ``query(_:logger:file:line:)``, ``withConnection(_:)`` and ``withTransaction(_:)``.
    let client: PostgresClient
    /// The schema the service owns, e.g. `intake`.
    public let schema: String
    public let logger: Logger

    /// Creates the pool (it connects lazily once ``run()`` runs).
    /// - Parameters:
    ///   - configuration: The server.
    ///   - schema: The service's schema; lower-case letters and underscores only.
    ///   - logger: Where to log.
    public init(configuration: DatabaseConfiguration, schema: String, logger: Logger) throws {
        guard !schema.isEmpty, schema.allSatisfy({ $0.isASCII && ($0.isLowercase || $0 == "_") }) else {
            throw StorageError(.invalidConfiguration, "schema name must be lower-case letters and underscores")
        }
        var config = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.user,
            password: configuration.password, database: configuration.database, tls: .disable)
        config.options.maximumConnections = configuration.maximumConnections
        config.options.minimumConnections = 0
        config.options.connectionIdleTimeout = max(.seconds(1), configuration.idleTimeout)
        config.options.keepAliveBehavior = configuration.keepAlive.map { .init(frequency: $0) }
        config.options.connectTimeout = .seconds(5)
        self.client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.schema = schema
        self.logger = logger
    }

    public func run() async {
        running.withLock { $0 = true }
        await cancelWhenGracefulShutdown {
            await self.client.run()
        }
    }

    private let running = Mutex(false)
    /// The time limits of transactions run ``withTransaction(within:_:)``.
    private let deadlines = Deadlines()

    /// Waits until ``run()`` has started the pool.
    public func waitUntilRunning() async {
        while !running.withLock({ $0 }) && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
        // Let the pool's run loop begin before the first lease.
        try? await Task.sleep(for: .milliseconds(20))
    }

    /// Runs one statement on a pooled connection.
    /// - Parameters:
    ///   - query: The statement, with its bindings.
    ///   - logger: Where PostgresNIO logs; the database's own logger when nil.
    @discardableResult
    public func query(
        _ query: PostgresQuery, logger: Logger? = nil, file: String = #fileID, line: Int = #line
    ) async throws -> PostgresRowSequence {
        try await client.query(query, logger: logger ?? self.logger, file: file, line: line)
    }

    /// Runs `body` on one pooled connection, outside a transaction (several reads that need not agree).
    /// - Parameter body: The work; the connection returns to the pool when it ends.
    public func withConnection<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> Result {
        try await client.withConnection(body)
    }

    /// Runs `body` in a transaction; commits when it returns, rolls back when it throws.
    ///
    /// An error thrown by `body` comes out as itself (not wrapped), so callers
    /// can match on it.
    public func withTransaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> Result {
        let marks = TransactionMarks()
        do {
            let result = try await TransactionMarks.$current.withValue(marks) {
                try await client.withConnection { connection in
                    // The transaction — BEGIN, its work and COMMIT — runs on its connection's event loop: each
                    // statement's answer resumes it there, instead of waking a thread of the cooperative pool for
                    // every statement and the event loop's thread for every statement sent.
                    try await withTaskExecutorPreference(EventLoopExecutor(connection.eventLoop)) {
                        try await connection.withTransaction(logger: logger) { connection in
                            try await body(connection)
                        }
                    }
                }
            }
            let written = marks.outboxRows
            if !written.isEmpty { OutboxWakeups.committed(schema: schema, rows: written) }
            return result
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError { throw closureError }
            if let beginError = error.beginError { throw beginError }
            if let commitError = error.commitError { throw commitError }
            throw error
        }
    }

    /// Runs `body` in a transaction, as ``withTransaction(_:)``, but gives up waiting after `limit`.
    ///
    /// A connection whose server vanished without a word can leave a query waiting for ever; the
    /// caller then gets ``StorageError/Code-swift.struct/timedOut`` and can treat the database as
    /// unavailable. The abandoned work is cancelled; if it still commits, it committed — callers
    /// must be idempotent (the inbox makes message handling so).
    /// - Parameters:
    ///   - limit: How long to wait.
    ///   - body: The transaction's work.
    public func withTransaction<Result: Sendable>(
        within limit: Duration, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await within(limit) { try await self.withTransaction { try await body($0) } }
    }

    /// Runs `body` on one pooled connection, outside a transaction, as ``withConnection(_:)``, but gives up
    /// waiting after `limit`, as ``withTransaction(within:_:)`` does.
    /// - Parameters:
    ///   - limit: How long to wait.
    ///   - body: The work.
    public func withConnection<Result: Sendable>(
        within limit: Duration, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await within(limit) { try await self.withConnection { try await body($0) } }
    }

    /// Runs `operation`, giving up waiting for it after `limit` or when the caller is cancelled (and cancelling it;
    /// a statement already sent may still finish on its own, which is why the work must be idempotent).
    private func within<Result: Sendable>(
        _ limit: Duration, _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let outcome = Outcome<Result>()
        let work = Task {
            do { outcome.finish(.success(try await operation())) } catch { outcome.finish(.failure(error)) }
        }
        let ticket = deadlines.add(.now + limit) {
            if outcome.finish(.failure(StorageError(.timedOut, "no answer from the database in \(limit)"))) { work.cancel() }
        }
        defer { deadlines.remove(ticket) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { outcome.wait($0) }
        } onCancel: {
            if outcome.finish(.failure(CancellationError())) { work.cancel() }
        }
    }

    /// Whether the server answers a trivial query within two seconds.
    public func isReachable() async -> Bool {
        guard running.withLock({ $0 }) else { return false }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                (try? await self.client.query("SELECT 1", logger: self.logger)) != nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}

/// The first of several results, handed to whoever waits for it, whichever comes first.
private final class Outcome<Value: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Value, any Error>)
        case finished(Swift.Result<Value, any Error>)
        case delivered
    }
    private let state = Mutex<State>(.empty)

    /// Records a result unless one came first. - Returns: Whether this one counted.
    @discardableResult
    func finish(_ result: Swift.Result<Value, any Error>) -> Bool {
        let (counted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Value, any Error>?) in
            switch state {
            case .empty:
                state = .finished(result)
                return (true, nil)
            case .waiting(let continuation):
                state = .delivered
                return (true, continuation)
            case .finished, .delivered:
                return (false, nil)
            }
        }
        waiter?.resume(with: result)
        return counted
    }

    func wait(_ continuation: CheckedContinuation<Value, any Error>) {
        let ready = state.withLock { state -> Swift.Result<Value, any Error>? in
            if case .finished(let result) = state {
                state = .delivered
                return result
            }
            state = .waiting(continuation)
            return nil
        }
        if let ready { continuation.resume(with: ready) }
    }
}

/// Runs a task's jobs on a NIO event loop (a task executor preference), so that code awaiting a connection's
/// answers resumes on the thread that read them.
final class EventLoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
