import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// A person who signs in to the console: one unit, one role.
struct Person: Sendable, Hashable {
    var id: UUID
    var username: String
    var displayName: String
    /// The agency the person works for (its code), named in the tokens the console calls the services with.
    var agency: String
    /// The unit the person acts for: a school's school code, else the agency code.
    var unit: String
    var role: ConsoleRole
    var passwordHash: String
    /// The authenticator secret, sealed with `PERSONAL_DATA_KEY`; nil until enrolled.
    var totpSecret: [UInt8]?
    var totpEnrolled: Bool
    var language: Language
    var active: Bool
}

/// What a person may do in the console; the services' roles of the same names decide what their APIs show.
enum ConsoleRole: String, Codable, Sendable, CaseIterable {
    /// The district task force (专班): every case, the daily loop, sealing, break-the-glass.
    case taskForce = "task-force"
    /// Someone at a unit given tasks: a school, a police station, a department, the hotline.
    case caseworker
    /// The education bureau: the schools registry.
    case education
    /// Operators: agencies, people, the platform's health.
    case `operator`
}

enum Language: String, Codable, Sendable {
    case zh, en
}

/// A signed-in (or half signed-in) session, with its person.
struct Session: Sendable {
    enum Stage: String, Sendable {
        /// The password was right; the one-time code (or enrolment) is still to come.
        case password
        case signedIn = "signed_in"
    }

    var tokenHash: String
    var person: Person
    var stage: Stage
    var csrf: String
    var lastSeen: Date
}

/// The console's records: people, sessions and sign-in attempts, in the console's schema. The only place
/// the console writes SQL.
struct ConsoleStore: Sendable {
    let database: Database

    private var logger: Logger { database.logger }

    static let personColumns = """
        person_id, username, display_name, agency, unit, role, password_hash, totp_secret, totp_enrolled_at IS NOT NULL, language, active
        """

