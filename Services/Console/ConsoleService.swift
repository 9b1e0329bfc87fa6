import Foundation
import Hummingbird
import Logging
import ServiceKit
import ServiceLifecycle
import Storage

/// The console: where the people who act on a case — the task force, a school's safety officer, a police
/// station's officer, a caseworker — sign in and work the loop in a browser. It keeps people, sessions and
/// sign-in attempts, and no case data: every page is built from the five services' `/v1` APIs, called for
/// the signed-in person.
public struct ConsoleService: HuhangService {
    public static let name = "console"
    public static let defaultHTTPPort = 8080
    public static let migrations = ConsoleMigrations.all

    let store: ConsoleStore
    let pages: ConsolePages
    let configuration: ConsoleConfiguration
    let logger: Logger
    let clock: any WallClock

    public init(context: ServiceContext) throws {
        configuration = try ConsoleConfiguration()
        store = ConsoleStore(database: context.database)
        let cipher = try PersonalDataCipher.fromEnvironment(logger: context.logger)
        let tokens = try APITokens(secret: context.configuration.apiTokenKey ?? APITokens.developmentSecret)
        pages = ConsolePages(
            store: store, signIn: SignIn(store: store, cipher: cipher, configuration: configuration),
            services: ServiceCalls(urls: configuration.services, tokens: tokens, timeout: .milliseconds(Int64(configuration.apiTimeout))),
            configuration: configuration, clock: context.clock)
        logger = context.logger
        clock = context.clock
        if configuration.skipTOTP {
            logger.warning("CONSOLE_DEMO_SKIP_TOTP: people without an authenticator sign in with a password alone (loopback only)")
        }
    }

    /// The console handles no events.
    public func register(_ handlers: inout HandlerRegistry) {}

    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {
        PeopleRoutes(store: store).add(to: v1)
    }

    public func addPages(to router: Router<HuhangRequestContext>) {
        Self.addPages(pages, to: router)
    }

    /// Every page of the console on a router (also the route tests').
    static func addPages(_ pages: ConsolePages, to router: Router<HuhangRequestContext>) {
        pages.add(to: router)
        WorkPages(pages: pages).add(to: router)
        PeoplePages(pages: pages).add(to: router)
        OversightPages(pages: pages).add(to: router)
        SafetyPages(pages: pages).add(to: router)
        OperatorPages(pages: pages).add(to: router)
    }

    public func backgroundServices() -> [any Service] {
        let store = self.store, clock = self.clock, idle = configuration.sessionIdle
        return [RepeatingJob("session-sweep", every: .seconds(60), logger: logger) {
            let now = clock.now()
            _ = try await store.sweep(idleSince: now.addingTimeInterval(-idle), now: now)
            return false
        }]
    }
}

/// Operators manage people (`huhang-admin person …` calls these with an operator token).
///
/// | route | |
/// |---|---|
/// | `POST /v1/people` | `{"username", "displayName", "agency", "unit"?, "role", "password"}`: a new person, who enrols an authenticator at the first sign-in |
/// | `GET /v1/people` | everyone, without secrets |
/// | `POST /v1/people/{username}/deactivate`, `…/activate` | ends or restores their access (deactivating ends their sessions) |
/// | `POST /v1/people/{username}/reset` | `{"password"}`: a new password and a new authenticator to enrol; their sessions end |
struct PeopleRoutes: Sendable {
    let store: ConsoleStore

    struct NewPerson: Codable {
        var username: String
        var displayName: String
        var agency: String
        var unit: String?
        var role: ConsoleRole
        var password: String

        /// What is wrong with it, field by field (the API's field names), in order; empty when nothing.
        var problems: [(field: String, problem: String)] {
            var problems: [(String, String)] = []
            if username.lowercased().range(of: #"^[a-z0-9][a-z0-9._-]{1,63}$"#, options: .regularExpression) == nil {
                problems.append(("username", "2–64 lower-case letters, digits, dots, dashes or underscores"))
            }
            if displayName.trimmingCharacters(in: .whitespaces).isEmpty { problems.append(("displayName", "is required")) }
            if agency.range(of: #"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"#, options: .regularExpression) == nil {
                problems.append(("agency", "is an agency code, e.g. school-370102-m03"))
            }
            if let unit, unit.range(of: #"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"#, options: .regularExpression) == nil {
                problems.append(("unit", "is a unit code, e.g. 370102-M03"))
            }
            if let problem = SignIn.passwordProblem(password) { problems.append(("password", problem)) }
            return problems
        }

        /// The person to store, their password hashed (off the async executors).
        func person() async throws -> Person {
            Person(
                id: UUID(), username: username.lowercased(), displayName: displayName.trimmingCharacters(in: .whitespaces), agency: agency,
                unit: unit ?? agency, role: role, passwordHash: try await SignIn.hash(password), totpSecret: nil, totpEnrolled: false,
                language: .zh, active: true)
        }
    }

    struct Listed: Codable {
        var username: String
        var displayName: String
        var agency: String
        var unit: String
        var role: String
        var authenticator: Bool
        var language: String
        var active: Bool
    }

    struct Reset: Codable { var password: String }

    static func operatorOnly(_ identity: APIIdentity) throws {
        try identity.require(.operator, otherwise: "operators manage people")
    }

    func add(to v1: RouterGroup<HuhangRequestContext>) {
        v1.post("people") { request, context in
            let identity = try context.requireIdentity()
            try Self.operatorOnly(identity)
            let new = try await request.decodeJSON(NewPerson.self)
            if let (field, problem) = new.problems.first { throw HTTPError(.badRequest, message: "/\(field): \(problem)") }
            let person = try await new.person()
            guard try await store.add(person) else { throw HTTPError(.conflict, message: "/username: \(person.username) is taken") }
            try await Audit.record(identity, action: "person-add", resource: "person/\(person.username)", in: store.database)
            return try JSONResponse.make(Self.listed(person), status: .created)
        }
        v1.get("people") { _, context in
            try Self.operatorOnly(try context.requireIdentity())
            return try JSONResponse.make(try await store.list().map(Self.listed))
        }
        for (action, active) in [("deactivate", false), ("activate", true)] {
            v1.post("people/:username/\(action)") { _, context in
                let identity = try context.requireIdentity()
                try Self.operatorOnly(identity)
                let username = try context.parameters.require("username")
                guard try await store.setActive(username, active) else { throw HTTPError(.notFound, message: "no person \(username)") }
                try await Audit.record(identity, action: "person-\(action)", resource: "person/\(username)", in: store.database)
                return Response(status: .noContent)
            }
        }
        v1.post("people/:username/reset") { request, context in
            let identity = try context.requireIdentity()
            try Self.operatorOnly(identity)
            let username = try context.parameters.require("username")
            let body = try await request.decodeJSON(Reset.self)
            if let problem = SignIn.passwordProblem(body.password) { throw HTTPError(.badRequest, message: "/password: \(problem)") }
            guard try await store.reset(username, passwordHash: try await SignIn.hash(body.password)) else {
                throw HTTPError(.notFound, message: "no person \(username)")
            }
            try await Audit.record(identity, action: "person-reset", resource: "person/\(username)", in: store.database)
            return Response(status: .noContent)
        }
    }

    static func listed(_ person: Person) -> Listed {
        Listed(
            username: person.username, displayName: person.displayName, agency: person.agency, unit: person.unit, role: person.role.rawValue,
            authenticator: person.totpEnrolled, language: person.language.rawValue, active: person.active)
    }
}
