import Assessment
import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Inspection
import Intake
import Intervention
import NIOCore
import Notification
import ServiceKit
import Testing
import Yams

/// Each service's `openapi.yaml` against the service itself, both ways: every route the router serves is
/// documented, every documented operation is served, and what each answers — for the task force or an
/// operator, on the test database's rows or on ids that do not exist — has the status and the shape the
/// document gives. Requests go straight to the service's router (HummingbirdTesting), the database is real.
@Suite("OpenAPI documents", .serialized)
struct OpenAPITests {
    /// A service's API document, loaded with a standard YAML parser.
    /// Read-only after loading: the parsed YAML holds only strings, numbers, booleans, lists and mappings.
    struct Document: @unchecked Sendable {
        let service: String
        let root: [String: Any]
        /// `GET /v1/cases/{id}` for every operation.
        var operations: Set<String> {
            var result: Set<String> = []
            for (path, item) in (root["paths"] as? [String: Any]) ?? [:] {
                for method in ((item as? [String: Any]) ?? [:]).keys where Self.methods.contains(method) {
                    result.insert("\(method.uppercased()) \(path)")
                }
            }
            return result
        }
        static let methods: Set<String> = ["get", "put", "post", "delete", "patch"]

        init(service: String) throws {
            self.service = service
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Services/\(service)/openapi.yaml")
            let loaded = try Yams.load(yaml: try String(contentsOf: url, encoding: .utf8))
            root = try #require(Self.stringKeyed(loaded) as? [String: Any], "\(service)/openapi.yaml is not a mapping")
            #expect(root["openapi"] as? String == "3.1.0")
        }

        /// YAML may key a mapping by numbers (`200:`); JSON Schema and this test key by text.
        static func stringKeyed(_ value: Any?) -> Any? {
            if let map = value as? [AnyHashable: Any] {
                var result: [String: Any] = [:]
                for (key, inner) in map { result["\(key.base)"] = stringKeyed(inner) }
                return result
            }
            if let list = value as? [Any] { return list.map { stringKeyed($0) as Any } }
            return value
        }

        func operation(_ method: String, _ path: String) -> [String: Any]? {
            ((root["paths"] as? [String: Any])?[path] as? [String: Any])?[method.lowercased()] as? [String: Any]
        }

        /// The schema documented for a JSON answer with this status, with the document's components as `$defs`.
        func schema(_ method: String, _ path: String, status: Int) throws -> JSONSchema?? {
            guard let responses = operation(method, path)?["responses"] as? [String: Any] else { return .none }
            guard let response = (responses[String(status)] ?? responses["default"]) as? [String: Any] else { return .none }
            guard let content = response["content"] as? [String: Any], let json = content["application/json"] as? [String: Any],
                  var schema = json["schema"] as? [String: Any] else { return .some(nil) }
            schema["$defs"] = (root["components"] as? [String: Any])?["schemas"] ?? [:]
            var text = String(decoding: try JSONSerialization.data(withJSONObject: schema), as: UTF8.self)
            text = text.replacingOccurrences(of: "#\\/components\\/schemas\\/", with: "#/$defs/")
                .replacingOccurrences(of: "#/components/schemas/", with: "#/$defs/")
            return .some(try JSONSchema(Array(text.utf8)))
        }
    }

    /// The router's routes in the document's spelling: `GET /v1/cases/{id}`.
    static func documented(_ routes: [String]) -> Set<String> {
        Set(routes.map { route in
            let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
            let path = parts[1].split(separator: "/", omittingEmptySubsequences: false).map { segment in
                segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
            }.joined(separator: "/")
            return "\(parts[0]) \(path.hasPrefix("/") ? path : "/" + path)"
        })
    }

    static let tokens = try! APITokens(secret: APITokens.developmentSecret)

    /// Calls every documented operation and checks the answer against the document.
    /// - Parameters:
    ///   - document: The service's document.
    ///   - responder: The service's router.
    /// - Returns: Problems found, as readable lines.
    static func exercise(_ document: Document, responder: RouterResponder<HuhangRequestContext>) async throws -> [String] {
        let app = Application(responder: responder)
        return try await app.test(.router) { client in
            var problems: [String] = []
            var samples: [String: String] = [:]
            // Lists first, so that a detail path can use an id a list gave.
            let ordered = document.operations.sorted { a, b in (a.filter { $0 == "{" }.count, a) < (b.filter { $0 == "{" }.count, b) }
            for operation in ordered {
                let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
                let (method, path) = (parts[0], parts[1])
                let isRead = method == "GET"
                var uri = path
                for parameter in path.split(separator: "/").filter({ $0.hasPrefix("{") }) {
                    let name = String(parameter.dropFirst().dropLast())
                    let value = isRead ? samples[Self.sampleKey(path, name)] ?? "00000000-0000-4000-8000-000000000000" : "00000000-0000-4000-8000-000000000000"
                    uri = uri.replacingOccurrences(of: String(parameter), with: value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? value)
                }
                var answered: TestResponse?
                for role in ["task-force", "operator"] {
                    let token = try await tokens.issue(APIIdentity(agency: "openapi-test", role: Role(role)), lifetime: .seconds(300))
                    var headers: HTTPFields = [.authorization: "Bearer \(token)"]
                    if !isRead { headers[.contentType] = "application/json" }
                    let response = try await client.execute(
                        uri: uri, method: HTTPRequest.Method(rawValue: method)!, headers: headers, body: isRead ? nil : ByteBuffer(string: "{}"))
                    answered = response
                    if response.status != .forbidden { break }
                }
                guard let response = answered else { continue }
                let status = Int(response.status.code)
                guard let documentedSchema = try document.schema(method, path, status: status) else {
                    problems.append("\(document.service): \(operation) answered \(status) for \(uri), which the document does not give")
                    continue
                }
                let isJSON = response.headers[.contentType]?.hasPrefix("application/json") ?? false
                if let schema = documentedSchema, isJSON {
                    let body = try JSONValue.parse(Array(buffer: response.body))
                    for error in schema.validate(body).prefix(3) {
                        problems.append("\(document.service): \(operation) \(status) for \(uri): \(error)")
                    }
                    if isRead && status == 200 { Self.collectSamples(from: body, path: path, into: &samples) }
                }
            }
            return problems
        }
    }

