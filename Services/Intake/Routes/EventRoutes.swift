import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import ServiceKit

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
struct EventRoutes {
    /// Runs intake's own handlers on what arrives over HTTP, as the consumer does for the bus.
    let dispatcher: EventDispatcher
    let events: EventStore
    let agencies: AgencyStore

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .post(use: receive)
            .get(":id", use: receipt)
    }

    @Sendable func receipt(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let id = try context.parameters.require("id")
        guard let receipt = try await events.receipt(eventID: id, agency: identity.agency) else {
            throw HTTPError(.notFound, message: "no event \(id) from \(identity.agency)")
        }
        return try JSONResponse.make(receipt)
    }

    @Sendable func receive(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try identity.require(.agency, otherwise: "events are sent with an agency's token (role agency)")
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
        // A declared length over the limit is refused before a byte of the body is read; a body without one
        // (chunked) is refused as soon as it passes the limit.
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > AgencyEventReader.maximumBodySize {
            throw HTTPError(.contentTooLarge, message: "the body is \(declared) bytes; the limit is \(AgencyEventReader.maximumBodySize)")
        }
        let body: [UInt8]
        do {
            // The collected buffer is let go once copied out, so the body is held once while it is handled.
            body = Array(buffer: try await request.body.collect(upTo: AgencyEventReader.maximumBodySize))
        } catch {
            throw HTTPError(.contentTooLarge, message: "the body is larger than \(AgencyEventReader.maximumBodySize) bytes")
        }
        var envelope = EventEnvelope(
            id: id, type: type, source: identity.agency,
            traceparent: request.headers[HTTPField.Name("traceparent")!].flatMap { TraceContext(traceparent: $0)?.traceparent }
                ?? TraceContext.random().traceparent)
        envelope.sender = identity.agency
        let outcome = await dispatcher.dispatch(envelope, body: body, holdWhileUnavailable: false)
        switch outcome {
        case .applied, .duplicate, .setAside(_):
            guard let receipt = try await events.receipt(eventID: id, agency: identity.agency) else {
                // The id was used before by another agency.
                throw HTTPError(.conflict, message: "ce-id \(id) is already taken; use a new id")
            }
            return try JSONResponse.make(receipt, status: Self.httpStatus(receipt.status))
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
