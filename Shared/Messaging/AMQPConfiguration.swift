import Foundation

/// Where and how to connect to RabbitMQ.
public struct AMQPConfiguration: Sendable, Hashable {
    /// Broker host name or address.
    public var host: String
    /// Broker AMQP port.
    public var port: Int
    /// Login user.
    public var user: String
    /// Login password.
    public var password: String
    /// Virtual host.
    public var vhost: String
    /// Heartbeat interval negotiated with the broker, in seconds (0 disables heartbeats).
    public var heartbeatSeconds: Int
    /// The name the broker shows for this connection.
    public var connectionName: String
    /// How long to wait for the TCP connection and login.
    public var connectTimeout: Duration

    /// Creates a configuration.
    public init(
        host: String = "127.0.0.1",
        port: Int = 5672,
        user: String = "guest",
        password: String = "guest",
        vhost: String = "/",
        heartbeatSeconds: Int = 10,
        connectionName: String = "huhang",
        connectTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.vhost = vhost
        self.heartbeatSeconds = heartbeatSeconds
        self.connectionName = connectionName
        self.connectTimeout = connectTimeout
    }

    /// Parses an `amqp://user:password@host:port/vhost` URL.
    ///
    /// An absent path or `/` means the default vhost `/`; `/%2f` also means `/`.
    /// - Parameters:
    ///   - url: The URL.
    ///   - heartbeatSeconds: Heartbeat interval in seconds.
    ///   - connectionName: The name the broker shows for this connection.
    public init(url: String, heartbeatSeconds: Int = 10, connectionName: String = "huhang") throws {
        guard let components = URLComponents(string: url), components.scheme == "amqp",
              let host = components.host, !host.isEmpty
        else {
            throw AMQPError(.invalidURL, "expected amqp://user:password@host:port/vhost")
        }
        let path = components.percentEncodedPath
        var vhost = "/"
        if path.count > 1 {
            vhost = String(path.dropFirst()).removingPercentEncoding ?? String(path.dropFirst())
        }
        self.init(
            host: host,
            port: components.port ?? 5672,
            user: components.user?.removingPercentEncoding ?? "guest",
            password: components.password?.removingPercentEncoding ?? "guest",
            vhost: vhost,
            heartbeatSeconds: heartbeatSeconds,
            connectionName: connectionName
        )
    }

    /// The URL without its password, for logs.
    public var redactedURL: String {
        "amqp://\(user)@\(host):\(port)/\(vhost == "/" ? "" : vhost)"
    }
}
