import Contracts
import Crypto
import Foundation
import Hummingbird
import Logging
import Messaging
import PostgresNIO
import ServiceKit
import Storage

/// Intake: the agencies' front door. Validates each event, knows which agency
/// sent it (the broker-verified AMQP `user_id`), drops exact duplicates,
/// replaces identities by subject ids and passes accepted events on.
struct IntakeService: HuhangService {
    static let name = "intake"
    static let defaultHTTPPort = 8081
    static let migrations = IntakeMigrations.all

    let subjects: SubjectResolver
    let agencies: AgencyRegistry
    let database: Database

    init(context: ServiceContext) throws {
        subjects = try SubjectResolver(configuration: IntakeConfiguration(), logger: context.logger)
        agencies = AgencyRegistry(database: context.database)
        database = context.database
    }

    func addRoutes(to v1: RouterGroup<HuhangRequestContext>, events: EventDispatcher) {
        AgencyRoutes.add(to: v1, registry: agencies)
        GatewayRoutes.add(to: v1, events: events, status: EventStatus(database: database), agencies: agencies)
    }

    func register(_ handlers: inout HandlerRegistry) {
        handlers.onRaw(IncidentReportV1.eventType, from: ExchangeName.intake) { body, context in
            try await acceptIncidentReport(body, context)
        }
    }

    func acceptIncidentReport(_ body: [UInt8], _ context: HandlerContext) async throws -> HandlerResult {
        let envelope = context.envelope
        guard let agency = envelope.sender, !agency.isEmpty else {
            return try await reject(context, reasons: [FieldError(field: "", problem: "missing user_id property: the sending agency is unknown")])
        }
        if let refusal = try await agencies.authorize(agency, type: envelope.type, on: context.connection, logger: context.logger) {
            return try await reject(context, agency: agency, kind: "forbidden", externalID: AgencyEventReader.externalID(in: body),
                                    reasons: [FieldError(field: "", problem: refusal)])
        }
        let report: IncidentReportV1
        switch AgencyEventReader.read(IncidentReportV1.self, from: body, context) {
        case .success(let decoded): report = decoded
        case .failure(let problems):
            return try await reject(context, agency: agency, externalID: AgencyEventReader.externalID(in: body), reasons: problems.errors)
        }
        let problems = IncidentValidation.check(report)
        if !problems.isEmpty { return try await reject(context, agency: agency, externalID: report.externalID, reasons: problems) }

        let contentHash = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        let reportID = UUID().uuidString.lowercased()
        let inserted = try await context.connection.query("""
            INSERT INTO intake.reports (report_id, event_id, agency, external_id, event_type, category,
                                        immediate_danger, school_code, occurred_at, content_hash)
            VALUES (\(reportID)::uuid, \(envelope.id), \(agency), \(report.externalID), \(envelope.type),
                    \(report.category.rawValue), \(report.immediateDanger), \(report.schoolCode),
                    \(report.occurredAt), \(contentHash))
            ON CONFLICT (agency, external_id) DO NOTHING
            RETURNING 1
            """, logger: context.logger)
        var isNew = false
        for try await _ in inserted { isNew = true }
        if !isNew {
            let rows = try await context.connection.query("""
                SELECT content_hash FROM intake.reports WHERE agency = \(agency) AND external_id = \(report.externalID)
                """, logger: context.logger)
            var existing = ""
            for try await hash in rows.decode(String.self) { existing = hash }
            if existing == contentHash {
                context.logger.info("duplicate report ignored", metadata: ["intake.agency": "\(agency)"])
                try await answer(context, agency: agency, status: .duplicate, externalID: report.externalID)
                return .applied
            }
            return try await reject(context, agency: agency, kind: "conflict", externalID: report.externalID, reasons: [FieldError(
                field: "/externalId",
                problem: "this external id was already used for a report with different content; kept for review")])
        }

        var subjects: [ReportAcceptedV1.Subject] = []
        for person in report.people {
            let resolved = self.subjects.resolve(person, schoolCode: report.schoolCode)
            try await context.connection.query("""
                INSERT INTO intake.report_subjects (report_id, subject_id, role, match_kind)
                VALUES (\(reportID)::uuid, \(resolved.subjectID), \(person.role.rawValue), \(resolved.kind.rawValue))
                ON CONFLICT DO NOTHING
                """, logger: context.logger)
            subjects.append(.init(subjectID: resolved.subjectID, role: person.role))
        }
        try await context.emit(ReportAcceptedV1(
            reportID: reportID, agency: agency, externalID: report.externalID, category: report.category,
            immediateDanger: report.immediateDanger, occurredAt: report.occurredAt, schoolCode: report.schoolCode,
            subjects: subjects), subject: reportID)
        try await answer(context, agency: agency, status: .accepted, externalID: report.externalID, reportID: reportID)
        context.logger.info("report accepted", metadata: ["intake.agency": "\(agency)", "intake.report_id": "\(reportID)"])
        return .applied
    }

