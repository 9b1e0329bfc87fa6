/// The name and major version of an event type.
///
/// Version rules: within a major version a contract only grows — new optional
/// fields, never a removed or retyped one — and readers ignore fields they do
/// not know. A breaking change is a new major version with its own type name
/// and routing key (`report.incident.v2`), published alongside the old one
/// until every reader has moved.
public struct EventType: Sendable, Hashable, CustomStringConvertible {
    /// Dotted name without version, e.g. `report.incident`.
    public let family: String
    /// Major version.
    public let major: Int

    public init(_ family: String, major: Int) {
        self.family = family
        self.major = major
    }

    /// `report.incident.v1`: the CloudEvents type and the AMQP routing key.
    public var name: String { "\(family).v\(major)" }
    /// The routing key on the exchange.
    public var routingKey: String { name }
    /// The schema URI carried in `dataschema`.
    public var dataschema: String { "urn:huhang:schema:\(name)" }
    public var description: String { name }

    /// Parses `family.vN`.
    public init?(name: String) {
        guard let dot = name.lastIndex(of: "."), name[name.index(after: dot)...].hasPrefix("v"),
              let major = Int(name[name.index(dot, offsetBy: 2)...]), major > 0
        else { return nil }
        self.init(String(name[..<dot]), major: major)
    }
}

/// A message contract: the body of one event type.
public protocol EventPayload: Codable, Sendable {
    /// The type this payload is the body of.
    static var eventType: EventType { get }
    /// Whether the type is an announcement: published for readers outside the platform, consumed by no
    /// platform service (``Contracts/announcements``). A service publishes one only when its operator names
    /// the type in `ANNOUNCE`; otherwise it is not written at all, rather than published, routed and kept
    /// in `huhang.events.unrouted` for nobody. False unless a contract says otherwise.
    static var isAnnouncement: Bool { get }
    /// Whether `ANNOUNCE` may name the type: every event of it is an announcement, or some are
    /// (``isAnnouncement-swift.property``). False unless a contract says otherwise.
    static var hasAnnouncements: Bool { get }
    /// Whether this event is an announcement: for most types, whether the type is; for a type whose consumers
    /// take only some of its events (`risk.assessed.v1` below high), whether any platform service takes this one.
    var isAnnouncement: Bool { get }
    /// The routing key this event is published with on `huhang.events`: its type's name, or for a type whose
    /// consumers choose some of its events by key, the name and a qualifier (`risk.assessed.v1.critical`). A
    /// reader of every event of a type binds `<type>.#`, which matches both.
    var routingKey: String { get }
}

extension EventPayload {
    public static var isAnnouncement: Bool { false }
    public static var hasAnnouncements: Bool { isAnnouncement }
    public var isAnnouncement: Bool { Self.isAnnouncement }
    public var routingKey: String { Self.eventType.routingKey }
}
