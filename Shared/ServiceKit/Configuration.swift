import Contracts
import Foundation
import Logging
import Messaging
import Storage

/// The settings every service reads from its environment.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `AMQP_URL` | `amqp://huhang:huhang@127.0.0.1:5672` | RabbitMQ; a cluster's nodes as `amqp://user:pw@node1:5672,node2:5672,node3:5672/vhost` |
/// | `AMQP_ADDRESSES` | (the URL's) | the nodes to connect to, `host:port,host:port,…`, in place of the URL's hosts: a connection goes to the next node when one cannot be reached |
/// | `AMQP_HEARTBEAT` | `10` | heartbeat interval, seconds |
/// | `AMQP_PREFETCH` | `64` | unacknowledged deliveries per consumer (twice a batch: the next batch is there when one commits) |
/// | `AMQP_SHARED_TOPOLOGY` | `declare` | `declare`: the service declares the shared exchanges (development); `check`: it only checks them, as a least-privilege broker user must (the definitions file declares them) |
/// | `HANDLER_CONCURRENCY` | `1` | batches of messages handled at once per replica (each its own transaction); more replicas, rather than more batches, keep batches from waiting on each other's locks |
/// | `HANDLER_BATCH_SIZE` | `32` | most messages handled in one transaction; batches fill only when messages arrive faster than they are handled |
/// | `HANDLER_BATCH_LINGER_MS` | `12` | how long a batch that is not full waits for more messages while they arrive steadily (the last batch held more than one); a lone message is handled at once; `0` never waits. Fewer, larger transactions leave the cores to the work: on two cores at 150 events/s, 12 ms gave lower latency than 5 (p99 −30%) and than 25 |
/// | `DATABASE_URL` | `postgres://huhang:huhang@127.0.0.1:5432/huhang` | PostgreSQL |
/// | `DATABASE_POOL_SIZE` | `10` | most database connections per replica |
/// | `DATABASE_IDLE_SECONDS` | `10` | an unused connection is closed after this; each idle spell holds a timer this long |
/// | `DATABASE_KEEPALIVE_SECONDS` | `0` (off) | `SELECT 1` on idle connections this often; every transaction already has a time limit |
/// | `HTTP_HOST` | `0.0.0.0` | address the HTTP server binds |
/// | `HTTP_PORT` | the service's (8081–8085) | HTTP port |
/// | `LOG_LEVEL` | `info` | trace, debug, info, notice, warning, error, critical |
/// | `LOG_FORMAT` | `json` | `json` (one object per line) or `text` |
/// | `OUTBOX_BATCH_SIZE` | `500` | outbox rows per window of confirms |
/// | `OUTBOX_POLL_INTERVAL_MS` | `1000` | outbox poll when no commit in the process wakes the relay |
/// | `OUTBOX_LEASE_MS` | `5000` | rows committed in the process are kept from scans this long, for its relay to publish from memory |
/// | `OUTBOX_RETENTION_SECONDS` | `0` | how long a row the broker confirmed stays in the outbox, marked sent; 0 deletes it at once (unsent rows are never deleted) |
/// | `INBOX_RETENTION_SECONDS` | `2592000` | inbox entries are deleted after this; longer than any redelivery or replay can take |
/// | `HOUSEKEEPING_INTERVAL_SECONDS` | `30` | how often old outbox and inbox rows are deleted |
/// | `ANNOUNCE` | (none) | announcements to publish, for readers outside the platform: `ledger.changed.v1`, `case.opened.v1`, `risk.assessed.v1` (its assessments below high), comma-separated, or `all`; no platform service consumes them, so unnamed they are not written at all |
/// | `RETRY_DELAYS` | `1,5,30,120,600` | seconds before each retry of a failed message |
/// | `DELIVERY_LIMIT` | `10` | deliveries before the broker dead-letters a message |
/// | `SHUTDOWN_TIMEOUT` | `8` | seconds to drain on SIGTERM before cancelling |
/// | `API_TOKEN_KEY` | a development key (logged as a warning) | shared secret that signs API bearer tokens; at least 32 characters |
/// | `API_TOKEN_KEY_FILE` | — | read that secret from this file instead |
public struct ServiceConfiguration: Sendable {
    public var amqp: AMQPConfiguration
    public var prefetch: UInt16
    /// Whether the service declares the shared exchanges (`AMQP_SHARED_TOPOLOGY=declare`) or only checks them.
    public var declaresSharedTopology: Bool
    public var handlerConcurrency: Int
    public var handlerBatchSize: Int
    public var handlerBatchLinger: Duration
    public var database: DatabaseConfiguration
    public var httpHost: String
    public var httpPort: Int
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var outbox: OutboxRelayConfiguration
    /// The announcements this service publishes (`ANNOUNCE`).
    public var announcements: Announcements
    public var retryDelays: [Duration]
    public var deliveryLimit: Int
    public var shutdownTimeout: Duration
    /// The secret that signs API tokens; nil means the development key.
    public var apiTokenKey: String?