    /// Where a detail path's id comes from: `{id}` of `/v1/cases/{id}` from what `GET /v1/cases` listed.
    static func sampleKey(_ path: String, _ parameter: String) -> String {
        let segments = path.split(separator: "/")
        guard let index = segments.firstIndex(of: Substring("{\(parameter)}")), index > 0 else { return parameter }
        return "/" + segments[..<index].joined(separator: "/") + "#\(parameter)"
    }

    /// Keeps the first identifying value of a list's first row, keyed as ``sampleKey(_:_:)`` asks for it.
    static func collectSamples(from body: JSONValue, path: String, into samples: inout [String: String]) {
        var rows: [JSONValue] = []
        if case .array(let items) = body { rows = items }
        if case .object(let object) = body {
            for value in object.values { if case .array(let items) = value { rows += items } }
        }
        guard case .object(let first)? = rows.first else { return }
        let preferred = ["id", "caseId", "code", "version", "recipient", "unit", "name", "eventType", "type", "item", "quarter", "intakeId", "subjectId"]
        for parameter in ["id", "code", "version", "recipient", "unit", "name", "type", "item", "quarter"] {
            for key in preferred {
                if case .string(let value)? = first[key] { samples["\(path)#\(parameter)"] = value; break }
                if case .number(let value)? = first[key] { samples["\(path)#\(parameter)"] = String(Int(value)); break }
            }
        }
    }

    static func check<S: HuhangService>(_ service: S.Type, folder: String) async throws {
        let document = try Document(service: folder)
        // Each operation names the file that registers it, so that a reader can go from the document to the code.
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for operation in document.operations.sorted() {
            let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
            let source = document.operation(parts[0], parts[1])?["x-huhang-source"] as? String ?? ""
            #expect(FileManager.default.fileExists(atPath: repository.appendingPathComponent(source).path),
                    "\(folder): \(operation) names \(source.isEmpty ? "no source" : source), which does not exist")
        }
        let running = try RunningService<S>(configuration: try TestEnvironment.serviceConfiguration(S.name), logger: TestEnvironment.logger)
        try await withServices([running]) {
            let served = Self.documented(running.routes)
            let undocumented = served.subtracting(document.operations).sorted()
            let unserved = document.operations.subtracting(served).sorted()
            #expect(undocumented.isEmpty, "\(folder) serves routes its openapi.yaml does not describe: \(undocumented)")
            #expect(unserved.isEmpty, "\(folder)/openapi.yaml describes operations the service does not serve: \(unserved)")
            let problems = try await Self.exercise(document, responder: running.responder)
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        }
    }

    @Test("Intake's openapi.yaml describes its routes, and they answer as described")
    func intake() async throws { try await Self.check(IntakeService.self, folder: "Intake") }

    @Test("Assessment's openapi.yaml describes its routes, and they answer as described")
    func assessment() async throws { try await Self.check(AssessmentService.self, folder: "Assessment") }

    @Test("Intervention's openapi.yaml describes its routes, and they answer as described")
    func intervention() async throws { try await Self.check(InterventionService.self, folder: "Intervention") }

    @Test("Inspection's openapi.yaml describes its routes, and they answer as described")
    func inspection() async throws { try await Self.check(InspectionService.self, folder: "Inspection") }

    @Test("Notification's openapi.yaml describes its routes, and they answer as described")
    func notification() async throws { try await Self.check(NotificationService.self, folder: "Notification") }

    @Test("Each service serves its document at /openapi.yaml, as written in its folder")
    func served() async throws {
        let running = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake"), logger: TestEnvironment.logger)
        let app = Application(responder: running.responder)
        let text = try await app.test(.router) { client in
            try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/yaml") == true)
                return String(buffer: response.body)
            }
        }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Services/Intake/openapi.yaml")
        #expect(text == (try String(contentsOf: url, encoding: .utf8)))
    }
}
