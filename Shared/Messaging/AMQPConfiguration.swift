import Foundation

/// Where and how to connect to RabbitMQ: one broker, or the nodes of a cluster to try in turn.
public struct AMQPConfiguration: Sendable, Hashable {
    /// A broker node's host and AMQP port.
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int = 5672) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// Broker host name or address (of the node this configuration connects to; the first of ``addresses``).
    public var host: String
    /// Broker AMQP port (of the node this configuration connects to).
    public var port: Int
    /// Every node to try, in order: a connection that cannot be opened to one is tried on the next
    /// (``AMQPConnection/connect(_:confirms:logger:)``). One address for a single broker.
    public var addresses: [Address]
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
        self.addresses = [Address(host: host, port: port)]
        self.user = user
        self.password = password
        self.vhost = vhost
        self.heartbeatSeconds = heartbeatSeconds
        self.connectionName = connectionName
        self.connectTimeout = connectTimeout
    }

    /// Parses an `amqp://user:password@host:port/vhost` URL, or one naming a cluster's nodes:
    /// `amqp://user:password@node1:5672,node2:5672,node3:5672/vhost` (a port left out is 5672).
    ///
    /// An absent path or `/` means the default vhost `/`; `/%2f` also means `/`.
    /// - Parameters:
    ///   - url: The URL.
    ///   - heartbeatSeconds: Heartbeat interval in seconds.
    ///   - connectionName: The name the broker shows for this connection.
    public init(url: String, heartbeatSeconds: Int = 10, connectionName: String = "huhang") throws {
        // The nodes after the first are taken out, and the URL with the first alone is read as any other.
        var single = url
        var others: [Address] = []
        if url.hasPrefix("amqp://") {
            let rest = url.dropFirst("amqp://".count)
            let authority = rest.prefix { $0 != "/" && $0 != "?" }
            let userInfo = authority.lastIndex(of: "@").map { authority[...$0] } ?? ""
            let hosts = authority[(authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex)...]
            let listed = hosts.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if listed.count > 1 {
                others = try listed.dropFirst().map(Self.address)
                single = "amqp://" + userInfo + listed[0] + rest.dropFirst(authority.count)
            }
        }
        guard let components = URLComponents(string: single), components.scheme == "amqp",
              let host = components.host, !host.isEmpty
        else {
            throw AMQPError(.invalidURL, "expected amqp://user:password@host:port/vhost, or host:port,host:port,… for a cluster's nodes")
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
        addresses += others
    }

    /// `host` or `host:port`, as a node of `AMQP_URL`'s list or of `AMQP_ADDRESSES`; an IPv6 address in brackets.
    /// - Throws: ``AMQPError`` (`invalidURL`) for an empty host or a port that is not a number from 1 to 65535.
    public static func address(_ text: String) throws -> Address {
        let text = text.trimmingCharacters(in: .whitespaces)
        var host = text, port = 5672
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()), (1...65535).contains(number) else { throw AMQPError(.invalidURL, "no port in \(text)") }
                port = number
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            guard let number = Int(text[text.index(after: colon)...]), (1...65535).contains(number) else {
                throw AMQPError(.invalidURL, "\(text): the port is a number from 1 to 65535")
            }
            port = number
        }
        guard !host.isEmpty else { throw AMQPError(.invalidURL, "a node with no host in \(text)") }
        return Address(host: host, port: port)
    }

    /// The same settings, connecting to one of the nodes.
    public func at(_ address: Address) -> AMQPConfiguration {
        var copy = self
        copy.host = address.host
        copy.port = address.port
        return copy
    }

    /// The URL without its password, for logs: every node, the one this configuration connects to first.
    public var redactedURL: String {
        let nodes = ([Address(host: host, port: port)] + addresses.filter { $0 != Address(host: host, port: port) }).map(\.description)
        return "amqp://\(user)@\(nodes.joined(separator: ","))/\(vhost == "/" ? "" : vhost)"
    }
}
