import Contracts
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Messaging
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage
import Synchronization

/// The test suite's broker and database: a vhost and a database of their own
/// (created by `scripts/dev-stack up`), so tests never compete with a suite
/// started by `scripts/up`.
enum TestEnvironment {
    static let amqpURL = env("AMQP_URL", "amqp://huhang:huhang@127.0.0.1:5672/huhang-test")
    static let agencyAMQPURL = env("AGENCY_AMQP_URL", "amqp://agency-demo:agency-demo@127.0.0.1:5672/huhang-test")
    static let databaseURL = env("DATABASE_URL", "postgres://huhang:huhang@127.0.0.1:5432/huhang_test")
    /// A vhost and database of their own for load (the fuzz run), so its backlogs never slow other tests.
    static let loadAMQPURL = env("LOAD_AMQP_URL", "amqp://huhang:huhang@127.0.0.1:5672/huhang-load")
    static let loadAgencyAMQPURL = env("LOAD_AGENCY_AMQP_URL", "amqp://agency-demo:agency-demo@127.0.0.1:5672/huhang-load")
    static let loadDatabaseURL = env("LOAD_DATABASE_URL", "postgres://huhang:huhang@127.0.0.1:5432/huhang_load")

    static func env(_ key: String, _ fallback: String) -> String {
        ProcessInfo.processInfo.environment[key].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
    }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    static func amqp(_ name: String = "test", heartbeat: Int = 10) throws -> AMQPConfiguration {
        try AMQPConfiguration(url: amqpURL, heartbeatSeconds: heartbeat, connectionName: name)
    }

    /// A service configuration pointing at the test broker and database, on a free HTTP port. Tests read back
    /// what a service published, so it keeps outbox rows the broker confirmed (`OUTBOX_RETENTION_SECONDS`) and
    /// publishes every announcement (`ANNOUNCE=all`); the defaults (rows deleted at once, no announcements) have
    /// tests of their own.
    static func serviceConfiguration(
        _ service: String, port: Int = 0, retryDelays: String = "0.2,0.4", load: Bool = false, announce: String = "all"
    ) throws -> ServiceConfiguration {
        try ServiceConfiguration(service: service, defaultHTTPPort: 0, environment: [
            "AMQP_URL": load ? loadAMQPURL : amqpURL, "DATABASE_URL": load ? loadDatabaseURL : databaseURL, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": String(port),
            "OUTBOX_POLL_INTERVAL_MS": "200", "RETRY_DELAYS": retryDelays, "DATABASE_POOL_SIZE": "4", "OUTBOX_RETENTION_SECONDS": "3600",
            "ANNOUNCE": announce,
        ])
    }

    static func unique(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.lowercased().prefix(12))"
    }
}

/// Polls until `condition` holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// Runs a database pool for the duration of `body`.
func withDatabase<T: Sendable>(
    schema: String, url: String = TestEnvironment.databaseURL, _ body: (Database) async throws -> T
) async throws -> T {
    let database = try Database(configuration: try DatabaseConfiguration(url: url), schema: schema, logger: TestEnvironment.logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await database.run() }
        defer { group.cancelAll() }
        return try await body(database)
    }
}

/// Reads a single integer.
func count(_ database: Database, _ query: PostgresQuery) async throws -> Int {
    let rows = try await database.query(query, logger: database.logger)
    for try await value in rows.decode(Int.self) { return value }
    return 0
}

