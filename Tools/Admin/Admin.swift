import ArgumentParser
import Contracts
import Foundation
import Logging
import Messaging
import ServiceKit

/// The operators' and integrators' command line (`huhang-admin`, and `huhang admin` in the image).
public struct Admin: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "huhang-admin",
        abstract: "Operate Huhang and talk to it as an agency would.",
        subcommands: [AgencyCommand.self, PersonCommand.self, DeadCommand.self, Publish.self, SampleReport.self, Token.self, Examples.self])
}

extension Admin {
    /// Parses `arguments` and runs the chosen command, as `@main` would; for the programs that run it (huhang-admin,
    /// and the image's `huhang`, which is several programs in one).
    /// - Parameters:
    ///   - arguments: The command line after the program's name; nil for the process's own.
    public static func run(arguments: [String]?) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asynchronous = command as? any AsyncParsableCommand { try await asynchronous.run() } else { try command.run() }
        } catch {
            exit(withError: error)
        }
    }
}

/// Publishes one event on `huhang.intake` as an agency, the way an agency's integration does.
struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish an event body (JSON on standard input or --file) on huhang.intake as an agency.",
        discussion: """
            The agency is the login in the URL; the broker checks it against the user_id property.
            Prints the message id, which is also the correlation id of everything that follows.
            """)

    @Option(help: "The agency's AMQP URL.")
    var amqpURL = ProcessInfo.processInfo.environment["AGENCY_AMQP_URL"] ?? "amqp://agency-demo:agency-demo@127.0.0.1:5672"

    @Option(help: "The event type, e.g. report.incident.v1.")
    var type = IncidentReportV1.eventType.name

    @Option(help: "Read the body from this file instead of standard input.")
    var file: String?

    @Option(help: "The message id (default: a new UUID).")
    var id = UUID().uuidString.lowercased()

    func run() async throws {
        let body: Data
        if let file { body = try Data(contentsOf: URL(fileURLWithPath: file)) } else { body = FileHandle.standardInput.readDataToEndOfFile() }
        let configuration = try AMQPConfiguration(url: amqpURL, connectionName: "huhang-admin")
        var logger = Logger(label: "huhang-admin")
        logger.logLevel = .warning
        let connection = try await AMQPConnection.connect(configuration, logger: logger)
        var envelope = EventEnvelope(id: id, type: type, source: configuration.user,
                                     dataschema: EventType(name: type)?.dataschema, traceparent: TraceContext.random().traceparent)
        envelope.sender = configuration.user
        let outcome = try await connection.publish(OutgoingMessage(envelope: envelope, body: Array(body), exchange: ExchangeName.intake))
        await connection.close()
        guard outcome == .confirmed else {
            throw ValidationError("the broker did not take the event: \(outcome)")
        }
        print(id)
    }
}

/// Prints a sample incident report.
struct SampleReport: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a sample report.incident.v1 body.")

    @Option(help: "The school's registry code.")
    var school = "DEMO-SCHOOL-01"

    @Flag(help: "Report immediate danger.")
    var urgent = false

    /// A made-up student number, new each time, so each sample names pupils not yet under watch.
    static func studentNumber() -> String { "2026-\(Int.random(in: 1000...9999))" }

    func run() throws {
        let report = IncidentReportV1(
            externalID: "demo-\(UUID().uuidString.lowercased().prefix(8))", category: .bullying, immediateDanger: urgent,
            occurredAt: Date(), schoolCode: school, place: "playground", narrative: "A pupil reported being pushed and threatened.",
            people: [.init(role: .victim, studentNumber: Self.studentNumber()), .init(role: .allegedPerpetrator, studentNumber: Self.studentNumber())])
        print(String(decoding: try ContractCoding.encoder().encode(report), as: UTF8.self))
    }
}

/// Issues an API bearer token for an agency and role.
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue an API bearer token, signed with API_TOKEN_KEY (or API_TOKEN_KEY_FILE).",
        discussion: """
            Use it as `Authorization: Bearer <token>` on any service's /v1 routes. The token names the unit the
            agency acts as (a school's is its school code): --unit, else the unit intake's registry gives the
            agency, else the agency code when the agency is not registered; operators' and the task force's tokens need no unit.
            """)

    @Option(help: "The agency's code.")
    var agency: String

    @Option(help: "The caller's role, e.g. caseworker, task-force, operator.")
    var role = "caseworker"

    @Option(help: "The unit the agency acts as, e.g. 370102-M03 for a school; asked of intake when not given.")
    var unit: String?

    @Option(help: "Hours until the token expires.")
    var hours = 12

    @Option(help: "Intake's base URL, asked for the agency's unit when --unit is not given.")
    var intakeURL = ProcessInfo.processInfo.environment["INTAKE_URL"] ?? "http://127.0.0.1:8081"

    func run() async throws {
        let configuration = try ServiceConfiguration(service: "huhang-admin", defaultHTTPPort: 0)
        let tokens = try APITokens(secret: configuration.apiTokenKey ?? APITokens.developmentSecret)
        var unit = self.unit
        if unit == nil, !["operator", "task-force"].contains(role) {
            let operatorToken = try await tokens.issue(APIIdentity(agency: "operations", role: .operator), lifetime: .seconds(60))
            do {
                let (status, text) = try await HTTPCall.send("GET", intakeURL + "/v1/agencies", body: nil, authorization: "Bearer \(operatorToken)")
                guard status == 200 else { throw ValidationError("intake answered \(status): \(text)") }
                struct Registered: Decodable { var code: String; var unit: String? }
                let agencies = try JSONDecoder().decode([Registered].self, from: Data(text.utf8))
                unit = agencies.first { $0.code == agency }?.unit
            } catch {
                throw ValidationError("could not ask intake at \(intakeURL) for the unit of \(agency) (\(error)); give --unit (for an agency that is no registered sender, its own code)")
            }
        }
        print(try await tokens.issue(APIIdentity(agency: agency, role: Role(role), unit: unit), lifetime: .seconds(hours * 3600)))
    }
}

/// Writes the integrators' examples folder from the contracts.
struct Examples: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an accepted and a rejected example of every agency event, with the rejection's reasons.")

    @Option(help: "The folder to write.")
    var out = "examples"

    @Option(help: "The folder holding the JSON Schemas.")
    var schemas = "Shared/Contracts/Schemas"

    func run() throws {
        let files = try ContractExamples.files { type in
            try JSONSchema(Array(try Data(contentsOf: URL(fileURLWithPath: "\(schemas)/\(type.name).json"))))
        }
        for (path, content) in files.sorted(by: { $0.key < $1.key }) {
            let url = URL(fileURLWithPath: out).appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: true, encoding: .utf8)
            print(url.path)
        }
    }
}
