import Contracts
import Foundation

/// Why a delivery could not be read as an event. Permanent: such a message is dead-lettered at once.
public struct EnvelopeError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Header names Huhang uses on AMQP messages.
public enum HeaderName {
    public static let specversion = "specversion"
    public static let subject = "subject"
    public static let dataschema = "dataschema"
    public static let causationID = "causation-id"
    public static let traceparent = "traceparent"
    public static let time = "time"
    /// How many times the message has been retried after a transient failure.
    public static let attempt = "x-huhang-attempt"
    public static let originalExchange = "x-huhang-original-exchange"
    public static let originalRoutingKey = "x-huhang-original-routing-key"
    /// Why the message was set aside in `<service>.dead`.
    public static let deadReason = "x-huhang-dead-reason"
    public static let deadService = "x-huhang-dead-service"
    public static let deadAt = "x-huhang-dead-at"
    /// The verified sender of a message that came back from a retry queue.
    public static let sender = "x-huhang-sender"
}

extension EventEnvelope {
    /// The AMQP properties carrying this envelope.
    public var amqpProperties: AMQPProperties {
        var headers: AMQPTable = [
            HeaderName.specversion: .string("1.0"),
            HeaderName.time: .string(ContractCoding.formatTime(time)),
        ]
        if let subject { headers[HeaderName.subject] = .string(subject) }
        if let dataschema { headers[HeaderName.dataschema] = .string(dataschema) }
        if let causationID { headers[HeaderName.causationID] = .string(causationID) }
        if let traceparent { headers[HeaderName.traceparent] = .string(traceparent) }
        return AMQPProperties(
            contentType: "application/json",
            messageID: id,
            correlationID: correlationID,
            type: type,
            appID: source,
            userID: sender,
            replyTo: replyTo,
            timestamp: UInt64(max(0, time.timeIntervalSince1970)),
            persistent: true,
            headers: headers
        )
    }

    /// Reads the envelope of a delivery.
    ///
    /// `message_id` is required. The type comes from the `type` property, else
    /// the routing key the message was first published with. The source falls
    /// back to the sender's login.
    /// - Parameter delivery: The delivery.
    public init(delivery: Delivery) throws(EnvelopeError) {
        let p = delivery.properties
        guard let id = p.messageID, !id.isEmpty else {
            throw EnvelopeError("missing message_id property: every event needs a unique id")
        }
        guard id.utf8.count <= 200 else { throw EnvelopeError("message_id longer than 200 bytes") }
        let routingKey = p.headers[HeaderName.originalRoutingKey]?.stringValue ?? delivery.routingKey
        let type = (p.type?.isEmpty == false ? p.type : nil) ?? routingKey
        guard !type.isEmpty else { throw EnvelopeError("missing type property") }
        if let version = p.headers[HeaderName.specversion]?.stringValue, version != "1.0" {
            throw EnvelopeError("unsupported CloudEvents specversion \(version); expected 1.0")
        }
        // A message back from the service's own retry queue arrives through
        // the service's `.aside` exchange (or, replayed by an operator, the
        // default exchange), which agencies cannot publish to; only there is
        // the sender header (written by the consumer) trusted.
        let fromOwnQueues = delivery.exchange.isEmpty || delivery.exchange.hasSuffix(".aside")
        let sender = p.userID ?? (fromOwnQueues ? p.headers[HeaderName.sender]?.stringValue : nil)
        let time = p.headers[HeaderName.time]?.stringValue.flatMap(ContractCoding.parseTime)
            ?? p.timestamp.map { Date(timeIntervalSince1970: TimeInterval($0)) }
            ?? Date()
        self.init(
            id: id,
            type: type,
            source: p.appID ?? sender ?? "unknown",
            time: time,
            subject: p.headers[HeaderName.subject]?.stringValue,
            dataschema: p.headers[HeaderName.dataschema]?.stringValue,
            correlationID: p.correlationID?.isEmpty == false ? p.correlationID : nil,
            causationID: p.headers[HeaderName.causationID]?.stringValue,
            traceparent: p.headers[HeaderName.traceparent]?.stringValue.flatMap { TraceContext(traceparent: $0)?.traceparent },
            sender: sender,
            replyTo: p.replyTo
        )
    }
}

extension OutgoingMessage {
    /// An event ready to publish.
    /// - Parameters:
    ///   - envelope: Its CloudEvents attributes.
    ///   - body: Its JSON body.
    ///   - exchange: Where to publish (`huhang.events` for services).
    public init(envelope: EventEnvelope, body: [UInt8], exchange: String = ExchangeName.events) {
        self.init(exchange: exchange, routingKey: envelope.type, properties: envelope.amqpProperties, body: body, mandatory: true)
    }

    /// Encodes a payload into an event.
    public init<P: EventPayload>(_ payload: P, envelope: EventEnvelope, exchange: String = ExchangeName.events) throws {
        let body = try ContractCoding.encoder().encode(payload)
        self.init(exchange: exchange, routingKey: payload.routingKey, properties: envelope.amqpProperties, body: Array(body), mandatory: true)
    }
}
