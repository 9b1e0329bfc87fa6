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
public struct IntakeService: HuhangService {
    public static let name = "intake"
    public static let defaultHTTPPort = 8081
    public static let migrations = IntakeMigrations.all

    let subjects: SubjectResolver
    let agencies: AgencyRegistry
    let database: Database
    /// The time of day (the injected clock, as in every service).
    let clock: any WallClock

    let cipher: PersonalDataCipher

    public init(context: ServiceContext) throws {
        subjects = try SubjectResolver(configuration: IntakeConfiguration(), logger: context.logger)
        cipher = try PersonalDataCipher.fromEnvironment(logger: context.logger)
        agencies = AgencyRegistry(database: context.database)
        database = context.database
        clock = context.clock
    }

    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>, events: EventDispatcher) {
        AgencyRoutes.add(to: v1, registry: agencies)
        GatewayRoutes.add(to: v1, events: events, status: EventStatus(database: database), agencies: agencies)
        IdentityRoutes.add(to: v1, database: database, cipher: cipher)
        MatchRoutes.add(to: v1, database: database)
        IntakeStatisticsRoutes.add(to: v1, database: database, clock: clock)
    }

    public func register(_ handlers: inout HandlerRegistry) {
        func accept<E: IntakeRules>(_ type: E.Type) {
            handlers.onRaw(E.eventType, from: ExchangeName.intake) { body, context in
                try await self.accept(E.self, body, context)
            }
        }
        accept(IncidentReportV1.self)
        accept(HotlineCallV1.self)
        accept(ScreeningBatchV1.self)
        accept(AttendanceSignalV1.self)
        accept(FamilySituationV1.self)
        accept(VenueFindingV1.self)
        accept(CaseLeadV1.self)
        accept(TaskFeedbackV1.self)
        accept(InspectionReportV1.self)
        handlers.on(EventRefusedV1.self) { refused, context in
            try await self.tellRefusal(refused, context)
            return .applied
        }
    }

    /// A service could not apply an event intake accepted: the sending agency gets a second receipt,
    /// `rejected`, naming the service and why, and `GET /v1/events/{id}` says the same from then on.
    func tellRefusal(_ refused: EventRefusedV1, _ context: HandlerContext) async throws {
        let rows = try await context.connection.query("""
            SELECT event_id, agency, event_type, external_id FROM intake.accepted WHERE intake_id::text = \(refused.intakeID)
            """, logger: context.logger)
        var found: (eventID: String, agency: String, type: String, externalID: String)?
        for try await row in rows.decode((String, String, String, String).self) { found = row }
        guard let found else {
            context.logger.warning("refusal of an event intake did not accept", metadata: ["intake.id": "\(refused.intakeID)"])
            return
        }
        let receipt = IntakeReceiptV1(
            eventID: found.eventID, eventType: found.type, externalID: found.externalID, status: .rejected, reasons: refused.reasons,
            reportID: refused.intakeID, at: refused.at, refusedBy: refused.service)
        try await context.connection.query("""
            UPDATE intake.event_status SET status = 'rejected', reasons = \(String(decoding: try JSONEncoder().encode(refused.reasons), as: UTF8.self))::jsonb,
                   refused_by = \(refused.service), at = \(refused.at)
            WHERE event_id = \(found.eventID) AND agency = \(found.agency)
            """, logger: context.logger)
        try await context.emit(receipt, subject: found.eventID, exchange: ExchangeName.replies, routingKey: found.agency)
        context.logger.notice("agency told of a refusal", metadata: [
            "intake.agency": "\(found.agency)", "intake.type": "\(found.type)", "intake.refused_by": "\(refused.service)",
        ])
    }

    /// Takes in one agency event: who sent it, may they, is it valid, is it
    /// new; then its people become subject ids, it is passed on as domain
    /// events and the agency gets its receipt — all in the handler's one transaction.
    func accept<E: IntakeRules>(_ type: E.Type, _ body: [UInt8], _ context: HandlerContext) async throws -> HandlerResult {
        let envelope = context.envelope
        guard let agency = envelope.sender, !agency.isEmpty else {
            return try await reject(context, reasons: [FieldError(field: "", problem: "missing user_id property: the sending agency is unknown")])
        }
        let unit: String
        switch try await agencies.authorize(agency, type: envelope.type, on: context.connection, logger: context.logger) {
        case .refused(let refusal):
            return try await reject(context, agency: agency, kind: "forbidden", externalID: AgencyEventReader.externalID(in: body),
                                    reasons: [FieldError(field: "", problem: refusal)])
        case .allowed(let allowed, _):
            unit = allowed
        }
        let now = clock.now()
        let read: AgencyEventReader.Read<E>
        switch AgencyEventReader.read(E.self, from: body, now: now, context) {
        case .success(let value): read = value
        case .failure(let problems):
            return try await reject(context, agency: agency, externalID: AgencyEventReader.externalID(in: body), reasons: problems.errors)
        }
        let event = read.value

        let contentHash = Hex.string(SHA256.hash(data: body))
        let intakeID = UUID().uuidString.lowercased()
        // People become subject ids, and the domain events are made, before the
        // claim, so that claim and subject links are one statement.
        var collecting = Acceptance(intakeID: intakeID, agency: agency, unit: unit, now: now, resolver: subjects, cipher: cipher)
        _ = try event.passOn(&collecting)
        let resolution = try await IdentifierRegistry.resolve(collecting.named, on: context.connection, logger: context.logger)
        var acceptance = Acceptance(
            intakeID: intakeID, agency: agency, unit: unit, now: now, resolver: subjects, cipher: cipher, resolution: resolution)
        acceptance.rejectedRows = read.rejectedRows
        let outgoing = try event.passOn(&acceptance)
        let isNew = try await acceptance.claim(
            eventID: envelope.id, type: envelope.type, externalID: event.externalID, contentHash: contentHash,
            on: context.connection, logger: context.logger)
        if !isNew {
            let rows = try await context.connection.query("""
                SELECT content_hash FROM intake.accepted
                WHERE agency = \(agency) AND event_type = \(envelope.type) AND external_id = \(event.externalID)
                """, logger: context.logger)
            var existing = ""
            for try await hash in rows.decode(String.self) { existing = hash }
            if existing == contentHash {
                context.logger.info("duplicate event ignored", metadata: ["intake.agency": "\(agency)", "intake.type": "\(envelope.type)"])
                try await answer(context, agency: agency, status: .duplicate, externalID: event.externalID)
                return .applied
            }
            return try await reject(context, agency: agency, kind: "conflict", externalID: event.externalID, reasons: [FieldError(
                field: "/externalId",
                problem: "this external id was already used for an event of this type with different content; kept for review")])
        }

        for item in outgoing {
            try await emit(item.payload, subject: item.subject, context)
        }
        try await answer(context, agency: agency, status: .accepted, externalID: event.externalID, reasons: read.rowProblems,
                         reportID: intakeID, rows: E.rows == nil ? nil : (event.rowCount, read.rejectedRows))
        context.logger.info("event accepted", metadata: [
            "intake.agency": "\(agency)", "intake.type": "\(envelope.type)", "intake.id": "\(intakeID)",
            "intake.subjects": "\(acceptance.links.count)", "intake.rejected_rows": "\(read.rejectedRows)",
        ])
        return .applied
    }

    private func emit(_ payload: some EventPayload, subject: String?, _ context: HandlerContext) async throws {
        try await context.emit(payload, subject: subject)
    }

    /// Sends the agency its receipt, through the outbox, on `huhang.replies`.
    private func answer(
        _ context: HandlerContext, agency: String, status: IntakeReceiptV1.Status, externalID: String?,
        reasons: [FieldError] = [], reportID: String? = nil, rows: (accepted: Int, rejected: Int)? = nil
    ) async throws {
        let receipt = IntakeReceiptV1(
            eventID: context.envelope.id, eventType: context.envelope.type, externalID: externalID, status: status,
            reasons: reasons, reportID: reportID, at: clock.now(), acceptedRows: rows?.accepted, rejectedRows: rows?.rejected)
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
/// reasons: which field, what was wrong, what is allowed), then the contract
/// type and its ``IntakeRules``. For a batch accepted in part, invalid rows are
/// left out and listed instead of failing the whole.
enum AgencyEventReader {
    /// The largest body intake reads (a screening batch of 10,000 results fits).
    static let maximumBodySize = 4 * 1024 * 1024

    struct Problems: Error { var errors: [FieldError] }

    struct Read<E> {
        var value: E
        /// Why rows were left out, by their index in what the agency sent.
        var rowProblems: [FieldError]
        var rejectedRows: Int
    }

    /// The `externalId` of a body that may be broken, to echo in the receipt.
    static func externalID(in body: [UInt8]) -> String? {
        guard body.count <= maximumBodySize, case .object(let object)? = try? JSONValue.parse(body),
              case .string(let id)? = object["externalId"] else { return nil }
        return String(id.prefix(128))
    }

    static func read<E: IntakeRules>(_ type: E.Type, from body: [UInt8], now: Date, _ context: HandlerContext) -> Result<Read<E>, Problems> {
        guard body.count <= maximumBodySize else {
            return .failure(Problems(errors: [FieldError(field: "", problem: "body is \(body.count) bytes; the limit is \(maximumBodySize)")]))
        }
        var document: JSONValue
        do {
            document = try JSONValue.parse(body)
        } catch {
            return .failure(Problems(errors: [FieldError(field: "", problem: "body is not valid JSON")]))
        }
        do {
            var bytes = body
            var rowProblems: [(row: Int, error: FieldError)] = []
            var kept: [Int] = []
            if let schema = try ContractSchemas.schema(for: E.eventType) {
                let (rows, whole) = partition(schema.validate(document), rows: E.rows)
                if !whole.isEmpty { return .failure(Problems(errors: whole + rows.map(\.error))) }
                rowProblems = rows
                if let pointer = E.rows, case .object(var object) = document, case .array(let items)? = object[String(pointer.dropFirst())] {
                    let bad = Set(rows.map(\.row))
                    kept = items.indices.filter { !bad.contains($0) }
                    if !bad.isEmpty {
                        object[String(pointer.dropFirst())] = .array(kept.map { items[$0] })
                        document = .object(object)
                        bytes = Array(try JSONEncoder().encode(document))
                    }
                }
            }
            var value = try context.decode(E.self, from: bytes)
            let (rows, whole) = partition(value.problems(now: now), rows: E.rows)
            if !whole.isEmpty { return .failure(Problems(errors: whole + rowProblems.map(\.error) + rows.map(\.error))) }
            if !rows.isEmpty, let pointer = E.rows {
                value = value.dropping(rows: Set(rows.map(\.row)))
                // Report each row by its index in what the agency sent.
                for (row, error) in rows {
                    let original = kept.indices.contains(row) ? kept[row] : row
                    let rest = error.field.dropFirst(pointer.count + 1).drop { $0 != "/" }
                    rowProblems.append((original, FieldError(field: "\(pointer)/\(original)\(rest)", problem: error.problem, allowed: error.allowed)))
                }
            }
            rowProblems.sort { $0.row < $1.row }
            let rejected = Set(rowProblems.map(\.row)).count
            if let pointer = E.rows, rejected > 0, value.rowCount == 0 {
                return .failure(Problems(errors: rowProblems.map(\.error) + [FieldError(field: pointer, problem: "has no valid row")]))
            }
            return .success(Read(value: value, rowProblems: rowProblems.map(\.error), rejectedRows: rejected))
        } catch let rejection as MessageRejection {
            return .failure(Problems(errors: [FieldError(field: "", problem: rejection.reason)]))
        } catch {
            return .failure(Problems(errors: [FieldError(field: "", problem: "\(error)")]))
        }
    }

    /// Splits errors into those inside a row of `rows` (with the row's index) and the rest.
    static func partition(_ errors: [FieldError], rows: String?) -> (rows: [(row: Int, error: FieldError)], whole: [FieldError]) {
        guard let rows else { return ([], errors) }
        var inRows: [(row: Int, error: FieldError)] = []
        var whole: [FieldError] = []
        for error in errors {
            if error.field.hasPrefix(rows + "/"),
               let index = Int(error.field.dropFirst(rows.count + 1).prefix { $0 != "/" }) {
                inRows.append((index, error))
            } else {
                whole.append(error)
            }
        }
        return (inRows, whole)
    }
}
