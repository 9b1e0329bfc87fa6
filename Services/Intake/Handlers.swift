import Contracts
import Crypto
import Foundation
import Logging
import Messaging
import ServiceKit

/// What intake does with each event it consumes: an agency's event is taken in (``accept(_:_:_:)``),
/// a later service's refusal of one becomes the agency's second receipt.
struct IntakeHandlers: Sendable {
    let subjects: SubjectResolver
    let agencies: AgencyStore
    let cipher: PersonalDataCipher
    let clock: any WallClock

    func register(_ handlers: inout HandlerRegistry) {
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
        guard let found = try await EventStore.accepted(intakeID: refused.intakeID, on: context.connection, logger: context.logger) else {
            context.logger.warning("refusal of an event intake did not accept", metadata: ["intake.id": "\(refused.intakeID)"])
            return
        }
        let receipt = IntakeReceiptV1(
            eventID: found.eventID, eventType: found.eventType, externalID: found.externalID, status: .rejected, reasons: refused.reasons,
            reportID: refused.intakeID, at: refused.at, refusedBy: refused.service)
        try await EventStore.markRefused(refused, event: found, on: context.connection, logger: context.logger)
        try await context.emit(receipt, subject: found.eventID, exchange: ExchangeName.replies, routingKey: found.agency)
        context.logger.notice("agency told of a refusal", metadata: [
            "intake.agency": "\(found.agency)", "intake.type": "\(found.eventType)", "intake.refused_by": "\(refused.service)",
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
        let authorization = try await context.readOnce("intake.authorization.\(agency).\(envelope.type)") {
            try await agencies.authorize(agency, type: envelope.type, on: context.connection, logger: context.logger)
        }
        switch authorization {
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
        let resolution = try await IdentityStore.resolve(collecting.named, on: context.connection, logger: context.logger)
        var acceptance = Acceptance(
            intakeID: intakeID, agency: agency, unit: unit, now: now, resolver: subjects, cipher: cipher, resolution: resolution,
            named: collecting.named)
        acceptance.rejectedRows = read.rejectedRows
        let outgoing = try event.passOn(&acceptance)
        // The receipt is kept with the claim, in its statement; sent after the events it announces.
        let receipt = receipt(
            context, status: .accepted, externalID: event.externalID, reasons: read.rowProblems, reportID: intakeID,
            rows: E.rows == nil ? nil : (event.rowCount, read.rejectedRows))
        let isNew = try await EventStore.claim(
            acceptance, eventID: envelope.id, type: envelope.type, externalID: event.externalID, contentHash: contentHash, receipt: receipt,
            on: context.connection, logger: context.logger)
        if !isNew {
            let existing = try await EventStore.claimedHash(
                agency: agency, type: envelope.type, externalID: event.externalID, on: context.connection, logger: context.logger)
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
        try await context.emit(receipt, subject: context.envelope.id, exchange: ExchangeName.replies, routingKey: agency)
        context.logger.info("event accepted", metadata: [
            "intake.agency": "\(agency)", "intake.type": "\(envelope.type)", "intake.id": "\(intakeID)",
            "intake.subjects": "\(acceptance.links.count)", "intake.rejected_rows": "\(read.rejectedRows)",
        ])
        return .applied
    }

    private func emit(_ payload: some EventPayload, subject: String?, _ context: HandlerContext) async throws {
        try await context.emit(payload, subject: subject)
    }

    /// Keeps the agency's receipt and sends it, through the outbox, on `huhang.replies`.
    private func answer(
        _ context: HandlerContext, agency: String, status: IntakeReceiptV1.Status, externalID: String?,
        reasons: [FieldError] = [], reportID: String? = nil, rows: (accepted: Int, rejected: Int)? = nil
    ) async throws {
        let receipt = receipt(context, status: status, externalID: externalID, reasons: reasons, reportID: reportID, rows: rows)
        try await EventStore.record(receipt, agency: agency, on: context.connection, logger: context.logger)
        try await context.emit(receipt, subject: context.envelope.id, exchange: ExchangeName.replies, routingKey: agency)
    }

    /// The receipt for the event being handled.
    private func receipt(
        _ context: HandlerContext, status: IntakeReceiptV1.Status, externalID: String?,
        reasons: [FieldError] = [], reportID: String? = nil, rows: (accepted: Int, rejected: Int)? = nil
    ) -> IntakeReceiptV1 {
        IntakeReceiptV1(
            eventID: context.envelope.id, eventType: context.envelope.type, externalID: externalID, status: status,
            reasons: reasons, reportID: reportID, at: clock.now(), acceptedRows: rows?.accepted, rejectedRows: rows?.rejected)
    }

    /// Keeps a rejected event with its reasons; the message also goes to `intake.dead`.
    private func reject(
        _ context: HandlerContext, agency: String? = nil, kind: String = "invalid", externalID: String? = nil, reasons: [FieldError]
    ) async throws -> HandlerResult {
        try await EventStore.recordRejection(
            eventID: context.envelope.id, agency: agency ?? context.envelope.sender, type: context.envelope.type, kind: kind,
            reasons: reasons, on: context.connection, logger: context.logger)
        if let agency = agency ?? context.envelope.sender {
            let status: IntakeReceiptV1.Status = kind == "conflict" ? .conflict : kind == "forbidden" ? .forbidden : .rejected
            try await answer(context, agency: agency, status: status, externalID: externalID, reasons: reasons)
        }
        let reason = "\(kind): " + reasons.map(\.description).joined(separator: "; ")
        context.logger.notice("event rejected", metadata: ["intake.rejection": "\(kind)", "intake.reasons": "\(reasons.count)"])
        return .setAside(reason: reason)
    }
}