/// Runs assembled services for the duration of `body`, then shuts them down gracefully.
func withServices<T: Sendable>(
    _ services: [any ServiceRunnable],
    _ body: () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for service in services {
            group.addTask { try await service.runGroup() }
        }
        do {
            for service in services {
                let ready = try await eventually(timeout: .seconds(60)) { await service.isReady() }
                guard ready else { throw TestFailure("service did not become ready: \(await service.readinessReport())") }
            }
            let result = try await body()
            for service in services { await service.shutdown() }
            try await group.waitForAll()
            return result
        } catch {
            for service in services { await service.shutdown() }
            group.cancelAll()
            throw error
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What `withServices` needs of a running service.
protocol ServiceRunnable: Sendable {
    func runGroup() async throws
    func isReady() async -> Bool
    /// The service's name and each readiness check, for a test that waited in vain.
    func readinessReport() async -> String
    func shutdown() async
}

extension RunningService: ServiceRunnable {
    func runGroup() async throws { try await group.run() }
    func isReady() async -> Bool { await readiness.check().ready }
    func readinessReport() async -> String {
        let checks = await readiness.check().checks
        return S.name + " " + checks.keys.sorted().map { "\($0)=\(checks[$0]!)" }.joined(separator: ", ")
    }
    func shutdown() async { await group.triggerGracefulShutdown() }
}

/// A test contract and a service that records each effect in a ledger, in
/// the manner of docs/RELIABILITY.md's oracle: one row per applied message.
struct PingV1: EventPayload, Hashable {
    static let eventType = EventType("test.ping", major: 1)
    var key: String
    /// `fail` makes the handler throw every time (a poison message); `blocked` until its key is in `ledgertest.unblocked`;
    /// `setting` applies the key with the value of `ledgertest.settings` appended (`key=value`), read through `readOnce`.
    var mode: String?
}

/// A ping handled together with the others of its batch (`HandlerRegistry.onEach(_:together:)`).
struct TallyV1: EventPayload, Hashable {
    static let eventType = EventType("test.tally", major: 1)
    var key: String
    /// `blocked` fails the batch's call until its key is in `ledgertest.unblocked`.
    var mode: String?
}

/// A mark handled together with the others of its batch, in a group of its own (for the order of two groups' events).
struct MarkV1: EventPayload, Hashable {
    static let eventType = EventType("test.mark", major: 1)
    var key: String
}

struct LedgerService: HuhangService {
    static let name = "ledgertest"
    static let defaultHTTPPort = 0
    static let migrations = [
        Migration(1, "ledger", """
            CREATE TABLE ledgertest.applied (
                id         bigserial PRIMARY KEY,
                key        text NOT NULL,
                message_id text NOT NULL
            );
            CREATE INDEX applied_key ON ledgertest.applied (key);
            """),
        Migration(2, "keys whose blocked pings may now be applied", "CREATE TABLE ledgertest.unblocked (key text PRIMARY KEY);"),
        Migration(3, "a setting people change, read through readOnce", """
            CREATE TABLE ledgertest.settings (name text PRIMARY KEY, value text NOT NULL);
            INSERT INTO ledgertest.settings VALUES ('colour', 'blue');
            CREATE TRIGGER settings_configuration AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ledgertest.settings
                FOR EACH STATEMENT EXECUTE FUNCTION ledgertest.configuration_changed();
            """),
    ]

    /// How many times a handler read `ledgertest.settings` from the database.
    static let settingReads = Atomic<Int>(0)

    init(context: ServiceContext) throws {}

    func register(_ handlers: inout HandlerRegistry) {
        handlers.on(PingV1.self) { ping, context in
            if ping.mode == "fail" { throw TestFailure("handler failed on purpose") }
            if ping.mode == "blocked" {
                let rows = try await context.connection.query("SELECT 1 FROM ledgertest.unblocked WHERE key = \(ping.key)", logger: context.logger)
                var unblocked = false
                for try await _ in rows { unblocked = true }
                if !unblocked { throw TestFailure("blocked until the operator fixes it") }
            }
            var key = ping.key
            if ping.mode == "setting" {
                let value = try await context.readOnce("ledgertest.setting.colour") { () async throws -> String in
                    LedgerService.settingReads.add(1, ordering: .relaxed)
                    let rows = try await context.connection.query(
                        "SELECT value FROM ledgertest.settings WHERE name = 'colour'", logger: context.logger)
                    for try await value in rows.decode(String.self) { return value }
                    return "none"
                }
                key += "=\(value)"
            }
            try await context.connection.query(
                "INSERT INTO ledgertest.applied (key, message_id) VALUES (\(key), \(context.envelope.id))",
                logger: context.logger)
            return .applied
        }
        // Every tally of a batch in one statement, and one statement to find out whether any is blocked.
        handlers.onEach(TallyV1.self) { tallies in
            guard let connection = tallies.first?.context.connection else { return }
            let blocked = tallies.filter { $0.event.mode == "blocked" }.map(\.event.key)
            if !blocked.isEmpty {
                let rows = try await connection.query(
                    "SELECT count(*)::int FROM ledgertest.unblocked WHERE key = ANY(\(blocked))", logger: TestEnvironment.logger)
                for try await unblocked in rows.decode(Int.self) where unblocked < Set(blocked).count {
                    throw TestFailure("blocked until the operator fixes it")
                }
            }
            try await connection.query("""
                INSERT INTO ledgertest.applied (key, message_id)
                SELECT * FROM unnest(\(tallies.map(\.event.key))::text[], \(tallies.map(\.context.envelope.id))::text[])
                """, logger: TestEnvironment.logger)
            for (tally, context) in tallies { try await context.emit(PingV1(key: tally.key + "-told"), subject: tally.key) }
        }
        handlers.onEach(MarkV1.self) { marks in
            guard let connection = marks.first?.context.connection else { return }
            try await connection.query("""
                INSERT INTO ledgertest.applied (key, message_id)
                SELECT * FROM unnest(\(marks.map(\.event.key))::text[], \(marks.map(\.context.envelope.id))::text[])
                """, logger: TestEnvironment.logger)
        }
    }
}

extension Publisher {
    /// Publishes a contract as an event on huhang.events.
    func publish<P: EventPayload>(_ payload: P, id: String = UUID().uuidString.lowercased(), exchange: String = ExchangeName.events) async throws -> PublishOutcome {
        let envelope = EventEnvelope(id: id, type: P.eventType.name, source: "test", dataschema: P.eventType.dataschema,
                                     traceparent: TraceContext.random().traceparent)
        return try await publish(try OutgoingMessage(payload, envelope: envelope, exchange: exchange))
    }
}

/// Reads a queue until a delivery matches, or the time is up.
/// - Parameters:
///   - queue: The queue.
///   - within: How long to read.
///   - acknowledge: Take what is read off the queue; otherwise it goes back when the reader closes.
///   - matches: Which delivery is wanted.
/// - Returns: The first delivery that matched, or nil.
func firstDelivery(
    on queue: String, within: Duration = .seconds(20), acknowledge: Bool = true, where matches: @escaping @Sendable (Delivery) -> Bool
) async throws -> Delivery? {
    let reader = try await AMQPConnection.connect(try TestEnvironment.amqp("reader"), confirms: false, logger: TestEnvironment.logger)
    let stream = try await reader.consume(queue: queue, prefetch: 500)
    let found: Delivery? = try await withThrowingTaskGroup(of: Delivery?.self) { group in
        group.addTask {
            for try await delivery in stream {
                if acknowledge { await reader.ack(delivery) }
                if matches(delivery) { return delivery }
            }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: within)
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return first
    }
    await reader.close()
    return found
}

/// 127.0.0.1 at a port, as the socket calls take it.
func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return address
}

/// A TCP port nothing listens on right now.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var address = loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestFailure("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A quorum queue of the test's own, bound to a fresh routing key on huhang.events; it expires a minute after use.
func temporaryQueue(on connection: AMQPConnection, prefix: String = "test") async throws -> (queue: String, key: String) {
    let name = TestEnvironment.unique("\(prefix).queue")
    let key = TestEnvironment.unique("\(prefix).key")
    try await connection.declare(Topology(
        exchanges: Topology.exchanges.exchanges,
        queues: [.init(name: name, arguments: ["x-queue-type": .string("quorum"), "x-expires": .int(60_000)])],
        bindings: [.init(queue: name, exchange: ExchangeName.events, routingKey: key)]))
    return (name, key)
}

/// A GET with optional headers; returns the status and the body as text.
func httpGet(_ url: String, headers: [String: String] = [:]) async throws -> (status: Int, body: String) {
    try await http("GET", url, body: nil, headers: headers)
}

/// A POST of a JSON body; returns the status and the body as text.
func httpPost(_ url: String, body: String, headers: [String: String] = [:]) async throws -> (status: Int, body: String) {
    try await http("POST", url, body: body, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a })
}