    public enum LogFormat: String, Sendable { case json, text }

    /// Reads the configuration from environment variables, with the defaults above.
    /// - Parameters:
    ///   - service: The service's name (used for the connection name).
    ///   - defaultHTTPPort: The service's default port.
    ///   - environment: The variables to read.
    public init(service: String, defaultHTTPPort: Int, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let reader = EnvironmentReader(environment)
        func value(_ key: String, _ fallback: String) -> String { reader.string(key, default: fallback) }
        func int(_ key: String, _ fallback: Int, minimum: Int = 1) throws -> Int { try reader.integer(key, default: fallback, minimum: minimum) }
        let heartbeat = try int("AMQP_HEARTBEAT", 10, minimum: 0)
        amqp = try AMQPConfiguration(
            url: value("AMQP_URL", "amqp://huhang:huhang@127.0.0.1:5672"),
            heartbeatSeconds: heartbeat, connectionName: service)
        if let listed = environment["AMQP_ADDRESSES"], !listed.trimmingCharacters(in: .whitespaces).isEmpty {
            let nodes: [AMQPConfiguration.Address]
            do {
                nodes = try listed.split(separator: ",").map { try AMQPConfiguration.address(String($0)) }
            } catch let error as AMQPError {
                throw ConfigurationError(key: "AMQP_ADDRESSES", value: listed, expected: "host:port,host:port,… (\(error))")
            }
            amqp = amqp.at(nodes[0])
            amqp.addresses = nodes
        }
        prefetch = UInt16(clamping: try int("AMQP_PREFETCH", 64))
        let shared = value("AMQP_SHARED_TOPOLOGY", "declare")
        guard shared == "declare" || shared == "check" else {
            throw ConfigurationError(key: "AMQP_SHARED_TOPOLOGY", value: shared, expected: "declare or check")
        }
        declaresSharedTopology = shared == "declare"
        handlerConcurrency = try int("HANDLER_CONCURRENCY", 1, minimum: 1)
        handlerBatchSize = try int("HANDLER_BATCH_SIZE", 32, minimum: 1)
        handlerBatchLinger = .milliseconds(try int("HANDLER_BATCH_LINGER_MS", 12, minimum: 0))
        database = try DatabaseConfiguration(
            url: value("DATABASE_URL", "postgres://huhang:huhang@127.0.0.1:5432/huhang"),
            maximumConnections: try int("DATABASE_POOL_SIZE", 10, minimum: 2))
        database.idleTimeout = .seconds(try int("DATABASE_IDLE_SECONDS", 10, minimum: 1))
        let keepAlive = try int("DATABASE_KEEPALIVE_SECONDS", 0, minimum: 0)
        database.keepAlive = keepAlive > 0 ? .seconds(keepAlive) : nil
        httpHost = value("HTTP_HOST", "0.0.0.0")
        httpPort = try int("HTTP_PORT", defaultHTTPPort, minimum: 0)
        let level = value("LOG_LEVEL", "info")
        guard let logLevel = Logger.Level(rawValue: level) else {
            throw ConfigurationError(key: "LOG_LEVEL", value: level, expected: "trace, debug, info, notice, warning, error or critical")
        }
        self.logLevel = logLevel
        let format = value("LOG_FORMAT", "json")
        guard let logFormat = LogFormat(rawValue: format) else {
            throw ConfigurationError(key: "LOG_FORMAT", value: format, expected: "json or text")
        }
        self.logFormat = logFormat
        outbox = OutboxRelayConfiguration(
            batchSize: try int("OUTBOX_BATCH_SIZE", 500, minimum: 1),
            pollInterval: .milliseconds(try int("OUTBOX_POLL_INTERVAL_MS", 1000, minimum: 10)),
            sentRetention: .seconds(try int("OUTBOX_RETENTION_SECONDS", 0, minimum: 0)),
            inboxRetention: .seconds(try int("INBOX_RETENTION_SECONDS", 30 * 24 * 3600, minimum: 1)),
            housekeepingInterval: .seconds(try int("HOUSEKEEPING_INTERVAL_SECONDS", 30, minimum: 1)),
            lease: .milliseconds(try int("OUTBOX_LEASE_MS", 5000, minimum: 100)))
        let announce = value("ANNOUNCE", "")
        do {
            announcements = try Announcements(announce)
        } catch let error as Announcements.Unknown {
            throw ConfigurationError(key: "ANNOUNCE", value: announce, expected: error.description)
        }
        let delays = value("RETRY_DELAYS", "1,5,30,120,600")
        let parsed = delays.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.count == delays.split(separator: ",").count else {
            throw ConfigurationError(key: "RETRY_DELAYS", value: delays, expected: "seconds separated by commas, e.g. 1,5,30")
        }
        retryDelays = parsed.map { .milliseconds(Int($0 * 1000)) }
        deliveryLimit = try int("DELIVERY_LIMIT", 10, minimum: 1)
        shutdownTimeout = .seconds(try int("SHUTDOWN_TIMEOUT", 8, minimum: 1))
        apiTokenKey = try reader.secret("API_TOKEN_KEY")
        if let key = apiTokenKey, key.utf8.count < 32 {
            throw ConfigurationError(key: "API_TOKEN_KEY", value: "(hidden)", expected: "at least 32 characters")
        }
    }
}

