import Crypto
import Foundation
import HummingbirdBcrypt
import HummingbirdOTP
import NIOPosix
import ServiceKit

/// Signing people in: a password (bcrypt), then a one-time code from an authenticator (TOTP), enrolled at
/// the first sign-in. Five failures lock an account for fifteen minutes; a session ends after thirty idle
/// minutes. Sessions live in the database, so any console replica serves any request.
struct SignIn: Sendable {
    let store: ConsoleStore
    let cipher: PersonalDataCipher
    let configuration: ConsoleConfiguration

    enum PasswordOutcome: Equatable {
        /// Too many failures: refused without looking at the password, until then.
        case locked(until: Date)
        /// Unknown name, wrong password or a deactivated account: the same answer for each.
        case refused
        /// The password was right; a code (or enrolment first) is still needed.
        case needsCode(enrolled: Bool)
        /// The password was enough (the demo accounts on loopback, with `CONSOLE_DEMO_SKIP_TOTP`).
        case signedIn
    }

    /// When an account is locked, given its recent failures: `attempts` failures within `lockout` of the
    /// last one lock it until `lockout` after that last one. Failures are not counted while it is locked.
    /// - Parameters:
    ///   - failures: Failed attempts after the last success, oldest first.
    ///   - attempts: How many failures lock.
    ///   - lockout: How long.
    ///   - now: The time of this attempt.
    static func lockedUntil(_ failures: [Date], attempts: Int, lockout: TimeInterval, now: Date) -> Date? {
        guard let last = failures.last, now < last.addingTimeInterval(lockout) else { return nil }
        let window = failures.filter { $0 > last.addingTimeInterval(-lockout) }
        return window.count >= attempts ? last.addingTimeInterval(lockout) : nil
    }

    /// The first step: the password.
    /// - Returns: The outcome, and the person when the password was right.
    func checkPassword(username: String, password: String, at now: Date) async throws -> (PasswordOutcome, Person?) {
        let failures = try await store.failures(username, since: now.addingTimeInterval(-2 * configuration.lockout))
        if let until = Self.lockedUntil(failures, attempts: configuration.lockoutAttempts, lockout: configuration.lockout, now: now) {
            return (.locked(until: until), nil)
        }
        let person = try await store.person(username: username)
        // Bcrypt costs a quarter second of CPU: off the async executors. An unknown name costs the same.
        let hash = person?.passwordHash ?? Self.unknownPersonHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        guard let person, person.active, matches else {
            try await store.recordAttempt(username, succeeded: false, at: now)
            let failures = try await store.failures(username, since: now.addingTimeInterval(-2 * configuration.lockout))
            if let until = Self.lockedUntil(failures, attempts: configuration.lockoutAttempts, lockout: configuration.lockout, now: now) {
                return (.locked(until: until), nil)
            }
            return (.refused, nil)
        }
        if configuration.skipTOTP && !person.totpEnrolled {
            try await store.recordAttempt(username, succeeded: true, at: now)
            return (.signedIn, person)
        }
        return (.needsCode(enrolled: person.totpEnrolled), person)
    }

    /// A signed-in person's password, asked again before a change to their account. A wrong one counts as a
    /// failed sign-in, so that a session left open cannot be used to guess it.
    func verify(_ password: String, of person: Person, at now: Date) async throws -> Bool {
        let hash = person.passwordHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        if !matches { try await store.recordAttempt(person.username, succeeded: false, at: now) }
        return matches
    }

    /// The second step: the code from the person's authenticator, at this time step or one either side.
    func checkCode(_ code: String, for person: Person, at now: Date) async throws -> Bool {
        guard let sealed = person.totpSecret, let value = Int(code.filter(\.isNumber)), code.filter(\.isNumber).count == 6 else {
            try await store.recordAttempt(person.username, succeeded: false, at: now)
            return false
        }
        let secret = String(decoding: try cipher.open(sealed), as: UTF8.self)
        let totp = TOTP(secret: secret)
        let valid = [-30.0, 0, 30].contains { totp.compute(date: now.addingTimeInterval($0)) == value }
        try await store.recordAttempt(person.username, succeeded: valid, at: now)
        return valid
    }

    /// A new authenticator secret for a person enrolling: kept sealed until they prove they hold it.
    /// - Returns: What the person types or scans into their authenticator app.
    func offerEnrolment(for person: Person) async throws -> Enrolment {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        let secret = String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
        try await store.offerTOTP(person.id, sealed: try cipher.seal(bytes: Array(secret.utf8)))
        return Enrolment(secret: secret, person: person.username)
    }

    /// The person's authenticator secret as their app wants it.
    struct Enrolment {
        let secret: String
        let person: String

        /// `otpauth://totp/Huhang:<person>?secret=<base32>&issuer=Huhang…`, for a QR code or a link.
        var url: String { TOTP(secret: secret).createAuthenticatorURL(label: "Huhang:\(person)", issuer: "Huhang") }

        /// The secret in base32, in groups of four, for typing into an app.
        var typed: String {
            let base32 = URLComponents(string: url)?.queryItems?.first { $0.name == "secret" }?.value ?? ""
            return stride(from: 0, to: base32.count, by: 4).map { start in
                let from = base32.index(base32.startIndex, offsetBy: start)
                return String(base32[from..<(base32.index(from, offsetBy: 4, limitedBy: base32.endIndex) ?? base32.endIndex)])
            }.joined(separator: " ")
        }
    }

    /// Hashes a new password (off the async executors).
    static func hash(_ password: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: 12) }
    }

    /// What a password must be: at least 12 characters. - Returns: Why not, or nil.
    static func passwordProblem(_ password: String) -> String? {
        password.count < 12 ? "at least 12 characters" : nil
    }

    /// Compared against when the name is unknown, so that a wrong name takes as long as a wrong password.
    static let unknownPersonHash = Bcrypt.hash("no such person in the console", cost: 12)

    // MARK: Tokens

    /// A new random token: 32 bytes, base64url.
    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// What the database keeps of a session token: its SHA-256, so that a copy of the table opens no session.
    static func tokenHash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
