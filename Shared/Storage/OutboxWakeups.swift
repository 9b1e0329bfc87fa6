import Synchronization

/// Wakes this process's outbox relays when a transaction that wrote outbox rows commits.
///
/// Every outbox row is written by a service process that runs a relay for its schema, so the
/// committing process wakes its own relay directly. (PostgreSQL's NOTIFY would do the same across
/// processes, but a transaction that notifies takes a database-wide lock from its commit's start to
/// its end — WAL flush included — so every service's notifying commits would run one at a time.)
/// Rows written by other processes, and rows whose retry comes due, are found by the relay's poll.
enum OutboxWakeups {
    private static let relays = Mutex<[String: [ObjectIdentifier: WakeSignal]]>([:])

    /// Wakes `signal` whenever a transaction on `schema` commits outbox rows, until ``remove(_:schema:)``.
    static func add(_ signal: WakeSignal, schema: String) {
        relays.withLock { $0[schema, default: [:]][ObjectIdentifier(signal)] = signal }
    }

    static func remove(_ signal: WakeSignal, schema: String) {
        relays.withLock { $0[schema]?[ObjectIdentifier(signal)] = nil }
    }

    /// A transaction that wrote outbox rows on `schema` committed.
    static func committed(schema: String) {
        for signal in relays.withLock({ Array(($0[schema] ?? [:]).values) }) { signal.signal() }
    }
}

/// What a transaction run by ``Database`` did that matters after it commits.
final class TransactionMarks: Sendable {
    private let outbox = Atomic<Bool>(false)

    /// The transaction running in this task, if ``Database`` started one.
    @TaskLocal static var current: TransactionMarks?

    func markOutboxWritten() { outbox.store(true, ordering: .relaxed) }
    var wroteOutbox: Bool { outbox.load(ordering: .relaxed) }
}
