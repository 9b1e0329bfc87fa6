import Foundation

/// The CloudEvents 1.0 attributes of an event, as Huhang carries them on AMQP.
///
/// | CloudEvents      | AMQP 0-9-1                        |
/// |------------------|-----------------------------------|
/// | `id`             | `message_id` property             |
/// | `type`           | `type` property (and routing key) |
/// | `source`         | `app_id` property                 |
/// | `time`           | `timestamp` property + `time` header (RFC 3339, ms) |
/// | `datacontenttype`| `content_type` = application/json |
/// | `specversion`    | `specversion` header = 1.0        |
/// | `subject`        | `subject` header                  |
/// | `dataschema`     | `dataschema` header               |
/// | correlation id   | `correlation_id` property         |
/// | causation id     | `causation-id` header             |
/// | trace context    | `traceparent` header (W3C)        |
///
/// The agency that sent an event is the AMQP `user_id` property, which the
/// broker checks against the connection's login; ``sender`` holds it on the
/// receiving side. A sender named inside the body is never trusted.
public struct EventEnvelope: Sendable, Hashable {
    /// Unique id of this event (CloudEvents `id`); the key of every inbox.
    public var id: String
    /// The event type with its major version, e.g. `report.incident.v1`.
    public var type: String
    /// Who produced the event: a service name or an agency code.
    public var source: String
    /// When the event happened.
    public var time: Date
    /// What the event is about (e.g. a subject id or case id), if anything. Never personal data.
    public var subject: String?
    /// The schema of the body.
    public var dataschema: String?
    /// Shared by every event that follows from one original report.
    public var correlationID: String
    /// The id of the event that caused this one.
    public var causationID: String?
    /// W3C trace context.
    public var traceparent: String?
    /// The verified login of the publisher (AMQP `user_id`), set by the broker's check, not by the body.
    public var sender: String?
    /// Where the sender wants replies (AMQP `reply_to`).
    public var replyTo: String?

    public init(
        id: String = UUID().uuidString.lowercased(),
        type: String,
        source: String,
        time: Date = Date(),
        subject: String? = nil,
        dataschema: String? = nil,
        correlationID: String? = nil,
        causationID: String? = nil,
        traceparent: String? = nil,
        sender: String? = nil,
        replyTo: String? = nil
    ) {
        self.id = id
        self.type = type
        self.source = source
        self.time = time
        self.subject = subject
        self.dataschema = dataschema
        self.correlationID = correlationID ?? id
        self.causationID = causationID
        self.traceparent = traceparent
        self.sender = sender
        self.replyTo = replyTo
    }

    /// The envelope of an event caused by this one: same correlation id and
    /// trace, this event as its cause, a new span.
    /// - Parameters:
    ///   - type: The new event's type.
    ///   - source: The service emitting it.
    ///   - subject: What it is about.
    ///   - time: When it happened.
    public func caused(type: EventType, source: String, subject: String? = nil, time: Date = Date()) -> EventEnvelope {
        EventEnvelope(
            type: type.name,
            source: source,
            time: time,
            subject: subject,
            dataschema: type.dataschema,
            correlationID: correlationID,
            causationID: id,
            traceparent: (traceparent.flatMap(TraceContext.init(traceparent:)) ?? TraceContext.random()).child().traceparent
        )
    }
}

/// A W3C trace context (`traceparent` header).
public struct TraceContext: Sendable, Hashable {
    /// 32 lowercase hex digits.
    public var traceID: String
    /// 16 lowercase hex digits.
    public var spanID: String
    public var sampled: Bool

    /// Parses `00-<trace id>-<span id>-<flags>`; nil when malformed. (Read byte by byte: every event handled and
    /// every event emitted parses its cause's.)
    public init?(traceparent: String) {
        var text = traceparent
        guard let parsed = text.withUTF8({ Self.parse($0) }) else { return nil }
        self = parsed
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> TraceContext? {
        // 00-<32 hex>-<16 hex>-<2 hex>: 55 bytes, dashes at 2, 35 and 52.
        guard bytes.count == 55, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "0"),
              bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-")
        else { return nil }
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        // A field of hex digits, lowercased; nil when a digit is not hex or all are zero.
        func field(_ range: Range<Int>) -> String? {
            var lowered = [UInt8](repeating: 0, count: range.count)
            var nonZero = false
            for (offset, index) in range.enumerated() {
                guard let value = nibble(bytes[index]) else { return nil }
                nonZero = nonZero || value != 0
                lowered[offset] = value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
            }
            return nonZero ? String(decoding: lowered, as: UTF8.self) : nil
        }
        guard let traceID = field(3..<35), let spanID = field(36..<52), let high = nibble(bytes[53]), let low = nibble(bytes[54])
        else { return nil }
        return TraceContext(traceID: traceID, spanID: spanID, sampled: (high << 4 | low) & 1 == 1)
    }

    public init(traceID: String, spanID: String, sampled: Bool = true) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
    }

    /// A new trace.
    public static func random() -> TraceContext {
        TraceContext(traceID: hex(16), spanID: hex(8))
    }

    /// A new span in the same trace.
    public func child() -> TraceContext {
        TraceContext(traceID: traceID, spanID: Self.hex(8), sampled: sampled)
    }

    public var traceparent: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }

    private static func hex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var random: [UInt8] = []
        while random.count < bytes {
            withUnsafeBytes(of: generator.next() as UInt64) { random.append(contentsOf: $0) }
        }
        return Hex.string(random.prefix(bytes))
    }
}
