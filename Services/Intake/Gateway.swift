import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// The answer intake gave about each event, for `GET /v1/events/{id}` and the gateway's replies.
struct EventStatus: Sendable {
    let database: Database

    static func record(_ receipt: IntakeReceiptV1, agency: String, on connection: PostgresConnection, logger: Logger) async throws {
        let reasons = String(decoding: try JSONEncoder().encode(receipt.reasons), as: UTF8.self)
        try await connection.query("""
            INSERT INTO intake.event_status (event_id, agency, event_type, external_id, status, reasons, report_id, at, accepted_rows, rejected_rows)
            VALUES (\(receipt.eventID), \(agency), \(receipt.eventType), \(receipt.externalID), \(receipt.status.rawValue),
                    \(reasons)::jsonb, \(receipt.reportID), \(receipt.at), \(receipt.acceptedRows), \(receipt.rejectedRows))
            ON CONFLICT (event_id) DO NOTHING
            """, logger: logger)
    }

    /// The receipt for an event, if the agency sent it.
    func receipt(eventID: String, agency: String) async throws -> IntakeReceiptV1? {
        let rows = try await database.query("""
            SELECT event_type, external_id, status, reasons::text, report_id, at, refused_by, accepted_rows, rejected_rows FROM intake.event_status
            WHERE event_id = \(eventID) AND agency = \(agency)
            """, logger: database.logger)
        for try await (type, externalID, status, reasons, reportID, at, refusedBy, acceptedRows, rejectedRows)
            in rows.decode((String, String?, String, String, String?, Date, String?, Int?, Int?).self) {
            return IntakeReceiptV1(
                eventID: eventID, eventType: type, externalID: externalID, status: IntakeReceiptV1.Status(rawValue: status) ?? .rejected,
                reasons: (try? JSONDecoder().decode([FieldError].self, from: Data(reasons.utf8))) ?? [], reportID: reportID, at: at,
                refusedBy: refusedBy, acceptedRows: acceptedRows, rejectedRows: rejectedRows)
        }
        return nil
    }
}

/// The HTTP gateway, for agencies that cannot speak AMQP: the same events,
/// validation, registry and idempotency as the bus, with the receipt as the
/// response.
///
///     POST /v1/events
///     Authorization: Bearer <token for the agency, role "agency">
///     ce-type: report.incident.v1          (CloudEvents HTTP binding, binary mode)
///     ce-id: <unique id>                   (optional; a new one is made)
///     traceparent: <W3C trace context>     (optional)
///     Content-Type: application/json
///
/// Answers 202 accepted, 200 duplicate, 400 rejected, 403 forbidden, 409
/// conflict — each with the receipt — or 503 when the database is away.
/// `GET /v1/events/{id}` gives the receipt again, only to the agency that sent it.
enum GatewayRoutes {
    static func add(to v1: RouterGroup<HuhangRequestContext>, events: EventDispatcher, status: EventStatus, agencies: AgencyRegistry) {
        v1.post("events") { request, context in
            try await receive(request, context, events: events, status: status, agencies: agencies)
        }
        v1.get("events/:id") { _, context in
            let identity = try context.requireIdentity()
            let id = try context.parameters.require("id")
            guard let receipt = try await status.receipt(eventID: id, agency: identity.agency) else {
                throw HTTPError(.notFound, message: "no event \(id) from \(identity.agency)")
            }
            return try JSONResponse.make(receipt)
        }
    }

    static func receive(
        _ request: Request, _ context: HuhangRequestContext, events: EventDispatcher, status: EventStatus, agencies: AgencyRegistry
    ) async throws -> Response {
        let identity = try context.requireIdentity()
        guard identity.role == "agency" else {
            throw HTTPError(.forbidden, message: "events are sent with an agency's token (role agency)")
        }
        guard let type = request.headers[HTTPField.Name("ce-type")!], EventType(name: type) != nil else {
            let types = Contracts.agencyPayloads.map { $0.eventType.name }.sorted().joined(separator: ", ")
            throw HTTPError(.badRequest, message: "the ce-type header names the event type: one of \(types)")
        }
        // Checked before anything else, as the broker's routing does on the bus.
        if case .refused(let refusal) = try await agencies.authorize(identity.agency, type: type) {
            throw HTTPError(.forbidden, message: refusal)
        }
        let id = request.headers[HTTPField.Name("ce-id")!].flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
            ?? UUID().uuidString.lowercased()
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: AgencyEventReader.maximumBodySize)
        } catch {
            throw HTTPError(.contentTooLarge, message: "the body is larger than \(AgencyEventReader.maximumBodySize) bytes")
        }
        var envelope = EventEnvelope(
            id: id, type: type, source: identity.agency,
            traceparent: request.headers[HTTPField.Name("traceparent")!].flatMap { TraceContext(traceparent: $0)?.traceparent }
                ?? TraceContext.random().traceparent)
        envelope.sender = identity.agency
        let outcome = await events.dispatch(envelope, body: Array(buffer: body), holdWhileUnavailable: false)
        switch outcome {
        case .applied, .duplicate, .setAside(_):
            guard let receipt = try await status.receipt(eventID: id, agency: identity.agency) else {
                // The id was used before by another agency.
                throw HTTPError(.conflict, message: "ce-id \(id) is already taken; use a new id")
            }
            return try JSONResponse.make(receipt, status: httpStatus(receipt.status))
        case .rejected(let reason):
            throw HTTPError(.badRequest, message: reason)
        case .failed:
            throw HTTPError(.internalServerError, message: "the event could not be handled; send it again with the same ce-id")
        case .unavailable:
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "5"], message: "try again shortly with the same ce-id")
        }
    }

    static func httpStatus(_ status: IntakeReceiptV1.Status) -> HTTPResponse.Status {
        switch status {
        case .accepted: .accepted
        case .duplicate: .ok
        case .conflict: .conflict
        case .rejected: .badRequest
        case .forbidden: .forbidden
        }
    }
}
