import Contracts
import Foundation
import Logging
import Messaging
import ServiceKit

/// What notification does with each event it consumes: an event someone must act on becomes a
/// ``Notice`` and, by its routing rule, deliveries (``tell(_:)``); a care team's announcement is kept,
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

    /// The events notification tells people of, each made into its notice (nil when it calls for none).
    static let notices = HandlerGroup<Notice?>("notification.notices")

    /// Registers the event types notification tells people of, each making the event's notice; a batch's notices
    /// are told together (``tell(_:)``).
    /// - Returns: Those event types, in the order registered.
    @discardableResult
    private func registerNotices(_ handlers: inout HandlerRegistry) -> [EventType] {
        let taskForce = configuration.taskForceUnit
        var types: [EventType] = []
        func notify<E: EventPayload>(_ type: E.Type, _ notice: @escaping @Sendable (E) -> Notice?) {
            types.append(E.eventType)
            handlers.on(E.self, in: Self.notices) { event, _ in notice(event) }
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
        // Only critical assessments are told: only they reach the queue (and, from a replica of the version before,
        // every tier under the plain name).
        handlers.bind(RiskAssessedV1.self, only: [RiskAssessedV1.eventType.routingKey, RiskAssessedV1.routingKey(.critical)])
        handlers.together(Self.notices) { notices in try await self.tell(notices) }
        return types
    }

    /// Makes the deliveries the notices of a batch call for, each by its event type's routing rule: who they go
    /// to is read in one statement and the deliveries written in one; inbox ones are delivered at once.
    /// - Parameter notices: Each event's notice (nil when it calls for none), with the event's context.
    func tell(_ notices: [(item: Notice?, context: HandlerContext)]) async throws {
        struct Told {
            var notice: Notice
            var context: HandlerContext
            var rule: NoticeRule
            var recipients: [String]
            var careRoles: Set<CareTeamChangedV1.Member.Role>
        }
        var told: [Told] = []
        for case let (notice?, context) in notices {
            let type = context.envelope.type
            let rule = try await context.readOnce("notification.rule.\(type)") {
                try await RecipientStore.rule(for: type, on: context.connection, logger: context.logger)
            }
            guard let rule else { continue }
            told.append(Told(
                notice: notice, context: context, rule: rule,
                recipients: Array(Set(rule.recipients.compactMap { notice.roles[$0] })).sorted(),
                careRoles: Notice.careTeamRoles(in: rule.recipients)))
        }
        guard let first = told.first?.context else { return }

        // The rules' recipients; and the cases' care teams, by the contact each was named with (a guardian only where the
        // event asks something of the family).
        let careTeams = told.compactMap { told -> (caseID: String, roles: Set<CareTeamChangedV1.Member.Role>)? in
            guard let caseID = told.notice.caseID, !told.careRoles.isEmpty else { return nil }
            return (caseID, told.careRoles)
        }
        let (profiles, teams) = try await RecipientStore.audience(
            of: Array(Set(told.flatMap(\.recipients))).sorted(), channels: Array(Set(told.flatMap(\.rule.channels))).sorted(),
            careTeams: careTeams, on: first.connection, logger: first.logger)

        let now = clock.now()
        var deliveries: [DeliveryStore.New] = []
        var byDelivery: [String: HandlerContext] = [:]
        for entry in told {
            let (notice, context, channels) = (entry.notice, entry.context, entry.rule.channels)
            let critical = notice.critical || entry.rule.critical
            /// One delivery per event, recipient and channel; inbox ones delivered at once.
            func deliver(to recipient: String, by channel: String, address: String?, sealedAddress: [UInt8]?, text: String, critical: Bool) {
                let deliveryID = UUID().uuidString.lowercased()
                let inbox = channel == "inbox"
                deliveries.append(DeliveryStore.New(
                    deliveryID: deliveryID, eventID: context.envelope.id, eventType: context.envelope.type,
                    correlationID: context.envelope.correlationID, traceparent: context.envelope.traceparent, recipient: recipient,
                    channel: channel, body: text, address: address, sealedAddress: sealedAddress, status: inbox ? "delivered" : "pending",
                    critical: critical, nextAttemptAt: critical || channel == "webhook" ? now : configuration.notBefore(now),
                    deliveredAt: inbox ? now : nil, ackDueAt: critical ? now.addingTimeInterval(configuration.ackTimeout) : nil))
                byDelivery[deliveryID] = context
            }
            for recipient in entry.recipients {
                let language = profiles[recipient]?.language ?? "zh"
                // The inbox always; other channels where the recipient has an endpoint.
                var targets: [(String, String?)] = channels.contains("inbox") ? [("inbox", nil)] : []
                for (channel, address) in profiles[recipient]?.endpoints ?? [] where channel != "inbox" && channels.contains(channel) {
                    targets.append((channel, address))
                }
                for (channel, address) in targets {
                    deliver(to: recipient, by: channel, address: address, sealedAddress: nil, text: notice.text(language), critical: critical)
                }
            }
            guard let caseID = notice.caseID, !entry.careRoles.isEmpty else { continue }
            for (member, recipient, language) in teams[caseID] ?? [] where entry.careRoles.contains(member.role) {
                guard let text = notice.text(language, for: member.role) else { continue }
                guard let contact = try? cipher.open(member.contact), let channel = CareTeam.channel(of: contact) else {
                    context.logger.warning("care-team contact cannot be used", metadata: [
                        "notification.recipient": "\(recipient)", "notification.reason": "not openable, or neither a phone number nor an e-mail address",
                    ])
                    continue
                }
                guard channels.contains(channel) else { continue }
                deliver(
                    to: recipient, by: channel, address: nil, sealedAddress: member.contact, text: text,
                    critical: critical && member.role != .guardian)
            }
        }

        let written = try await DeliveryStore.insert(deliveries, on: first.connection, logger: first.logger)
        for delivery in deliveries where delivery.channel == "inbox" && written.contains(delivery.deliveryID) {
            guard let context = byDelivery[delivery.deliveryID] else { continue }
            try await context.emit(NotificationDeliveredV1(
                deliveryID: delivery.deliveryID, aboutEventID: delivery.eventID, aboutEventType: delivery.eventType,
                recipient: delivery.recipient, channel: .inbox, deliveredAt: now), subject: delivery.deliveryID)
        }
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