func http(_ method: String, _ url: String, body: String?, headers: [String: String]) async throws -> (status: Int, body: String) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.httpBody = body.map { Data($0.utf8) }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    return try await withCheckedThrowingContinuation { continuation in
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { continuation.resume(throwing: error); return }
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            continuation.resume(returning: (status, String(decoding: data ?? Data(), as: UTF8.self)))
        }.resume()
    }
}

/// The directory holding the built executables (next to the test bundle).
var builtExecutables: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
}

/// Starts a real service process on the test broker and database (unless `environment` says otherwise).
/// - Parameters:
///   - name: The executable, e.g. `intake`.
///   - port: Its HTTP port.
///   - environment: Settings over the defaults.
///   - output: Where its standard output and error go; discarded when nil.
func launchService(_ name: String, port: Int, environment: [String: String] = [:], output: FileHandle? = nil) throws -> Process {
    let executable = builtExecutables.appendingPathComponent(name)
    guard FileManager.default.isExecutableFile(atPath: executable.path) else {
        throw TestFailure("\(executable.path) is missing: run `swift build` before `swift test` (scripts/test does)")
    }
    let process = Process()
    process.executableURL = executable
    process.environment = ProcessInfo.processInfo.environment
        .merging([
            "AMQP_URL": TestEnvironment.amqpURL, "DATABASE_URL": TestEnvironment.databaseURL,
            "HTTP_HOST": "127.0.0.1", "HTTP_PORT": String(port),
            // scripts/test stops processes carrying this mark that outlive a test run
            // (one killed from outside), so they never consume a later run's queues.
            "HUHANG_TEST_CHILD": "1",
            // Tests read back what a service published (see `serviceConfiguration`).
            "OUTBOX_RETENTION_SECONDS": "3600", "ANNOUNCE": "all",
        ]) { _, new in new }
        .merging(environment) { _, new in new }
    process.standardOutput = output ?? FileHandle.nullDevice
    process.standardError = output ?? FileHandle.standardError
    try process.run()
    return process
}

