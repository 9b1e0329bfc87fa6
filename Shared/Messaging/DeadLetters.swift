import Foundation
import Synchronization

/// What a service set aside in `<service>.dead`, and putting it back: shared by `huhang-admin dead` and the
/// services' own `/v1/dead` routes (the console's operators' page).
public enum DeadLetters {
    /// One dead letter as an operator sees it: never the body, which may name a child.
    public struct Letter: Codable, Sendable, Hashable {
        public var messageId: String
        public var type: String
        public var deadAt: String?
        public var sender: String?
        public var reason: String

        public init(_ delivery: Delivery) {
            let headers = delivery.properties.headers
            messageId = delivery.properties.messageID ?? "-"
            type = delivery.properties.type ?? headers[HeaderName.originalRoutingKey]?.stringValue ?? "-"
            deadAt = headers[HeaderName.deadAt]?.stringValue
            sender = headers[HeaderName.sender]?.stringValue ?? delivery.properties.userID
            reason = headers[HeaderName.deadReason]?.stringValue ?? "-"
        }
    }

    /// Takes up to `limit` messages from a queue without acknowledging them: they go back when the connection
    /// closes, unless acknowledged (``replay(_:to:on:)``) before.
    /// - Parameters:
    ///   - queue: The dead letters' queue, `<service>.dead`.
    ///   - limit: The most to take.
    ///   - connection: A connection of its own (closing it gives back what was not acknowledged).
    /// - Returns: The messages, oldest first.
    public static func take(from queue: String, limit: Int, on connection: AMQPConnection) async throws -> [Delivery] {
        let stream = try await connection.consume(queue: queue, prefetch: UInt16(clamping: min(max(limit, 1), 1000)))
        let taken = Mutex<[Delivery]>([])
        let collector = Task {
            for try await delivery in stream { taken.withLock { $0.append(delivery) } }
        }
        // Until the queue has nothing more to give for a second, or enough were taken.
        var last = -1, quiet = 0
        while quiet < 5 {
            try await Task.sleep(for: .milliseconds(200))
            let count = taken.withLock { $0.count }
            if count >= limit { break }
            quiet = count == last ? quiet + 1 : 0
            last = count
        }
        await connection.cancelConsumer()
        try await collector.value
        return Array(taken.withLock { $0 }.prefix(limit))
    }

    /// Puts a dead letter back on its service's queue, without the marks of its failure, then acknowledges it
    /// in the dead queue. It goes through the default exchange, as the service's own retries come back: the
    /// verified sender recorded in `x-huhang-sender` stays trusted, and no agency can publish there.
    /// - Parameters:
    ///   - letter: A message taken by ``take(from:limit:on:)`` on `connection`.
    ///   - queue: The service's queue, `<service>.events`.
    ///   - connection: The connection it was taken on.
    /// - Returns: Whether the broker took it back (when not, it stays in the dead queue). Should the acknowledgement
    ///   be lost, the letter stays in the dead queue as well; replaying it again is harmless, as the service's inbox
    ///   skips a message it applied.
    public static func replay(_ letter: Delivery, to queue: String, on connection: AMQPConnection) async throws -> Bool {
        var properties = letter.properties
        for header in [HeaderName.deadReason, HeaderName.deadService, HeaderName.deadAt, HeaderName.attempt] {
            properties.headers[header] = nil
        }
        let copy = OutgoingMessage(exchange: "", routingKey: queue, properties: properties, body: letter.body)
        guard try await connection.publish(copy) == .confirmed else { return false }
        _ = await connection.ack(letter)
        return true
    }
}
