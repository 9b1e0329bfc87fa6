import Crypto
import Foundation
import Hummingbird
import Logging

/// Who is calling an API: the agency and role a bearer token names.
public struct APIIdentity: Sendable, Hashable, Codable {
    /// The agency's code (its RabbitMQ login, e.g. `school-370102-m03`).
    public var agency: String
    /// The caller's role, e.g. `caseworker`, `task-force`, `operator`.
    public var role: String
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
    public init(agency: String, role: String, unit: String? = nil, person: String? = nil) {
        self.agency = agency
        self.role = role
        self.unit = unit.flatMap { $0.isEmpty ? nil : $0 } ?? agency
        self.person = person.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether the caller is `unit` itself, by its agency code or by the unit it acts for.
    public func acts(for unit: String) -> Bool {
        self.unit == unit || agency == unit
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

/// Signed API tokens: JWTs with HS256, claims `sub` (agency), `role`, `unit` (when it differs from `sub`), `iat`, `exp`.
///
/// The admin CLI issues them with the key every service shares
/// (`API_TOKEN_KEY`); each service verifies locally, calling no other service.
public struct APITokens: Sendable {
    private let key: SymmetricKey

    /// An error verifying a token; its message is safe to return to the caller.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    private struct Header: Codable { var alg: String; var typ: String? }
    private struct Claims: Codable {
        var sub: String
        var role: String
        var unit: String?
        var person: String?
        var iat: Int
        var exp: Int
    }

    /// Creates a signer and verifier.
    /// - Parameter secret: The shared key; at least 32 bytes.
    public init(secret: String) throws {
        guard secret.utf8.count >= 32 else {
            throw ConfigurationError(key: "API_TOKEN_KEY", value: "(hidden)", expected: "at least 32 characters")
        }
        key = SymmetricKey(data: Data(secret.utf8))
    }

    /// Issues a token.
    /// - Parameters:
    ///   - identity: The agency and role.
    ///   - lifetime: How long it is valid.
    ///   - now: The issue time.
    public func issue(_ identity: APIIdentity, lifetime: Duration, now: Date = Date()) throws -> String {
        let header = try Self.base64URL(JSONEncoder().encode(Header(alg: "HS256", typ: "JWT")))
        let issued = Int(now.timeIntervalSince1970)
        let claims = Claims(
            sub: identity.agency, role: identity.role, unit: identity.unit == identity.agency ? nil : identity.unit, person: identity.person,
            iat: issued, exp: issued + Int(lifetime.components.seconds))
        let payload = try Self.base64URL(JSONEncoder().encode(claims))
        let signature = Self.base64URL(Data(HMAC<SHA256>.authenticationCode(for: Data("\(header).\(payload)".utf8), using: key)))
        return "\(header).\(payload).\(signature)"
    }

    /// Verifies a token's signature and lifetime.
    /// - Parameters:
    ///   - token: The compact JWT.
    ///   - now: The time to check expiry against.
    public func verify(_ token: String, now: Date = Date()) throws -> APIIdentity {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerData = Self.decodeBase64URL(parts[0]),
              let payloadData = Self.decodeBase64URL(parts[1]),
              let signature = Self.decodeBase64URL(parts[2])
        else { throw Invalid(description: "malformed token") }
        guard let header = try? JSONDecoder().decode(Header.self, from: headerData), header.alg == "HS256" else {
            throw Invalid(description: "unsupported token algorithm")
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data("\(parts[0]).\(parts[1])".utf8), using: key) else {
            throw Invalid(description: "invalid token signature")
        }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: payloadData) else {
            throw Invalid(description: "token claims missing sub, role, iat or exp")
        }
        guard Double(claims.exp) > now.timeIntervalSince1970 else { throw Invalid(description: "token expired") }
        return APIIdentity(agency: claims.sub, role: claims.role, unit: claims.unit, person: claims.person)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
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
            let identity = try tokens.verify(String(header.dropFirst("Bearer ".count)))
            context.identity = identity
            context.logger[metadataKey: "api.agency"] = "\(identity.agency)"
            return try await next(request, context)
        } catch let invalid as APITokens.Invalid {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""], message: invalid.description)
        }
    }
}
