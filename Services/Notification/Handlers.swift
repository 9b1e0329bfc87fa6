import Contracts
import Foundation
import Logging
import Messaging
import ServiceKit

/// What notification does with each event it consumes: an event someone must act on becomes a
/// ``Notice`` and, by its routing rule, deliveries (``tell(_:_:)``); a care team's announcement is kept,
/// and forgotten when the case closes.
struct NotificationHandlers: Sendable {
    let configuration: NotificationConfiguration
    let clock: any WallClock
    let cipher: PersonalDataCipher

    func register(_ handlers: inout HandlerRegistry) {
        registerNotices(&handlers)
        handlers.on(CareTeamChangedV1.self) { team, context in
            try await self.keep(team, context)
        }
        handlers.on(CaseClosedV1.self) { closed, context in
            try await CareTeamStore.forget(caseID: closed.caseID, at: closed.at, on: context.connection, logger: context.logger)
            return .applied
        }
    }

    /// The event types a routing rule may be set for: those notification tells people of, in the order registered.
    var noticeTypes: [EventType] {
        var registry = HandlerRegistry()
        return registerNotices(&registry)
    }

    /// Registers one handler per event type notification tells people of, each making the event's notice.
    /// - Returns: Those event types, in the order registered.
    @discardableResult
    private func registerNotices(_ handlers: inout HandlerRegistry) -> [EventType] {
        let taskForce = configuration.taskForceUnit
        var types: [EventType] = []
        func notify<E: EventPayload>(_ type: E.Type, _ notice: @escaping @Sendable (E) -> Notice?) {
            types.append(E.eventType)
            handlers.on(E.self) { event, context in
                try await self.tell(notice(event), context)
            }
        }
        notify(TaskAssignedV1.self) { Notices.notice(for: $0, taskForce: taskForce) }
        notify(TaskOverdueV1.self) { Notices.notice(for: $0, taskForce: taskForce) }
        notify(CaseEscalatedV1.self) { Notices.notice(for: $0, taskForce: taskForce) }
        notify(ReferralRequestedV1.self) { Notices.notice(for: $0, taskForce: taskForce) }
        notify(HazardOverdueV1.self) { Notices.notice(for: $0, taskForce: taskForce) }
        notify(RatingChangedV1.self) { Notices.notice(for: $0, taskForce: taskForce) }
        notify(FollowUpDueV1.self) { Notices.notice(for: $0, taskForce: taskForce) }
        notify(DailyDigestV1.self) { Notices.notice(for: $0, taskForce: taskForce) }
        notify(RiskAssessedV1.self) { Notices.notice(for: $0, taskForce: taskForce) }
        return types
    }

    /// Makes the deliveries a notice calls for, by its event type's routing rule; inbox ones are delivered at once.
    /// - Parameters:
    ///   - notice: What to tell; nil when the event calls for no notice.
    ///   - context: The handler's transaction.
    func tell(_ notice: Notice?, _ context: HandlerContext) async throws -> HandlerResult {
        guard let notice else { return .applied }
        let type = context.envelope.type
        let rule = try await context.readOnce("notification.rule.\(type)") {
            try await RecipientStore.rule(for: type, on: context.connection, logger: context.logger)
        }
        guard let rule else {
            return .applied
        }
        let channels = rule.channels
        let recipients = Array(Set(rule.recipients.compactMap { notice.roles[$0] })).sorted()
        let critical = notice.critical || rule.critical
        let now = clock.now()

        /// One delivery per event, recipient and channel; inbox ones delivered at once.
        func deliver(to recipient: String, by channel: String, address: String?, sealedAddress: [UInt8]?, text: String, critical: Bool) async throws {
            let deliveryID = UUID().uuidString.lowercased()
            let inbox = channel == "inbox"
            let isNew = try await DeliveryStore.insert(DeliveryStore.New(
                deliveryID: deliveryID, eventID: context.envelope.id, eventType: context.envelope.type,
                correlationID: context.envelope.correlationID, traceparent: context.envelope.traceparent, recipient: recipient,
                channel: channel, body: text, address: address, sealedAddress: sealedAddress, status: inbox ? "delivered" : "pending",
                critical: critical, nextAttemptAt: critical || channel == "webhook" ? now : configuration.notBefore(now),
                deliveredAt: inbox ? now : nil, ackDueAt: critical ? now.addingTimeInterval(configuration.ackTimeout) : nil),
                on: context.connection, logger: context.logger)
            if isNew && inbox {
                try await context.emit(NotificationDeliveredV1(
                    deliveryID: deliveryID, aboutEventID: context.envelope.id, aboutEventType: context.envelope.type,
                    recipient: recipient, channel: .inbox, deliveredAt: now), subject: deliveryID)
            }
        }

        // The rule's recipients; and the case's care team, by the contact each was named with (a guardian only where the
        // event asks something of the family).
        let careRoles = Notice.careTeamRoles(in: rule.recipients)
        let (profiles, careTeam) = try await RecipientStore.audience(
            of: recipients, channels: channels, careTeamOf: careRoles.isEmpty ? nil : notice.caseID, roles: careRoles,
            on: context.connection, logger: context.logger)
        for recipient in recipients {
            let language = profiles[recipient]?.language ?? "zh"
            // The inbox always; other channels where the recipient has an endpoint.
            var targets: [(String, String?)] = channels.contains("inbox") ? [("inbox", nil)] : []
            for (channel, address) in profiles[recipient]?.endpoints ?? [] where channel != "inbox" {
                targets.append((channel, address))
            }
            for (channel, address) in targets {
                try await deliver(to: recipient, by: channel, address: address, sealedAddress: nil, text: notice.text(language), critical: critical)
            }
        }

        for (member, recipient, language) in careTeam {
            guard let text = notice.text(language, for: member.role) else { continue }
            guard let contact = try? cipher.open(member.contact), let channel = CareTeam.channel(of: contact) else {
                context.logger.warning("care-team contact cannot be used", metadata: [
                    "notification.recipient": "\(recipient)", "notification.reason": "not openable, or neither a phone number nor an e-mail address",
                ])
                continue
            }
            guard channels.contains(channel) else { continue }
            try await deliver(
                to: recipient, by: channel, address: nil, sealedAddress: member.contact, text: text,
                critical: critical && member.role != .guardian)
        }
        return .applied
    }

    /// Keeps a care team as announced; a contact not sealed with a key this deployment holds sets the
    /// announcement aside.
    func keep(_ team: CareTeamChangedV1, _ context: HandlerContext) async throws -> HandlerResult {
        var sealed: [[UInt8]] = []
        for member in team.members {
            guard let bytes = Data(base64Encoded: member.contact).map(Array.init), (try? cipher.open(bytes)) != nil else {
                throw MessageRejection("the \(member.role.rawValue)'s contact is not sealed with a key this deployment holds")
            }
            sealed.append(bytes)
        }
        try await CareTeamStore.apply(team, sealed: sealed, on: context.connection, logger: context.logger)
        return .applied
    }
}
