import Contracts
import Foundation
import Hummingbird
import Logging
import Messaging
import Metrics
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage

/// Notification: every person who must act is told, and that is recorded.
/// Routing rules (data) name who hears of each event and on which channels;
/// the in-app inbox is written at once; webhooks are sent by the dispatcher,
/// every attempt recorded, retried with back-off and jitter, one delivery per
/// event, recipient and channel however often the event comes.
public struct NotificationService: HuhangService {
    public static let name = "notification"
    public static let defaultHTTPPort = 8085
    public static let migrations = NotificationMigrations.all

    let database: Database
    let configuration: NotificationConfiguration
    let clock: any WallClock
    let cipher: PersonalDataCipher
    let logger: Logger

    public init(context: ServiceContext) throws {
        database = context.database
        configuration = try NotificationConfiguration()
        clock = context.clock
        cipher = try PersonalDataCipher.fromEnvironment(logger: context.logger)
        logger = context.logger
    }

    public func register(_ handlers: inout HandlerRegistry) {
        for type in Routing.types {
            handlers.onRaw(type, from: ExchangeName.events) { body, context in
                try await route(body, context)
            }
        }
        handlers.on(CareTeamChangedV1.self) { team, context in
            try await CareTeams.apply(team, cipher: cipher, on: context.connection, logger: context.logger)
        }
        handlers.on(CaseClosedV1.self) { closed, context in
            try await CareTeams.forget(caseID: closed.caseID, at: closed.at, on: context.connection, logger: context.logger)
        }
    }

    /// Makes the deliveries an event calls for, by the routing rules; inbox ones are delivered at once.
    func route(_ body: [UInt8], _ context: HandlerContext) async throws -> HandlerResult {
        let notice: Notice?
        do {
            notice = try Routing.notice(type: context.envelope.type, body: body, taskForce: configuration.taskForceUnit)
        } catch {
            throw MessageRejection("body does not match \(context.envelope.type): \(error)")
        }
        guard let notice else { return .applied }
        let rules = try await context.connection.query("""
            SELECT recipients, channels, critical FROM notification.rules WHERE event_type = \(context.envelope.type)
            """, logger: context.logger)
        var rule: ([String], [String], Bool)?
        for try await row in rules.decode(([String], [String], Bool).self) { rule = row }
        guard let (roles, channels, alwaysCritical) = rule else { return .applied }
        let recipients = Array(Set(roles.compactMap { notice.roles[$0] })).sorted()
        let critical = notice.critical || alwaysCritical
        let now = clock.now()

        /// One delivery per event, recipient and channel; inbox ones delivered at once.
        func deliver(to recipient: String, by channel: String, address: String?, sealedAddress: [UInt8]?, text: String, critical: Bool) async throws {
            let deliveryID = UUID().uuidString.lowercased()
            let inbox = channel == "inbox"
            let inserted = try await context.connection.query("""
                INSERT INTO notification.deliveries (delivery_id, event_id, event_type, correlation_id, recipient, channel, body, address, sealed_address,
                                                     status, critical, next_attempt_at, delivered_at, ack_due_at, traceparent)
                VALUES (\(deliveryID)::uuid, \(context.envelope.id), \(context.envelope.type), \(context.envelope.correlationID), \(recipient),
                        \(channel), \(text), \(address), \(sealedAddress.map { ByteBuffer(bytes: $0) }), \(inbox ? "delivered" : "pending"), \(critical),
                        \(critical || channel == "webhook" ? now : configuration.notBefore(now)),
                        \(inbox ? now : nil), \(critical ? now.addingTimeInterval(configuration.ackTimeout) : nil), \(context.envelope.traceparent))
                ON CONFLICT (event_id, recipient, channel) DO NOTHING
                RETURNING 1
                """, logger: context.logger)
            var isNew = false
            for try await _ in inserted { isNew = true }
            if isNew && inbox {
                try await context.emit(NotificationDeliveredV1(
                    deliveryID: deliveryID, aboutEventID: context.envelope.id, aboutEventType: context.envelope.type,
                    recipient: recipient, channel: .inbox, deliveredAt: now), subject: deliveryID)
            }
        }

        for recipient in recipients {
            let language = try await Self.language(of: recipient, on: context.connection, logger: context.logger)
            // The inbox always; other channels where the recipient has an endpoint.
            let endpoints = try await context.connection.query("""
                SELECT channel, address FROM notification.endpoints WHERE recipient = \(recipient) AND channel = ANY(\(channels)::text[])
                """, logger: context.logger)
            var targets: [(String, String?)] = channels.contains("inbox") ? [("inbox", nil)] : []
            for try await (channel, address) in endpoints.decode((String, String).self) where channel != "inbox" { targets.append((channel, address)) }
            for (channel, address) in targets {
                try await deliver(to: recipient, by: channel, address: address, sealedAddress: nil, text: notice.text(language), critical: critical)
            }
        }

        // The case's care team, by the contact each was named with; a guardian only where the event asks something of the family.
        let careRoles = Notice.careTeamRoles(in: roles)
        if let caseID = notice.caseID, !careRoles.isEmpty {
            for member in try await CareTeams.members(of: caseID, roles: careRoles, on: context.connection, logger: context.logger) {
                let recipient = CareTeams.recipient(caseID: caseID, role: member.role)
                let language = try await Self.language(of: recipient, on: context.connection, logger: context.logger)
                guard let text = notice.text(language, for: member.role) else { continue }
                guard let contact = try? cipher.open(member.contact), let channel = CareTeams.channel(of: contact) else {
                    context.logger.warning("care-team contact cannot be used", metadata: [
                        "notification.recipient": "\(recipient)", "notification.reason": "not openable, or neither a phone number nor an e-mail address",
                    ])
                    continue
                }
                guard channels.contains(channel) else { continue }
                try await deliver(
                    to: recipient, by: channel, address: nil, sealedAddress: member.contact, text: text,
                    critical: critical && member.role != .guardian)
            }
        }
        return .applied
    }

