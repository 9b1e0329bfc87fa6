import ArgumentParser
import Foundation
import ServiceKit

/// People who sign in to the console: add, list, deactivate, reset. Calls the console's `/v1/people` with
/// a short operator token signed with API_TOKEN_KEY.
struct PersonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "person",
        abstract: "Add, list, deactivate or reset the people who sign in to the console.",
        subcommands: [Add.self, List.self, Deactivate.self, Activate.self, Reset.self])

    struct Connection: ParsableArguments {
        @Option(help: "The console's base URL.")
        var consoleURL = ProcessInfo.processInfo.environment["CONSOLE_URL"] ?? "http://127.0.0.1:8080"

        func send(_ method: String, _ path: String, body: [String: Any]? = nil) async throws -> String {
            let configuration = try ServiceConfiguration(service: "huhang-admin", defaultHTTPPort: 0)
            let tokens = try APITokens(secret: configuration.apiTokenKey ?? APITokens.developmentSecret)
            let token = try await tokens.issue(APIIdentity(agency: "operations", role: .operator), lifetime: .seconds(120))
            let (status, text) = try await HTTPCall.send(
                method, consoleURL + path, body: try body.map { try JSONSerialization.data(withJSONObject: $0) }, authorization: "Bearer \(token)")
            guard (200..<300).contains(status) else { throw ValidationError("the console answered \(status): \(text)") }
            return text
        }
    }

    /// Reads a password from the first line of a file, never from the command line.
    static func password(_ file: String) throws -> String {
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a person. They enrol an authenticator at their first sign-in.")
        @OptionGroup var connection: Connection
        @Option(help: "Their sign-in name (lower case).") var username: String
        @Option(help: "Their name as colleagues know it.") var name: String
        @Option(help: "The agency they work for (its code).") var agency: String
        @Option(help: "The unit they act for; a school's school code. Defaults to the agency code.") var unit: String?
        @Option(help: "task-force, caseworker, education or operator.") var role: String
        @Option(help: "A file whose first line is their first password (at least 12 characters).") var passwordFile: String

        func run() async throws {
            var body: [String: Any] = [
                "username": username, "displayName": name, "agency": agency, "role": role, "password": try PersonCommand.password(passwordFile),
            ]
            if let unit { body["unit"] = unit }
            print(try await connection.send("POST", "/v1/people", body: body))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List everyone who may sign in.")
        @OptionGroup var connection: Connection
        func run() async throws { print(try await connection.send("GET", "/v1/people")) }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a person's access now (their sessions end).")
        @OptionGroup var connection: Connection
        @Option(help: "Their sign-in name.") var username: String
        func run() async throws { _ = try await connection.send("POST", "/v1/people/\(username)/deactivate"); print("deactivated \(username)") }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore a deactivated person's access.")
        @OptionGroup var connection: Connection
        @Option(help: "Their sign-in name.") var username: String
        func run() async throws { _ = try await connection.send("POST", "/v1/people/\(username)/activate"); print("activated \(username)") }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a person a new password and a new authenticator to enrol (their sessions end).")
        @OptionGroup var connection: Connection
        @Option(help: "Their sign-in name.") var username: String
        @Option(help: "A file whose first line is the new password.") var passwordFile: String
        func run() async throws {
            _ = try await connection.send("POST", "/v1/people/\(username)/reset", body: ["password": try PersonCommand.password(passwordFile)])
            print("reset \(username): a new password, and a new authenticator at the next sign-in")
        }
    }
}
