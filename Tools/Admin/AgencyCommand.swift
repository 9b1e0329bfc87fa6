import ArgumentParser
import Foundation
import Logging
import Messaging
import ServiceKit
import ToolKit

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
        func token() async throws -> String {
            let configuration = try ServiceConfiguration(service: "huhang-admin", defaultHTTPPort: 0)
            let tokens = try APITokens(secret: configuration.apiTokenKey ?? APITokens.developmentSecret)
            return try await tokens.issue(APIIdentity(agency: operatorAgency, role: .operator), lifetime: .seconds(300))
        }

        func send(_ method: String, _ path: String, body: Data? = nil) async throws -> String {
            let (status, text) = try await HTTPCall.send(
                method, intakeURL + path, body: body, authorization: "Bearer \(try await token())")
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
        @Option(help: "The unit it acts as: its tasks, notices and inbox. A school's is its school code (the schoolCode its reports carry, e.g. 370102-M03), and a school must give it; other agencies default to their code.")
        var unit: String?
        @Flag(help: "Register it deactivated: everything it sends is refused.") var inactive = false

        @Option(help: "Create or update the agency's RabbitMQ user with this password file (first line).")
        var passwordFile: String?

        @Option(help: "RabbitMQ's management API, with an administrator's login.")
        var brokerAdminURL = ProcessInfo.processInfo.environment["RABBITMQ_ADMIN_URL"] ?? "http://huhang:huhang@127.0.0.1:15672"

        @Option(help: "The services' AMQP URL (its vhost is the agency's too); used to declare the agency's reply queue.")
        var amqpURL = ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://huhang:huhang@127.0.0.1:5672"

        func run() async throws {
            guard code.range(of: #"^[a-z0-9][a-z0-9._-]{1,63}$"#, options: .regularExpression) != nil else {
                throw ValidationError("the code must be 2–64 lower-case letters, digits, dots, dashes or underscores")
            }
            if let passwordFile {
                let password = try String(contentsOfFile: passwordFile, encoding: .utf8)
                    .split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
                guard password.count >= 12 else { throw ValidationError("the password must have at least 12 characters") }
                let amqp = try AMQPConfiguration(url: amqpURL, connectionName: "huhang-admin")
                try await BrokerAdmin(url: brokerAdminURL).onboard(agency: code, password: password, vhost: amqp.vhost)
                try await declareReplyQueue(amqp)
                print("broker: user \(code) may publish to huhang.intake and read \(ExchangeName.agencyReplyQueue(code))")
            }
            if kind == "school", unit == nil {
                throw ValidationError("a school needs --unit, its school code (the schoolCode its reports carry, e.g. 370102-M03), so that its tasks, notices and inbox are its own")
            }
            var body: [String: Any] = ["code": code, "name": name, "kind": kind, "active": !inactive]
            if let unit { body["unit"] = unit }
            if let eventTypes { body["eventTypes"] = eventTypes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            print(try await connection.send("POST", "/v1/agencies", body: try JSONSerialization.data(withJSONObject: body)))
        }

        /// The agency's reply queue, bound to huhang.replies with its code.
        private func declareReplyQueue(_ amqp: AMQPConfiguration) async throws {
            var logger = Logger(label: "huhang-admin")
            logger.logLevel = .warning
            let connection = try await AMQPConnection.connect(amqp, logger: logger)
            let queue = ExchangeName.agencyReplyQueue(code)
            try await connection.declare(Topology(
                exchanges: Topology.exchanges.exchanges,
                queues: Topology.exchanges.queues + [.init(name: queue, arguments: ["x-queue-type": .string("quorum")])],
                bindings: Topology.exchanges.bindings + [.init(queue: queue, exchange: ExchangeName.replies, routingKey: code)]))
            await connection.close()
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

/// RabbitMQ's management API: the one place agencies' broker users are made.
struct BrokerAdmin {
    let base: URL
    let authorization: String

    init(url: String) throws {
        guard let components = URLComponents(string: url), let user = components.user, let password = components.password else {
            throw ValidationError("the broker admin URL needs a login: http://user:password@host:15672")
        }
        var stripped = components
        stripped.user = nil
        stripped.password = nil
        base = stripped.url!
        authorization = "Basic " + Data("\(user.removingPercentEncoding ?? user):\(password.removingPercentEncoding ?? password)".utf8).base64EncodedString()
    }

    /// Creates or updates the agency's user: it may publish to huhang.intake
    /// and read its own reply queue; it may declare, delete or read nothing else.
    func onboard(agency: String, password: String, vhost: String) async throws {
        let user = agency.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._")))!
        let vhostPath = vhost.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._")))!
        try await put("/api/users/\(user)", ["password": password, "tags": ""])
        let replyQueue = NSRegularExpression.escapedPattern(for: ExchangeName.agencyReplyQueue(agency))
        try await put("/api/permissions/\(vhostPath)/\(user)", [
            "configure": "^$",
            "write": "^huhang\\.intake$",
            "read": "^\(replyQueue)$",
        ])
    }

    private func put(_ path: String, _ body: [String: String]) async throws {
        let url = base.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path
        let (status, text) = try await HTTPCall.send(
            "PUT", url, body: try JSONSerialization.data(withJSONObject: body), authorization: authorization)
        guard (200..<300).contains(status) else { throw ValidationError("broker management API answered \(status) to \(path): \(text)") }
    }
}

/// One HTTP exchange with a JSON body: the status and the answer as text.
enum HTTPCall {
    static func send(_ method: String, _ url: String, body: Data?, authorization: String) async throws -> (status: Int, body: String) {
        let (status, answer) = try await HTTPExchange.send(
            method, url, headers: [("Content-Type", "application/json"), ("Authorization", authorization)], body: body.map(Array.init))
        return (status, String(decoding: answer, as: UTF8.self))
    }
}
