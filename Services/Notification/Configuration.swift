import Foundation
import ServiceKit

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
    var quietHours: QuietHours?

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
            quietHours = QuietHours(start: parts[0], end: parts[1])
        }
    }

    /// When a notice that is not critical may go out by SMS or e-mail: at once, or at the end of quiet hours.
    /// - Parameter now: The time it would go.
    func notBefore(_ now: Date) -> Date {
        quietHours?.notBefore(now) ?? now
    }

    /// The delay before attempt `attempt + 1`: doubling from the base, up to 10 minutes, with up to 20 % jitter.
    func retryDelay(after attempt: Int) -> TimeInterval {
        let delay = min(600, retryBase * pow(2, Double(max(0, attempt - 1))))
        return delay * Double.random(in: 1.0...1.2)
    }

    /// Who hears of a critical notice `recipient` did not acknowledge in time: a unit's goes to the task force,
    /// the task force's to `TASK_FORCE_ESCALATION`.
    func nextLevel(after recipient: String) -> String {
        recipient == taskForceUnit ? taskForceEscalation : taskForceUnit
    }
}