    private func people(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> [Person] {
        let rows = if let connection {
            try await connection.query(query, logger: logger)
        } else {
            try await database.query(query, logger: logger)
        }
        var people: [Person] = []
        for try await (id, username, name, agency, unit, role, hash, secret, enrolled, language, active)
            in rows.decode((UUID, String, String, String, String, String, String, ByteBuffer?, Bool, String, Bool).self) {
            people.append(Person(
                id: id, username: username, displayName: name, agency: agency, unit: unit, role: ConsoleRole(rawValue: role) ?? .caseworker,
                passwordHash: hash, totpSecret: secret.map { Array(buffer: $0) }, totpEnrolled: enrolled,
                language: Language(rawValue: language) ?? .zh, active: active))
        }
        return people
    }

    // MARK: People

    /// Adds a person. - Returns: false when the user name is taken.
    func add(_ person: Person) async throws -> Bool {
        let rows = try await database.query("""
            INSERT INTO console.people (person_id, username, display_name, agency, unit, role, password_hash, language, active)
            VALUES (\(person.id), \(person.username), \(person.displayName), \(person.agency), \(person.unit), \(person.role.rawValue),
                    \(person.passwordHash), \(person.language.rawValue), \(person.active))
            ON CONFLICT (username) DO NOTHING RETURNING 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    func person(username: String) async throws -> Person? {
        try await people("SELECT \(unescaped: Self.personColumns) FROM console.people WHERE username = \(username)").first
    }

    func list() async throws -> [Person] {
        try await people("SELECT \(unescaped: Self.personColumns) FROM console.people ORDER BY username LIMIT 5000")
    }

    /// A page of people by user name, after `after`, of one unit when given.
    func list(unit: String?, after: String?, limit: Int) async throws -> [Person] {
        try await people("""
            SELECT \(unescaped: Self.personColumns) FROM console.people
            WHERE (\(unit)::text IS NULL OR unit = \(unit)) AND (\(after)::text IS NULL OR username > \(after))
            ORDER BY username LIMIT \(limit)
            """)
    }

    /// The names of these people, by user name (for showing who acted).
    func names(of usernames: [String]) async throws -> [String: String] {
        let rows = try await database.query(
            "SELECT username, display_name FROM console.people WHERE username = ANY(\(usernames))", logger: logger)
        var names: [String: String] = [:]
        for try await (username, name) in rows.decode((String, String).self) { names[username] = name }
        return names
    }

    /// The console's own audit trail (exports, changes to people), newest first, shaped as the services' `/v1/audit`
    /// answers so that the audit page lists them together.
    /// - Parameters:
    ///   - person: Only this person's entries, when given.
    ///   - limit: At most this many.
    func audit(person: String?, limit: Int) async throws -> [[String: JSONValue]] {
        let rows = try await database.query("""
            SELECT at, agency, role, action, resource, reason, person, unit FROM console.audit
            WHERE (\(person)::text IS NULL OR person = \(person)) ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        var entries: [[String: JSONValue]] = []
        for try await (at, agency, role, action, resource, reason, who, unit)
            in rows.decode((Date, String, String, String, String, String?, String?, String?).self) {
            var entry: [String: JSONValue] = [
                "at": .string(ContractCoding.formatTime(at)), "agency": .string(agency), "role": .string(role), "action": .string(action),
                "resource": .string(resource),
            ]
            if let reason { entry["reason"] = .string(reason) }
            if let who { entry["person"] = .string(who) }
            if let unit { entry["unit"] = .string(unit) }
            entries.append(entry)
        }
        return entries
    }

    /// Deactivates or reactivates a person; deactivating ends their sessions. - Returns: false when there is no such person.
    func setActive(_ username: String, _ active: Bool) async throws -> Bool {
        try await database.withTransaction { connection in
            let rows = try await connection.query("""
                UPDATE console.people SET active = \(active), updated_at = now() WHERE username = \(username) RETURNING person_id
                """, logger: logger)
            var id: UUID?
            for try await row in rows.decode(UUID.self) { id = row }
            guard let id else { return false }
            if !active { try await connection.query("DELETE FROM console.sessions WHERE person_id = \(id)", logger: logger) }
            return true
        }
    }

    /// A new password and, with it, a new authenticator to enrol at the next sign-in; every session ends.
    func reset(_ username: String, passwordHash: String) async throws -> Bool {
        try await database.withTransaction { connection in
            let rows = try await connection.query("""
                UPDATE console.people SET password_hash = \(passwordHash), totp_secret = NULL, totp_enrolled_at = NULL, updated_at = now()
                WHERE username = \(username) RETURNING person_id
                """, logger: logger)
            var id: UUID?
            for try await row in rows.decode(UUID.self) { id = row }
            guard let id else { return false }
            try await connection.query("DELETE FROM console.sessions WHERE person_id = \(id)", logger: logger)
            try await connection.query("DELETE FROM console.sign_in_attempts WHERE username = \(username)", logger: logger)
            return true
        }
    }

    /// Keeps a (sealed) authenticator secret offered at enrolment, not yet confirmed.
    func offerTOTP(_ personID: UUID, sealed: [UInt8]) async throws {
        try await database.query("""
            UPDATE console.people SET totp_secret = \(ByteBuffer(bytes: sealed)), totp_enrolled_at = NULL WHERE person_id = \(personID)
            """, logger: logger)
    }

    /// The person proved they hold the secret: enrolled from now on.
    func confirmTOTP(_ personID: UUID, at now: Date) async throws {
        try await database.query(
            "UPDATE console.people SET totp_enrolled_at = \(now) WHERE person_id = \(personID)", logger: logger)
    }

    func setLanguage(_ personID: UUID, _ language: Language) async throws {
        try await database.query(
            "UPDATE console.people SET language = \(language.rawValue) WHERE person_id = \(personID)", logger: logger)
    }

    /// A new password; every other session of the person ends.
    func setPassword(_ personID: UUID, hash: String, keeping tokenHash: String) async throws {
        try await database.withTransaction { connection in
            try await connection.query(
                "UPDATE console.people SET password_hash = \(hash), updated_at = now() WHERE person_id = \(personID)", logger: logger)
            try await connection.query(
                "DELETE FROM console.sessions WHERE person_id = \(personID) AND token_hash <> \(tokenHash)", logger: logger)
        }
    }

    /// The authenticator is forgotten: the person enrols a new one at once; every session ends.
    func forgetTOTP(_ personID: UUID) async throws {
        try await database.withTransaction { connection in
            try await connection.query("""
                UPDATE console.people SET totp_secret = NULL, totp_enrolled_at = NULL, updated_at = now() WHERE person_id = \(personID)
                """, logger: logger)
            try await connection.query("DELETE FROM console.sessions WHERE person_id = \(personID)", logger: logger)
        }
    }

    // MARK: Sign-in attempts

    func recordAttempt(_ username: String, succeeded: Bool, at now: Date) async throws {
        try await database.query("""
            INSERT INTO console.sign_in_attempts (username, at, succeeded) VALUES (\(username), \(now), \(succeeded))
            """, logger: logger)
    }

    /// Failed attempts since `since` and after the last success, oldest first.
    func failures(_ username: String, since: Date) async throws -> [Date] {
        let rows = try await database.query("""
            SELECT at FROM console.sign_in_attempts a
            WHERE username = \(username) AND NOT succeeded AND at >= \(since)
              AND at > coalesce((SELECT max(at) FROM console.sign_in_attempts s WHERE s.username = a.username AND s.succeeded), '-infinity')
            ORDER BY at
            """, logger: logger)
        var times: [Date] = []
        for try await at in rows.decode(Date.self) { times.append(at) }
        return times
    }

    // MARK: Sessions

    func createSession(tokenHash: String, personID: UUID, stage: Session.Stage, csrf: String, at now: Date) async throws {
        try await database.query("""
            INSERT INTO console.sessions (token_hash, person_id, stage, csrf, created_at, last_seen_at)
            VALUES (\(tokenHash), \(personID), \(stage.rawValue), \(csrf), \(now), \(now))
            """, logger: logger)
    }

    /// The session of a token, with its person, if it is still within its idle time and the person active.
    /// - Parameters:
    ///   - tokenHash: The SHA-256 of the cookie's token.
    ///   - idleSince: Sessions last seen before this have ended.
    func session(tokenHash: String, idleSince: Date) async throws -> Session? {
        let rows = try await database.query("""
            SELECT s.stage, s.csrf, s.last_seen_at, p.person_id, p.username, p.display_name, p.agency, p.unit, p.role, p.password_hash,
                   p.totp_secret, p.totp_enrolled_at IS NOT NULL, p.language, p.active
            FROM console.sessions s JOIN console.people p USING (person_id)
            WHERE s.token_hash = \(tokenHash) AND s.last_seen_at >= \(idleSince) AND p.active
            """, logger: logger)
        for try await (stage, csrf, seen, id, username, name, agency, unit, role, hash, secret, enrolled, language, active)
            in rows.decode((String, String, Date, UUID, String, String, String, String, String, String, ByteBuffer?, Bool, String, Bool).self) {
            let person = Person(
                id: id, username: username, displayName: name, agency: agency, unit: unit, role: ConsoleRole(rawValue: role) ?? .caseworker,
                passwordHash: hash, totpSecret: secret.map { Array(buffer: $0) }, totpEnrolled: enrolled,
                language: Language(rawValue: language) ?? .zh, active: active)
            return Session(tokenHash: tokenHash, person: person, stage: Session.Stage(rawValue: stage) ?? .password, csrf: csrf, lastSeen: seen)
        }
        return nil
    }

    func touch(tokenHash: String, at now: Date) async throws {
        try await database.query(
            "UPDATE console.sessions SET last_seen_at = \(now) WHERE token_hash = \(tokenHash)", logger: logger)
    }

    func endSession(tokenHash: String) async throws {
        try await database.query("DELETE FROM console.sessions WHERE token_hash = \(tokenHash)", logger: logger)
    }

    /// Deletes sessions idle since before `idleSince` and attempts older than a day. - Returns: sessions deleted.
    func sweep(idleSince: Date, now: Date) async throws -> Int {
        let rows = try await database.query("""
            WITH gone AS (DELETE FROM console.sessions WHERE last_seen_at < \(idleSince) RETURNING 1) SELECT count(*)::int FROM gone
            """, logger: logger)
        var count = 0
        for try await n in rows.decode(Int.self) { count = n }
        try await database.query(
            "DELETE FROM console.sign_in_attempts WHERE at < \(now.addingTimeInterval(-86_400))", logger: logger)
        return count
    }
}
