import Foundation
import ToolKit

/// The development stack the benchmarks run on, through `scripts/dev-stack`: its virtual host, and
/// agencies' broker users, which only the stack's own `rabbitmqctl` makes.
struct DevStack {
    /// The repository.
    let root: String
    /// The services' AMQP URL, e.g. `amqp://huhang:huhang@127.0.0.1:5672/huhang-load`.
    let amqpURL: String

    var script: String { URL(fileURLWithPath: root).appendingPathComponent("scripts/dev-stack").path }

    /// The virtual host of ``amqpURL``.
    var vhost: String {
        URLComponents(string: amqpURL).map { String($0.path.dropFirst()) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
    }

    /// Runs `rabbitmqctl` with the stack's settings. - Returns: What it printed.
    @discardableResult
    func ctl(_ arguments: [String]) throws -> String { try ToolKit.run(script, ["ctl", "-q"] + arguments) }

    /// Makes (or keeps) an agency's broker user, with the rights an agency has: publish to `huhang.intake`, nothing else.
    func ensureAgency(_ code: String) throws {
        _ = try? ctl(["add_user", code, code])  // fails when it exists already
        try ctl(["set_permissions", "-p", vhost, code, "^$", "^huhang\\.intake$", "^$"])
    }

    /// The AMQP URL of an agency's broker user (password = code on the dev stack).
    func agencyURL(_ code: String) -> String {
        amqpURL.replacingOccurrences(of: "//huhang:huhang@", with: "//\(code):\(code)@")
    }
}
