import Foundation
import Logging
import Messaging
import PostgresNIO
import Storage
import ToolKit

/// What a suite needs of its broker and database, whether one of each (the fault suite) or clusters (the
/// cluster suite): where the services, the operator and an agency reach them, and the broker's control tool.
protocol Engines: Sendable {
    /// The database as the services and the oracle reach it.
    var databaseURL: String { get }
    /// The broker as the services reach it.
    var servicesBrokerURL: String { get }
    /// The broker as the operator reaches it, directly.
    var brokerURL: String { get }
    /// The broker as an agency reaches it with its own login (its code is its password here).
    /// - Parameters:
    ///   - code: The agency's code.
    func agencyURL(_ code: String) -> String
    /// Runs `rabbitmqctl` on a node that answers.
    /// - Parameters:
    ///   - arguments: Its arguments.
    func ctl(_ arguments: [String]) throws -> String
}

extension Engines {
    func ctl(_ arguments: String...) throws -> String { try ctl(arguments) }
}

/// The fault suite's own RabbitMQ and PostgreSQL (ports, node, data folder and Erlang port mapper of
/// their own, so a running development stack is never touched), driven through `scripts/dev-stack`, and a
/// TCP proxy between the services and the broker for the connection faults.
struct FaultStack: Engines {
    let root: URL
    let directory: URL
    let amqpPort: Int
    let pgPort: Int
    let proxy: TCPProxy

    init(root: URL, amqpPort: Int = 5683, pgPort: Int = 5443, proxyPort: Int = 5693) throws {
        self.root = root
        directory = root.appendingPathComponent(".fault")
        self.amqpPort = amqpPort
        self.pgPort = pgPort
        proxy = try TCPProxy(port: proxyPort, target: amqpPort)
    }

    var environment: [String: String] {
        [
            "HUHANG_STACK_DIR": directory.path, "AMQP_PORT": String(amqpPort), "PG_PORT": String(pgPort),
            "RABBITMQ_NODE": "huhangfault", "RABBITMQ_MANAGEMENT_PORT": String(amqpPort + 10000), "ERL_EPMD_PORT": "4391",
        ]
    }

    var databaseURL: String { "postgres://huhang:huhang@127.0.0.1:\(pgPort)/huhang" }
    var brokerURL: String { "amqp://huhang:huhang@127.0.0.1:\(amqpPort)" }
    var servicesBrokerURL: String { "amqp://huhang:huhang@127.0.0.1:\(proxy.port)" }
    func agencyURL(_ code: String) -> String { "amqp://\(code):\(code)@127.0.0.1:\(amqpPort)" }

    /// Runs `scripts/dev-stack` with this stack's settings.
    @discardableResult
    func stack(_ arguments: String...) throws -> String {
        try run(root.appendingPathComponent("scripts/dev-stack").path, Array(arguments), environment: environment)
    }

    func up() throws { try stack("up") }
    func down() { _ = try? stack("down") }
    func killBroker() throws { try stack("kill-broker") }
    func ctl(_ arguments: [String]) throws -> String {
        try run(root.appendingPathComponent("scripts/dev-stack").path, ["ctl"] + arguments, environment: environment)
    }
    func crashPostgres() throws { try stack("crash-postgres") }
    func stopPostgres() throws { try stack("stop-postgres") }
}
