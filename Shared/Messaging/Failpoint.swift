import Foundation

/// Named places where the fault suite (`scripts/fault-test`) makes a service
/// fail on purpose, to prove what survives a crash exactly there — between a
/// commit and an ack, a publish and its mark. Off unless `HUHANG_FAILPOINTS`
/// names them (`relay.after-publish,handler.fail-id=<message id>`); never set
/// in production.
///
/// | failpoint | effect |
/// |---|---|
/// | `relay.before-publish` | the process dies (exit 137, as after `kill -9`) when the outbox relay has rows to publish, before publishing |
/// | `relay.after-publish` | dies after the broker confirmed a batch, before the rows are marked sent |
/// | `dispatcher.before-commit` | dies when a batch of several messages has been handled, before its transaction commits |
/// | `consumer.before-ack` | dies after a delivery's transaction committed, before the ack |
/// | `handler.fail-id=<id>` | the handler of that message id always fails (a poison message) |
/// | `handler.delay-id=<id>`, `handler.delay-ms=<ms>` | the handler of that message id takes that long |
public enum Failpoint {
    private static let armed: [String: String] = {
        var armed: [String: String] = [:]
        for item in (ProcessInfo.processInfo.environment["HUHANG_FAILPOINTS"] ?? "").split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if let name = parts.first, !name.isEmpty { armed[name] = parts.count > 1 ? parts[1] : "" }
        }
        return armed
    }()

    /// Dies at once, without cleaning up, when `name` is armed.
    public static func crash(_ name: String) {
        guard armed[name] != nil else { return }
        FileHandle.standardError.write(Data("failpoint \(name): exiting\n".utf8))
        _exit(137)
    }

    /// The value a failpoint is armed with, if it is.
    public static func value(_ name: String) -> String? { armed[name] }
}
