import Foundation

// What notification publishes: that a person was told.

// MARK: - notification.delivered.v1 (notification → all)

/// A notice reached its recipient on a channel.
public struct NotificationDeliveredV1: EventPayload, Hashable {
    public static let eventType = EventType("notification.delivered", major: 1)

    public enum Channel: String, Codable, Sendable, CaseIterable {
        case inbox, webhook, sms, email
    }

    public var deliveryID: String
    /// The event the notice is about.
    public var aboutEventID: String
    public var aboutEventType: String
    public var recipient: String
    public var channel: Channel
    public var deliveredAt: Date

    public init(deliveryID: String, aboutEventID: String, aboutEventType: String, recipient: String, channel: Channel, deliveredAt: Date) {
        self.deliveryID = deliveryID
        self.aboutEventID = aboutEventID
        self.aboutEventType = aboutEventType
        self.recipient = recipient
        self.channel = channel
        self.deliveredAt = deliveredAt
    }

    enum CodingKeys: String, CodingKey {
        case deliveryID = "deliveryId", aboutEventID = "aboutEventId", aboutEventType, recipient, channel, deliveredAt
    }
}

extension Contracts {
    /// What notification publishes.
    public static let notificationPayloads: [any EventPayload.Type] = [NotificationDeliveredV1.self]
}
