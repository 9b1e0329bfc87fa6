/// An error from the message bus.
///
/// Other modules match on ``code``; ``message`` says what happened in words an
/// operator can act on.
public struct AMQPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidURL, connectFailed, loginFailed, channelClosed, connectionClosed
            case connectionLost, protocolError, timeout
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The AMQP URL could not be parsed.
        public static let invalidURL = Code(.invalidURL)
        /// The TCP connection could not be opened.
        public static let connectFailed = Code(.connectFailed)
        /// The broker refused the login (user, password or vhost).
        public static let loginFailed = Code(.loginFailed)
        /// The broker closed the channel, e.g. a declaration did not match or a permission was missing.
        public static let channelClosed = Code(.channelClosed)
        /// The broker closed the connection.
        public static let connectionClosed = Code(.connectionClosed)
        /// The connection failed (socket error, missed heartbeats); the outcome of anything in flight is unknown.
        public static let connectionLost = Code(.connectionLost)
        /// rabbitmq-c reported an unexpected condition.
        public static let protocolError = Code(.protocolError)
        /// A wait ran out of time.
        public static let timeout = Code(.timeout)

        public var description: String { String(describing: value) }
    }

    /// What kind of failure this is.
    public let code: Code
    /// A readable explanation.
    public let message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - message: A readable explanation, free of personal data.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "AMQPError(\(code)): \(message)" }
}
