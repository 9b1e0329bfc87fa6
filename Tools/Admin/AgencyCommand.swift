import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ServiceKit

/// Agencies: register one with intake, list them.
struct AgencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agency",
        abstract: "Register agencies with intake and list them.",
        subcommands: [Register.self, List.self])

    struct Connection: ParsableArguments {
        @Option(help: "Intake's base URL.")
        var intakeURL = ProcessInfo.processInfo.environment["INTAKE_URL"] ?? "http://127.0.0.1:8081"

        @Option(help: "The operator's own agency code, named in the token.")
        var operatorAgency = "operations"

        /// A short-lived operator token signed with API_TOKEN_KEY.
        func token() throws -> String {
            let configuration = try ServiceConfiguration(service: "huhang-admin", defaultHTTPPort: 0)
            let tokens = try APITokens(secret: configuration.apiTokenKey ?? APITokens.developmentSecret)
            return try tokens.issue(APIIdentity(agency: operatorAgency, role: "operator"), lifetime: .seconds(300))
        }

        func send(_ method: String, _ path: String, body: Data? = nil) async throws -> String {
            var request = URLRequest(url: URL(string: intakeURL + path)!)
            request.httpMethod = method
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue("Bearer \(try token())", forHTTPHeaderField: "Authorization")
            let (status, text): (Int, String) = try await withCheckedThrowingContinuation { continuation in
                URLSession.shared.dataTask(with: request) { data, response, error in
                    if let error { continuation.resume(throwing: error); return }
                    continuation.resume(returning: ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self)))
                }.resume()
            }
            guard (200..<300).contains(status) else { throw ValidationError("intake answered \(status): \(text)") }
            return text
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register or update an agency: what it is and which event types it may send.",
            discussion: """
                The code is also the agency's RabbitMQ login; the broker checks it against user_id on
                every publish. Without --event-types the agency may send what agencies of its kind send.
                """)

        @OptionGroup var connection: Connection
        @Option(help: "The agency's code (its RabbitMQ login).") var code: String
        @Option(help: "The agency's name.") var name: String
        @Option(help: "police, procuratorate, court, justice, education, school, youth_league_hotline, civil_affairs, culture_tourism, fire, urban_management, health, social_work, community, other")
        var kind: String
        @Option(help: "Event types it may send, separated by commas.") var eventTypes: String?
        @Flag(help: "Register it deactivated: everything it sends is refused.") var inactive = false

        func run() async throws {
            var body: [String: Any] = ["code": code, "name": name, "kind": kind, "active": !inactive]
            if let eventTypes { body["eventTypes"] = eventTypes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            print(try await connection.send("POST", "/v1/agencies", body: try JSONSerialization.data(withJSONObject: body)))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the registered agencies.")
        @OptionGroup var connection: Connection

        func run() async throws {
            print(try await connection.send("GET", "/v1/agencies"))
        }
    }
}
