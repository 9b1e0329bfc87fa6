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

    /// A batch's agency events, taken in together (``accept(together:)``): each as its check, which refuses nothing
    /// (a refusal sends the batch one by one).
    static let agencyEvents = HandlerGroup<@Sendable () async throws -> Checked>("intake.agency-events")
    /// The agencies' event types intake takes in.
    static let agencyEventTypes: [any IntakeRules.Type] = [
        IncidentReportV1.self, HotlineCallV1.self, ScreeningBatchV1.self, AttendanceSignalV1.self, FamilySituationV1.self,
        VenueFindingV1.self, CaseLeadV1.self, TaskFeedbackV1.self, InspectionReportV1.self,
    ]

    func register(_ handlers: inout HandlerRegistry) {
        func accept<E: IntakeRules>(_ type: E.Type) {
            handlers.onRaw(E.eventType, from: ExchangeName.intake, in: Self.agencyEvents, item: { body, context in
                { try await self.check(E.self, body, context, refuse: false) }
            }) { body, context in
                try await self.accept(E.self, body, context)
            }
        }
        handlers.together(Self.agencyEvents) { events in try await self.accept(together: events) }
        for type in Self.agencyEventTypes { accept(type) }
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

    /// An agency event checked and read, its people named but not yet resolved: what taking it in needs before
    /// the registry's answer and the claim.
    struct Taking {
        var context: HandlerContext
        var agency: String
        var named: [IdentifierKeys]
        /// Makes the claim and the events to pass on, once the event's people are resolved.
        var resolved: (IdentifierRegistry.Resolution) throws -> (claim: EventStore.Claim, outgoing: [Outgoing])
    }

    /// What checking an agency event came to: taken (to be resolved and claimed), or refused (``reject(_:agency:kind:externalID:reasons:)``
    /// has recorded why, when the refusal was asked for).
    enum Checked {
        case taking(Taking)
        case refused(HandlerResult)
    }

    /// A batch of agency events went a way the batch does not take (one is refused, or its external id was taken before):
    /// the batch runs again with each event alone.
    struct OneByOne: Error {}

    /// Who sent it, may they, is it valid; then its people are named (hashed), ready for the registry.
    /// - Parameters:
    ///   - refuse: Record a refusal and return it; when false, throw ``OneByOne`` instead.
    func check<E: IntakeRules>(_ type: E.Type, _ body: [UInt8], _ context: HandlerContext, refuse: Bool) async throws -> Checked {
        let envelope = context.envelope
        guard let agency = envelope.sender, !agency.isEmpty else {
            guard refuse else { throw OneByOne() }
            return .refused(try await reject(context, reasons: [FieldError(field: "", problem: "missing user_id property: the sending agency is unknown")]))
        }
        let unit: String
        let authorization = try await context.readOnce("intake.authorization.\(agency).\(envelope.type)") {
            try await agencies.authorize(agency, type: envelope.type, on: context.connection, logger: context.logger)
        }
        switch authorization {
        case .refused(let refusal):
            guard refuse else { throw OneByOne() }
            return .refused(try await reject(context, agency: agency, kind: "forbidden", externalID: AgencyEventReader.externalID(in: body),
                                             reasons: [FieldError(field: "", problem: refusal)]))
        case .allowed(let allowed, _):
            unit = allowed
        }
        let now = clock.now()
        let read: AgencyEventReader.Read<E>
        switch AgencyEventReader.read(E.self, from: body, now: now, context) {
        case .success(let value): read = value
        case .failure(let problems):
            guard refuse else { throw OneByOne() }
            return .refused(try await reject(context, agency: agency, externalID: AgencyEventReader.externalID(in: body), reasons: problems.errors))
        }
        let event = read.value
        let contentHash = Hex.string(SHA256.hash(data: body))
        let intakeID = UUID().uuidString.lowercased()
        // People become subject ids, and the domain events are made, before the
        // claim, so that claim and subject links are one statement.
        var collecting = Acceptance(intakeID: intakeID, agency: agency, unit: unit, now: now, resolver: subjects, cipher: cipher)
        _ = try event.passOn(&collecting)
        let named = collecting.named
        return .taking(Taking(context: context, agency: agency, named: named) { resolution in
            var acceptance = Acceptance(
                intakeID: intakeID, agency: agency, unit: unit, now: now, resolver: subjects, cipher: cipher, resolution: resolution,
                named: named)
            acceptance.rejectedRows = read.rejectedRows
            let outgoing = try event.passOn(&acceptance)
            // The receipt is kept with the claim, in its statement; sent after the events it announces.
            let receipt = receipt(
                context, status: .accepted, externalID: event.externalID, reasons: read.rowProblems, reportID: intakeID,
                rows: E.rows == nil ? nil : (event.rowCount, read.rejectedRows))
            return (EventStore.Claim(
                acceptance: acceptance, eventID: envelope.id, type: envelope.type, externalID: event.externalID, contentHash: contentHash,
                receipt: receipt), outgoing)
        })
    }

    /// Takes in one agency event: who sent it, may they, is it valid, is it
    /// new; then its people become subject ids, it is passed on as domain
    /// events and the agency gets its receipt — all in the handler's one transaction.
    func accept<E: IntakeRules>(_ type: E.Type, _ body: [UInt8], _ context: HandlerContext) async throws -> HandlerResult {
        let taking: Taking
        switch try await check(E.self, body, context, refuse: true) {
        case .refused(let result): return result
        case .taking(let checked): taking = checked
        }
        let resolution = try await IdentityStore.resolve(taking.named, on: context.connection, logger: context.logger)
        let (claim, outgoing) = try taking.resolved(resolution)
        let isNew = try await EventStore.claim([claim], on: context.connection, logger: context.logger).contains(claim.acceptance.intakeID)
        if !isNew {
            let agency = taking.agency
            let existing = try await EventStore.claimedHash(
                agency: agency, type: claim.type, externalID: claim.externalID, on: context.connection, logger: context.logger)
            if existing == claim.contentHash {
                context.logger.info("duplicate event ignored", metadata: ["intake.agency": "\(agency)", "intake.type": "\(claim.type)"])
                try await answer(context, agency: agency, status: .duplicate, externalID: claim.externalID)
                return .applied
            }
            return try await reject(context, agency: agency, kind: "conflict", externalID: claim.externalID, reasons: [FieldError(
                field: "/externalId",
                problem: "this external id was already used for an event of this type with different content; kept for review")])
        }
        try await pass(claim, outgoing, context)
        return .applied
    }

    /// Takes in a batch's agency events together, as ``accept(_:_:_:)`` takes in each, in three statements for all of
    /// them: the registry's answer for everyone they name, the claims with their subject links and receipts, and
    /// (by the dispatcher) the outbox. The people of each are resolved in the batch's order, each event seeing the
    /// identifiers the ones before it taught the registry, as it would one by one. Should one of them be refused,
    /// or its external id be taken, the batch runs again with each event alone (``OneByOne``).
    func accept(together events: [(item: @Sendable () async throws -> Checked, context: HandlerContext)]) async throws {
        guard let first = events.first?.context else { return }
        var takings: [Taking] = []
        for (check, _) in events {
            guard case .taking(let taking) = try await check() else { throw OneByOne() }
            takings.append(taking)
        }
        var known = try await IdentityStore.known(takings.flatMap(\.named), on: first.connection, logger: first.logger)
        var ready: [(claim: EventStore.Claim, outgoing: [Outgoing], context: HandlerContext)] = []
        for taking in takings {
            let resolution = IdentifierRegistry.plan(taking.named, known: known)
            known = resolution.known
            let (claim, outgoing) = try taking.resolved(resolution)
            ready.append((claim, outgoing, taking.context))
        }
        let claimed = try await EventStore.claim(ready.map(\.claim), on: first.connection, logger: first.logger)
        guard claimed.count == ready.count else { throw OneByOne() }
        for (claim, outgoing, context) in ready {
            try await pass(claim, outgoing, context)
        }
    }

    /// Passes a claimed event on: its domain events, then the agency's receipt.
    private func pass(_ claim: EventStore.Claim, _ outgoing: [Outgoing], _ context: HandlerContext) async throws {
        for item in outgoing {
            try await emit(item.payload, subject: item.subject, context)
        }
        try await context.emit(claim.receipt, subject: context.envelope.id, exchange: ExchangeName.replies, routingKey: claim.acceptance.agency)
        context.logger.info("event accepted", metadata: [
            "intake.agency": "\(claim.acceptance.agency)", "intake.type": "\(claim.type)", "intake.id": "\(claim.acceptance.intakeID)",
            "intake.subjects": "\(claim.acceptance.links.count)", "intake.rejected_rows": "\(claim.acceptance.rejectedRows)",
        ])
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