    /// Sends the agency its receipt, through the outbox, on `huhang.replies`.
    private func answer(
        _ context: HandlerContext, agency: String, status: IntakeReceiptV1.Status, externalID: String?,
        reasons: [FieldError] = [], reportID: String? = nil
    ) async throws {
        let receipt = IntakeReceiptV1(
            eventID: context.envelope.id, eventType: context.envelope.type, externalID: externalID, status: status,
            reasons: reasons, reportID: reportID, at: Date())
        try await EventStatus.record(receipt, agency: agency, on: context.connection, logger: context.logger)
        try await context.emit(receipt, subject: context.envelope.id, exchange: ExchangeName.replies, routingKey: agency)
    }

    /// Keeps a rejected event with its reasons; the message also goes to `intake.dead`.
    private func reject(
        _ context: HandlerContext, agency: String? = nil, kind: String = "invalid", externalID: String? = nil, reasons: [FieldError]
    ) async throws -> HandlerResult {
        let json = String(decoding: try JSONEncoder().encode(reasons), as: UTF8.self)
        try await context.connection.query("""
            INSERT INTO intake.rejections (event_id, agency, event_type, kind, reasons)
            VALUES (\(context.envelope.id), \(agency ?? context.envelope.sender), \(context.envelope.type), \(kind), \(json)::jsonb)
            """, logger: context.logger)
        if let agency = agency ?? context.envelope.sender {
            let status: IntakeReceiptV1.Status = kind == "conflict" ? .conflict : kind == "forbidden" ? .forbidden : .rejected
            try await answer(context, agency: agency, status: status, externalID: externalID, reasons: reasons)
        }
        let reason = "\(kind): " + reasons.map(\.description).joined(separator: "; ")
        context.logger.notice("event rejected", metadata: ["intake.rejection": "\(kind)", "intake.reasons": "\(reasons.count)"])
        return .setAside(reason: reason)
    }
}

/// Reads an agency's event body: JSON, then its published schema (field-level
/// reasons: which field, what was wrong, what is allowed), then the contract type.
enum AgencyEventReader {
    /// The largest body intake reads (a screening batch of 10,000 results fits).
    static let maximumBodySize = 4 * 1024 * 1024

    struct Problems: Error { var errors: [FieldError] }

    /// The `externalId` of a body that may be broken, to echo in the receipt.
    static func externalID(in body: [UInt8]) -> String? {
        guard body.count <= maximumBodySize, case .object(let object)? = try? JSONValue.parse(body),
              case .string(let id)? = object["externalId"] else { return nil }
        return String(id.prefix(128))
    }

    static func read<P: EventPayload>(_ type: P.Type, from body: [UInt8], _ context: HandlerContext) -> Result<P, Problems> {
        guard body.count <= maximumBodySize else {
            return .failure(Problems(errors: [FieldError(field: "", problem: "body is \(body.count) bytes; the limit is \(maximumBodySize)")]))
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(body)
        } catch {
            return .failure(Problems(errors: [FieldError(field: "", problem: "body is not valid JSON")]))
        }
        do {
            if let schema = try ContractSchemas.schema(for: P.eventType) {
                let errors = schema.validate(document)
                if !errors.isEmpty { return .failure(Problems(errors: errors)) }
            }
            return .success(try context.decode(P.self, from: body))
        } catch let rejection as MessageRejection {
            return .failure(Problems(errors: [FieldError(field: "", problem: rejection.reason)]))
        } catch {
            return .failure(Problems(errors: [FieldError(field: "", problem: "\(error)")]))
        }
    }
}

/// Checks an incident report beyond its JSON shape.
enum IncidentValidation {
    static func check(_ report: IncidentReportV1) -> [FieldError] {
        var problems: [FieldError] = []
        if report.externalID.isEmpty || report.externalID.count > 128 {
            problems.append(FieldError(field: "/externalId", problem: "must be 1 to 128 characters"))
        }
        if report.people.isEmpty {
            problems.append(FieldError(field: "/people", problem: "needs at least 1 person"))
        }
        if report.occurredAt > Date().addingTimeInterval(24 * 3600) {
            problems.append(FieldError(field: "/occurredAt", problem: "is in the future"))
        }
        for (index, person) in report.people.enumerated() {
            if let id = person.idNumber, id.range(of: #"^[0-9]{17}[0-9Xx]$"#, options: .regularExpression) == nil {
                problems.append(FieldError(field: "/people/\(index)/idNumber", problem: "is not an 18-character identity number"))
            }
            if person.idNumber == nil && person.studentNumber == nil && person.name == nil {
                problems.append(FieldError(field: "/people/\(index)", problem: "names nobody",
                                           allowed: "idNumber, or studentNumber with schoolCode, or name with birthDate"))
            }
        }
        return problems
    }
}
