import Foundation
import Logging
import Messaging
import PostgresNIO
import Storage
import ToolKit

/// The fault suite's own RabbitMQ and PostgreSQL (ports, node, data folder and Erlang port mapper of
/// their own, so a running development stack is never touched), driven through `scripts/dev-stack`.
struct FaultStack: Sendable {
    let root: URL
    let directory: URL
    let amqpPort: Int
    let pgPort: Int

    var environment: [String: String] {
        [
            "HUHANG_STACK_DIR": directory.path, "AMQP_PORT": String(amqpPort), "PG_PORT": String(pgPort),
            "RABBITMQ_NODE": "huhangfault", "RABBITMQ_MANAGEMENT_PORT": String(amqpPort + 10000), "ERL_EPMD_PORT": "4391",
        ]
    }

    var databaseURL: String { "postgres://huhang:huhang@127.0.0.1:\(pgPort)/huhang" }
    var brokerURL: String { "amqp://huhang:huhang@127.0.0.1:\(amqpPort)" }

    /// Runs `scripts/dev-stack` with this stack's settings.
    @discardableResult
    func stack(_ arguments: String...) throws -> String {
        try run(root.appendingPathComponent("scripts/dev-stack").path, Array(arguments), environment: environment)
    }

    func up() throws { try stack("up") }
    func down() { _ = try? stack("down") }
    func killBroker() throws { try stack("kill-broker") }
    func ctl(_ arguments: String...) throws -> String {
        try run(root.appendingPathComponent("scripts/dev-stack").path, ["ctl"] + arguments, environment: environment)
    }
    func crashPostgres() throws { try stack("crash-postgres") }
    func stopPostgres() throws { try stack("stop-postgres") }
}
