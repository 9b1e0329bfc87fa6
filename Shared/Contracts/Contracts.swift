import Foundation

/// Every event type of the contracts package, by the service that publishes it, in the order the data
/// goes: agency → intake → assessment → intervention → notification, with inspection beside. Each
/// producer's list is in its file (`AgencyEvents.swift`, `IntakeEvents.swift`, …).
public enum Contracts {
    /// Every contract.
    public static let allPayloads: [any EventPayload.Type] =
        agencyPayloads + intakePayloads + assessmentPayloads + interventionPayloads + inspectionPayloads + notificationPayloads
        + sharedPayloads

    /// What any service may publish: the refusal of an event intake accepted.
    public static let sharedPayloads: [any EventPayload.Type] = [EventRefusedV1.self]

    /// The announcements: event types published for readers outside the platform (a bureau's own systems),
    /// which no platform service consumes — published only where an operator turns them on (`ANNOUNCE`) — and
    /// the types some of whose events are such (`risk.assessed.v1` below high).
    public static var announcements: [any EventPayload.Type] { allPayloads.filter { $0.hasAnnouncements } }
}

// MARK: - event.refused.v1 (any service → intake)

/// A service could not apply an agency's event that intake had accepted: intake tells the sending
/// agency with a second receipt (`rejected`, `refusedBy`), so nothing an agency sends is refused in silence.
public struct EventRefusedV1: EventPayload, Hashable {
    public static let eventType = EventType("event.refused", major: 1)

    /// Intake's id for the accepted event (the `intakeId` of the domain event).
    public var intakeID: String
    /// The agency's event type, e.g. `task.feedback.v1`.
    public var eventType: String
    /// The service that refused it.
    public var service: String
    /// Field by field, why.
    public var reasons: [FieldError]
    public var at: Date

    public init(intakeID: String, eventType: String, service: String, reasons: [FieldError], at: Date) {
        self.intakeID = intakeID
        self.eventType = eventType
        self.service = service
        self.reasons = reasons
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case intakeID = "intakeId", eventType, service, reasons, at }
}
