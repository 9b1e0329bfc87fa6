import Contracts
import Foundation
import Hummingbird
import NIOCore
import Prometheus

/// `/health/live`, `/health/ready` and `/metrics`: open, for the orchestrator and Prometheus.
enum HealthRoutes {
    static func add(to router: Router<HuhangRequestContext>, readiness: Readiness) {
        router.get("/health/live") { _, _ in
            json(.ok, ["status": "live"])
        }
        router.get("/health/ready") { _, _ in
            let (ready, checks) = await readiness.check()
            var body: [String: Any] = ["status": ready ? "ready" : "not ready"]
            body["checks"] = checks.mapValues { $0 ? "ok" : "failing" }
            return json(ready ? .ok : .serviceUnavailable, body)
        }
        router.get("/metrics") { _, _ in
            var bytes: [UInt8] = []
            ServiceApp.metricsRegistry.emit(into: &bytes)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    /// `GET /openapi.yaml`: the service's API document, open like the health routes, read once at start.
    /// - Parameters:
    ///   - router: The service's router.
    ///   - document: Where the document is; a service that names one and cannot read it does not start.
    static func addAPIDocument(to router: Router<HuhangRequestContext>, document: URL) throws {
        let text = try String(contentsOf: document, encoding: .utf8)
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// JSON responses for services' APIs.
public enum JSONResponse {
    /// Encodes a value with the contracts' JSON conventions.
    public static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try ContractCoding.encoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