/// Runs the built `huhang-admin` as an operator would.
/// - Returns: Its exit status and what it printed.
func huhangAdmin(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = ShutdownTests.binaries.appendingPathComponent("huhang-admin")
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

/// Onboards a new agency with `huhang-admin agency register` against the intake on `intakePort`, as an
/// operator would: its broker user, its reply queue, its registration.
/// - Parameters:
///   - code: The agency's code (its RabbitMQ login).
///   - kind: Its kind, e.g. `school`, `police`.
///   - unit: The unit it acts as (a school's school code).
///   - eventTypes: What it may send; its kind's defaults when nil.
///   - intakePort: Intake's HTTP port.
/// - Returns: The agency's AMQP URL (its own login and password).
func onboardAgency(code: String, kind: String, unit: String? = nil, eventTypes: [String]? = nil, intakePort: Int) throws -> String {
    let password = "pw-" + UUID().uuidString
    let passwordFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(code).password")
    try password.write(to: passwordFile, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: passwordFile) }
    var arguments = ["agency", "register", "--code", code, "--name", "Agency \(code)", "--kind", kind, "--password-file", passwordFile.path]
    if let unit { arguments += ["--unit", unit] }
    if let eventTypes { arguments += ["--event-types", eventTypes.joined(separator: ",")] }
    let result = try huhangAdmin(arguments, environment: ["INTAKE_URL": "http://127.0.0.1:\(intakePort)", "AMQP_URL": TestEnvironment.amqpURL])
    guard result.status == 0 else { throw TestFailure("huhang-admin agency register \(code): \(result.output)") }
    return TestEnvironment.amqpURL.replacingOccurrences(of: "huhang:huhang@", with: "\(code):\(password)@")
}

/// Runs a script of the project's own (`Tests/…`) with `.dev/venv`'s Python, as scripts/test installs it.
/// - Returns: Its exit status and what it printed.
func runPython(_ python: URL, script: String, arguments: [String] = [], environment: [String: String]) throws -> (status: Int32, output: String) {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let process = Process()
    process.executableURL = python
    process.arguments = [root.appendingPathComponent(script).path] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}

/// Builds something (a service whose own settings it reads from the environment as it starts) with
/// `settings` in this process's environment, and takes them out again.
func withProcessEnvironment<T>(_ settings: [String: String], _ body: () throws -> T) rethrows -> T {
    for (key, value) in settings { setenv(key, value, 1) }
    defer { for key in settings.keys { unsetenv(key) } }
    return try body()
}