/// Which announcements (``Contracts/announcements``) a service publishes: the event types its operator named
/// in `ANNOUNCE`, all of them, or none (the default). An event that is not an announcement is always published.
public struct Announcements: Sendable, Hashable {
    /// The announcement types published; nil for all.
    private let named: Set<String>?

    /// None.
    public static let none = Announcements(named: [])
    /// Every announcement.
    public static let all = Announcements(named: nil)

    private init(named: Set<String>?) { self.named = named }

    /// A name in `ANNOUNCE` that is not an announcement.
    public struct Unknown: Error, CustomStringConvertible {
        public let name: String
        public var description: String {
            "all, or announcements separated by commas (\(Contracts.announcements.map { $0.eventType.name }.joined(separator: ", "))); \(name) is not one"
        }
    }

    /// Reads `ANNOUNCE`: empty for none, `all`, or event type names such as `ledger.changed.v1`.
    /// - Parameter listed: The setting.
    public init(_ listed: String) throws {
        let names = listed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if names == ["all"] { self = .all; return }
        let known = Set(Contracts.announcements.map { $0.eventType.name })
        if let unknown = names.first(where: { !known.contains($0) }) { throw Unknown(name: unknown) }
        self.init(named: Set(names))
    }

    /// Whether events of this type are published, as far as the type decides: not when every event of it is an
    /// announcement and it is not named. For an event of a type only some of whose events are announcements
    /// (`risk.assessed.v1`), ask with the event.
    public func publishes(_ type: any EventPayload.Type) -> Bool {
        guard type.isAnnouncement, let named else { return true }
        return named.contains(type.eventType.name)
    }

    /// Whether this event is published: always, unless it is an announcement (``EventPayload/isAnnouncement-swift.property``)
    /// whose type is not named.
    public func publishes(_ event: some EventPayload) -> Bool {
        guard event.isAnnouncement, let named else { return true }
        return named.contains(type(of: event).eventType.name)
    }
}

/// An environment variable that could not be used.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let key: String
    public let value: String
    public let expected: String
    public init(key: String, value: String, expected: String) {
        self.key = key
        self.value = value
        self.expected = expected
    }
    public var description: String { "\(key)=\(value) is not valid: expected \(expected)" }
}
