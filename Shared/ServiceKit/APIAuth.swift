import JWTKit
import Synchronization
import Foundation
import Hummingbird
import Logging

/// A caller's role, as its token names it. The roles the APIs tell apart have names of their own; any
/// other role name (a school's, a police station's staff) acts for its unit and nothing more.
public enum Role: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The district task force (专班): every case, subject and ledger; the daily loop; sealing.
    case taskForce
    /// Operators of the platform: agencies, models, rules, the registry's units.
    case `operator`
    /// An agency's own system sending events over HTTP (`POST /v1/events`).
    case agency
    /// The education bureau: the schools registry, inspections, ratings.
    case education
    /// Someone at a unit given tasks, signed in to the console.
    case caseworker
    /// Any other role name: acts for its unit only.
    case unit(String)

    /// The role a token's `role` claim names.
    public init(_ name: String) {
        switch name {
        case "task-force": self = .taskForce
        case "operator": self = .operator
        case "agency": self = .agency
        case "education": self = .education
        case "caseworker": self = .caseworker
        default: self = .unit(name)
        }
    }

    /// The name in a token, in the audit and in logs.
    public var name: String {
        switch self {
        case .taskForce: "task-force"
        case .operator: "operator"
        case .agency: "agency"
        case .education: "education"
        case .caseworker: "caseworker"
        case .unit(let name): name
        }
    }

    public var description: String { name }

    public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

/// Who is calling an API: the agency and role a bearer token names.
public struct APIIdentity: Sendable, Hashable, Codable {
    /// The agency's code (its RabbitMQ login, e.g. `school-370102-m03`).
    public var agency: String
    /// The caller's role.
    public var role: Role
    /// The unit the caller acts for: the name its tasks, notices and inbox carry. For a school it is the
    /// school code its reports name (`370102-M03`), whatever its agency code; for most agencies the
    /// agency code itself.
    public var unit: String
    /// The person acting, when a person signed in to the console made the call (their console user name);
    /// nil for an agency's system or the operator's tool.
    public var person: String?

    /// - Parameters:
    ///   - agency: The agency's code.
    ///   - role: The caller's role.
    ///   - unit: The unit it acts for; the agency code when nil.
    ///   - person: The person acting, for calls the console makes for someone signed in.
    public init(agency: String, role: Role, unit: String? = nil, person: String? = nil) {
        self.agency = agency
        self.role = role
        self.unit = unit.flatMap { $0.isEmpty ? nil : $0 } ?? agency
        self.person = person.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether the caller is `unit` itself, by its agency code or by the unit it acts for.
    public func acts(for unit: String) -> Bool {
        self.unit == unit || agency == unit
    }

    /// The names the caller's tasks and notices may carry: the unit it acts for and its agency code.
    public var units: [String] { unit == agency ? [unit] : [unit, agency] }

    /// Whether the caller has one of `roles`.
    public func isAny(of roles: Role...) -> Bool { roles.contains(role) }

    /// Refuses (403, with `message`) a caller whose role is not one of `roles`.
    /// - Parameters:
    ///   - roles: The roles that may.
    ///   - message: Why not, for the caller.
    public func require(_ roles: Role..., otherwise message: String) throws {
        guard roles.contains(role) else { throw HTTPError(.forbidden, message: message) }
    }
}

/// A route group's policy: only callers with one of these roles reach its routes; the others get 403.
///
///     RouteCollection(context: HuhangRequestContext.self)
///         .add(middleware: RolePolicy(.taskForce, .operator, otherwise: "the task force and operators only"))
///         .get(use: statistics)
public struct RolePolicy: RouterMiddleware {
    public typealias Context = HuhangRequestContext
    let roles: Set<Role>
    let message: String

    /// - Parameters:
    ///   - roles: The roles that may.
    ///   - message: Why not, for the others.
    public init(_ roles: Role..., otherwise message: String) {
        self.roles = Set(roles)
        self.message = message
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard roles.contains(try context.requireIdentity().role) else { throw HTTPError(.forbidden, message: message) }
        return try await next(request, context)
    }
}

/// The request context of every Huhang API: Hummingbird's core context plus
/// the verified caller on `/v1` routes.
public struct HuhangRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the bearer-token middleware on every `/v1` route.
    public var identity: APIIdentity?

