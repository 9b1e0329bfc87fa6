import Foundation

/// A value in an AMQP field table (message headers, queue arguments).
public indirect enum AMQPFieldValue: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case double(Double)
    case timestamp(UInt64)
    case bytes([UInt8])
    case table([String: AMQPFieldValue])
    case array([AMQPFieldValue])
    case void

    /// The value as a string, if it is one.
    public var stringValue: String? {
        switch self {
        case .string(let s): return s
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    /// The value as an integer, if it is one.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .timestamp(let t): return Int64(t)
        default: return nil
        }
    }
}

/// A field table.
public typealias AMQPTable = [String: AMQPFieldValue]

/// The basic.properties of a message.
public struct AMQPProperties: Sendable, Hashable {
    public var contentType: String?
    public var messageID: String?
    public var correlationID: String?
    public var type: String?
    public var appID: String?
    /// The sender's login; RabbitMQ rejects a publish whose user_id differs from the connection's user.
    public var userID: String?
    public var replyTo: String?
    public var expiration: String?
    /// Seconds since 1970.
    public var timestamp: UInt64?
    /// Delivery mode 2 (persistent) unless set false.
    public var persistent: Bool
    public var headers: AMQPTable

    public init(
        contentType: String? = nil,
        messageID: String? = nil,
        correlationID: String? = nil,
        type: String? = nil,
        appID: String? = nil,
        userID: String? = nil,
        replyTo: String? = nil,
        expiration: String? = nil,
        timestamp: UInt64? = nil,
        persistent: Bool = true,
        headers: AMQPTable = [:]
    ) {
        self.contentType = contentType
        self.messageID = messageID
        self.correlationID = correlationID
        self.type = type
        self.appID = appID
        self.userID = userID
        self.replyTo = replyTo
        self.expiration = expiration
        self.timestamp = timestamp
        self.persistent = persistent
        self.headers = headers
    }
}

/// A message to publish.
public struct OutgoingMessage: Sendable, Hashable {
    public var exchange: String
    public var routingKey: String
    public var properties: AMQPProperties
    public var body: [UInt8]
    /// Ask the broker to return the message when no queue is bound to its routing key.
    public var mandatory: Bool

    public init(exchange: String, routingKey: String, properties: AMQPProperties, body: [UInt8], mandatory: Bool = true) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.properties = properties
        self.body = body
        self.mandatory = mandatory
    }
}

/// A message delivered to a consumer.
public struct Delivery: Sendable {
    /// The tag the broker gave this delivery; valid only on the connection it came from.
    public let deliveryTag: UInt64
    public let redelivered: Bool
    public let exchange: String
    public let routingKey: String
    public let properties: AMQPProperties
    public let body: [UInt8]
    /// Which connection this delivery arrived on; acknowledging it anywhere else is refused.
    public let connectionID: UInt64
}

/// What the broker said about a published message.
public enum PublishOutcome: Sendable, Hashable {
    /// The broker took responsibility for the message (it is on disk in every queue it was routed to).
    case confirmed
    /// The broker could not route the message (no queue bound); it was returned, not stored.
    case returned(replyCode: Int, replyText: String)
    /// The broker refused the message (e.g. a queue at its limit with reject-publish).
    case nacked
}
