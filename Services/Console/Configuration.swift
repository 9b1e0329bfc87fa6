import Foundation
import ServiceKit

/// The console's own settings.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `CONSOLE_SESSION_IDLE_MINUTES` | `30` | a session ends after this long without a request |
/// | `CONSOLE_LOCKOUT_ATTEMPTS` | `5` | failed sign-ins that lock an account |
/// | `CONSOLE_LOCKOUT_MINUTES` | `15` | how long the lock lasts (and the window the failures are counted in) |
/// | `CONSOLE_SECURE_COOKIES` | `auto` | `true`: the session cookie is `Secure` (HTTPS only); `false`: not; `auto`: `Secure` unless `HTTP_HOST` is a loopback address |
/// | `CONSOLE_DEMO_SKIP_TOTP` | `false` | `true` lets people without an authenticator sign in with the password alone — honoured only when `HTTP_HOST` is a loopback address, for the demo accounts of `scripts/up` |
/// | `CONSOLE_API_TIMEOUT_MS` | `3000` | how long a page waits for a service's API before it says the service cannot be reached |
/// | `INTAKE_URL`, `ASSESSMENT_URL`, `INTERVENTION_URL`, `INSPECTION_URL`, `NOTIFICATION_URL` | `http://127.0.0.1:8081` … `8085` | the services whose APIs the pages are built from |
struct ConsoleConfiguration: Sendable {
    var sessionIdle: TimeInterval
    var lockoutAttempts: Int
    var lockout: TimeInterval
    var secureCookies: Bool
    var skipTOTP: Bool
    var services: [String: String]
    var apiTimeout: Int

    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let reader = EnvironmentReader(environment)
        sessionIdle = TimeInterval(try reader.integer("CONSOLE_SESSION_IDLE_MINUTES", default: 30) * 60)
        lockoutAttempts = try reader.integer("CONSOLE_LOCKOUT_ATTEMPTS", default: 5)
        lockout = TimeInterval(try reader.integer("CONSOLE_LOCKOUT_MINUTES", default: 15) * 60)
        apiTimeout = try reader.integer("CONSOLE_API_TIMEOUT_MS", default: 3000)
        let host = environment["HTTP_HOST"] ?? "0.0.0.0"
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(host)
        switch environment["CONSOLE_SECURE_COOKIES"] ?? "auto" {
        case "true": secureCookies = true
        case "false": secureCookies = false
        case "auto", "": secureCookies = !loopback
        case let other: throw ConfigurationError(key: "CONSOLE_SECURE_COOKIES", value: other, expected: "true, false or auto")
        }
        skipTOTP = environment["CONSOLE_DEMO_SKIP_TOTP"] == "true" && loopback
        var services: [String: String] = [:]
        for (name, port) in [("intake", 8081), ("assessment", 8082), ("intervention", 8083), ("inspection", 8084), ("notification", 8085)] {
            let key = name.uppercased() + "_URL"
            services[name] = reader.string(key, default: "http://127.0.0.1:\(port)")
        }
        self.services = services
    }
}