    /// A recipient's language: `zh` unless set to `en` (`PUT /v1/recipients/{recipient}`).
    static func language(of recipient: String, on connection: PostgresConnection, logger: Logger) async throws -> String {
        let rows = try await connection.query("SELECT language FROM notification.recipients WHERE recipient = \(recipient)", logger: logger)
        for try await language in rows.decode(String.self) { return language }
        return "zh"
    }

    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {
        NotificationRoutes(database: database, clock: clock).add(to: v1)
    }

    public func backgroundServices() -> [any Service] {
        let dispatcher = Dispatcher(database: database, configuration: configuration, clock: clock, cipher: cipher, logger: logger)
        return [RepeatingJob("notification-dispatch", every: .milliseconds(200), logger: logger) { try await dispatcher.round() }]
    }
}

/// Notification's own settings.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `NOTIFY_MAX_ATTEMPTS` | `6` | attempts before a delivery is failed for good (and operators alerted) |
/// | `NOTIFY_RETRY_BASE_MS` | `1000` | first retry delay; each next doubles, with up to 20 % jitter, at most 10 minutes |
/// | `NOTIFY_TIMEOUT_MS` | `5000` | how long a webhook may take to answer |
/// | `NOTIFY_CONCURRENCY` | `16` | deliveries in flight at once per replica |
/// | `ACK_TIMEOUT_MINUTES` | `15` | a critical notice must be acknowledged within this |
/// | `TASK_FORCE_UNIT` | `district-task-force` | the task force's unit code |
/// | `TASK_FORCE_ESCALATION` | `district-leadership` | who hears of a critical notice the task force did not acknowledge |
/// | `SMS_PROVIDER_URL`, `SMS_PROVIDER_KEY` | — | the SMS gateway: `POST {to, text, reference}` with `Authorization: Bearer <key>` |
/// | `EMAIL_PROVIDER_URL`, `EMAIL_PROVIDER_KEY` | — | the e-mail gateway: `POST {to, subject, text, reference}`, the same way |
/// | `QUIET_HOURS` | `22-7` | hours (China Standard Time) in which SMS and e-mail that are not critical wait; empty for none |
struct NotificationConfiguration: Sendable {
    var maxAttempts: Int
    var retryBase: TimeInterval
    var timeout: TimeInterval
    var concurrency: Int
    var ackTimeout: TimeInterval
    var taskForceUnit: String
    var taskForceEscalation: String
    var sms: Provider?
    var email: Provider?
    var quietHours: (start: Int, end: Int)?

    struct Provider: Sendable {
        var url: URL
        var key: String
    }

    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let reader = EnvironmentReader(environment)
        func number(_ key: String, _ fallback: Double) throws -> Double { try reader.positive(key, default: fallback) }
        maxAttempts = Int(try number("NOTIFY_MAX_ATTEMPTS", 6))
        retryBase = try number("NOTIFY_RETRY_BASE_MS", 1000) / 1000
        timeout = try number("NOTIFY_TIMEOUT_MS", 5000) / 1000
        concurrency = Int(try number("NOTIFY_CONCURRENCY", 16))
        ackTimeout = try number("ACK_TIMEOUT_MINUTES", 15) * 60
        taskForceUnit = reader.taskForceUnit
        taskForceEscalation = reader.string("TASK_FORCE_ESCALATION", default: "district-leadership")
        func provider(_ name: String) throws -> Provider? {
            guard let text = environment["\(name)_PROVIDER_URL"], !text.isEmpty else { return nil }
            guard let url = URL(string: text), url.scheme?.hasPrefix("http") == true else {
                throw ConfigurationError(key: "\(name)_PROVIDER_URL", value: text, expected: "an http(s) URL")
            }
            return Provider(url: url, key: environment["\(name)_PROVIDER_KEY"] ?? "")
        }
        sms = try provider("SMS")
        email = try provider("EMAIL")
        let quiet = environment["QUIET_HOURS"] ?? "22-7"
        if quiet.isEmpty {
            quietHours = nil
        } else {
            let parts = quiet.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts.allSatisfy({ (0..<24).contains($0) }) else {
                throw ConfigurationError(key: "QUIET_HOURS", value: quiet, expected: "start-end hours, e.g. 22-7, or empty")
            }
            quietHours = (parts[0], parts[1])
        }
    }

    /// When a notice that is not critical may go out by SMS or e-mail: at once, or at the end of quiet hours.
    /// - Parameter now: The time it would go.
    func notBefore(_ now: Date) -> Date {
        guard let (start, end) = quietHours, start != end else { return now }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let hour = calendar.component(.hour, from: now)
        let quiet = start < end ? (start..<end).contains(hour) : (hour >= start || hour < end)
        guard quiet else { return now }
        let today = calendar.startOfDay(for: now)
        let endToday = calendar.date(byAdding: .hour, value: end, to: today)!
        return endToday > now ? endToday : calendar.date(byAdding: .day, value: 1, to: endToday)!
    }

    /// The delay before attempt `attempt + 1`: doubling from the base, up to 10 minutes, with up to 20 % jitter.
    func retryDelay(after attempt: Int) -> TimeInterval {
        let delay = min(600, retryBase * pow(2, Double(max(0, attempt - 1))))
        return delay * Double.random(in: 1.0...1.2)
    }
}