    public init(source: Source) {
        coreContext = .init(source: source)
        identity = nil
    }

    /// The verified caller; `/v1` handlers can rely on it.
    public func requireIdentity() throws -> APIIdentity {
        guard let identity else { throw HTTPError(.unauthorized, message: "a bearer token is required") }
        return identity
    }
}

/// Signed API tokens: JWTs signed with HS256 (jwt-kit), claims `sub` (agency), `role`, `unit` (when it
/// differs from `sub`), `person` (a person signed in to the console), `iat`, `exp`.
///
/// The admin CLI issues them with the key every service shares
/// (`API_TOKEN_KEY`); each service verifies locally, calling no other service.
public struct APITokens: Sendable {
    private let keys: JWTKeyCollection
    private let key: HMACKey
    private let prepared = Prepared()

    /// Whether the key is in the collection yet.
    private final class Prepared: Sendable { let done = Mutex(false) }

    /// An error verifying a token; its message is safe to return to the caller.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var role: String
        var unit: String?
        var person: String?
        var iat: IssuedAtClaim
        var exp: ExpirationClaim

        /// Expiry is checked against the caller's clock in ``APITokens/verify(_:now:)``.
        func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    /// Creates a signer and verifier.
    /// - Parameter secret: The shared key; at least 32 bytes.
    public init(secret: String) throws {
        guard secret.utf8.count >= 32 else {
            throw ConfigurationError(key: "API_TOKEN_KEY", value: "(hidden)", expected: "at least 32 characters")
        }
        key = HMACKey(from: secret)
        keys = JWTKeyCollection()
    }

    /// The key collection with the shared key in it (added on first use: adding is asynchronous).
    private func collection() async -> JWTKeyCollection {
        if !prepared.done.withLock({ $0 }) {
            await keys.add(hmac: key, digestAlgorithm: .sha256)
            prepared.done.withLock { $0 = true }
        }
        return keys
    }

    /// Issues a token.
    /// - Parameters:
    ///   - identity: The agency and role.
    ///   - lifetime: How long it is valid.
    ///   - now: The issue time.
    public func issue(_ identity: APIIdentity, lifetime: Duration, now: Date = Date()) async throws -> String {
        let issued = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let claims = Claims(
            sub: SubjectClaim(value: identity.agency), role: identity.role.name, unit: identity.unit == identity.agency ? nil : identity.unit,
            person: identity.person, iat: IssuedAtClaim(value: issued),
            exp: ExpirationClaim(value: issued.addingTimeInterval(TimeInterval(lifetime.components.seconds))))
        return try await collection().sign(claims)
    }

    /// Verifies a token's signature and lifetime.
    /// - Parameters:
    ///   - token: The compact JWT.
    ///   - now: The time to check expiry against.
    public func verify(_ token: String, now: Date = Date()) async throws -> APIIdentity {
        let claims: Claims
        do {
            claims = try await collection().verify(token, as: Claims.self)
        } catch let error as JWTError {
            switch error.errorType {
            case .signatureVerificationFailed: throw Invalid(description: "invalid token signature")
            case .malformedToken: throw Invalid(description: "malformed token")
            case .unsupportedAlgorithm, .signingAlgorithmFailure: throw Invalid(description: "unsupported token algorithm")
            case .claimVerificationFailure: throw Invalid(description: "token claims missing sub, role, iat or exp")
            default: throw Invalid(description: "token not accepted")
            }
        } catch {
            throw Invalid(description: "token claims missing sub, role, iat or exp")
        }
        guard claims.exp.value > now else { throw Invalid(description: "token expired") }
        return APIIdentity(agency: claims.sub.value, role: Role(claims.role), unit: claims.unit, person: claims.person)
    }

    /// The development key used when `API_TOKEN_KEY` is not set.
    public static let developmentSecret = "huhang-development-api-token-key-not-for-production"
}

/// Rejects `/v1` requests without a valid bearer token (401) and records the caller.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = HuhangRequestContext
    let tokens: APITokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "a bearer token is required")
        }
        do {
            var context = context
            let identity = try await tokens.verify(String(header.dropFirst("Bearer ".count)))
            context.identity = identity
            context.logger[metadataKey: "api.agency"] = "\(identity.agency)"
            return try await next(request, context)
        } catch let invalid as APITokens.Invalid {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""], message: invalid.description)
        }
    }
}
