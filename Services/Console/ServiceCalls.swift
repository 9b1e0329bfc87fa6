import AsyncHTTPClient
import Contracts
import Foundation
import NIOCore
import NIOHTTP1
import ServiceKit

/// The five services' APIs, called for a signed-in person with a token of a minute that names their
/// agency, role, unit and themselves — so every service's audit says who read what.
struct ServiceCalls: Sendable {
    let urls: [String: String]
    let tokens: APITokens
    /// How long a page waits for a service. The HTTP client retries a refused connection until then, so a
    /// service that is down costs a page this long before it says which.
    var timeout: TimeAmount = .seconds(3)

    /// A service did not answer, or answered with a server error: the page says which.
    struct Unavailable: Error {
        let service: String
    }

    /// A service refused the call; its message is safe to show.
    struct Refused: Error {
        let status: Int
        let message: String
    }

    /// Whether a service answers its readiness check.
    func isReady(_ service: String) async -> Bool {
        guard let base = urls[service] else { return false }
        let request = HTTPClientRequest(url: base + "/health/ready")
        guard let response = try? await HTTPClient.shared.execute(request, timeout: timeout) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 16)
        return response.status == .ok
    }

    /// GETs a service's `/v1` path as `identity`. - Returns: The JSON answer.
    func get(_ service: String, _ path: String, as identity: APIIdentity) async throws -> JSONValue {
        try await send("GET", service, path, as: identity, body: nil)
    }

    /// GETs a service's `/v1` path as `identity`. - Returns: The answer as text (a Markdown bulletin).
    func text(_ service: String, _ path: String, as identity: APIIdentity) async throws -> String {
        String(buffer: try await exchange("GET", service, path, as: identity, body: nil))
    }

    func send(_ method: String, _ service: String, _ path: String, as identity: APIIdentity, body: [UInt8]?) async throws -> JSONValue {
        let bytes = try await exchange(method, service, path, as: identity, body: body)
        guard bytes.readableBytes > 0 else { return .null }
        return try JSONValue.parse(Array(bytes.readableBytesView))
    }

    /// One call: the answer's body when the service said yes; ``Refused`` or ``Unavailable`` otherwise.
    func exchange(_ method: String, _ service: String, _ path: String, as identity: APIIdentity, body: [UInt8]?) async throws -> ByteBuffer {
        guard let base = urls[service] else { throw Unavailable(service: service) }
        var request = HTTPClientRequest(url: base + path)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(try await tokens.issue(identity, lifetime: .seconds(60)))")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: timeout)
            bytes = try await response.body.collect(upTo: 8 * 1024 * 1024)
        } catch {
            throw Unavailable(service: service)
        }
        guard response.status.code < 500 else { throw Unavailable(service: service) }
        guard (200..<300).contains(response.status.code) else {
            throw Refused(status: Int(response.status.code), message: String(buffer: bytes))
        }
        return bytes
    }
}
