import Synchronization

/// Hands this process's outbox relays the rows a transaction wrote to the outbox when it commits.
///
/// Every outbox row is written by a service process that runs a relay for its schema, so the
/// committing process gives its own relay the ids at once, and the relay reads exactly those rows by
/// primary key instead of scanning for unsent ones. (PostgreSQL's NOTIFY would wake relays across
/// processes, but a transaction that notifies takes a database-wide lock from its commit's start to
/// its end — WAL flush included — so every service's notifying commits would run one at a time.)
/// Rows written by other processes, and rows whose retry comes due, are found by the relay's poll.
enum OutboxWakeups {
    private static let relays = Mutex<[String: [ObjectIdentifier: CommittedRows]]>([:])

    /// Gives `rows` the ids of every outbox row committed on `schema`, until ``remove(_:schema:)``.
    static func add(_ rows: CommittedRows, schema: String) {
        relays.withLock { $0[schema, default: [:]][ObjectIdentifier(rows)] = rows }
    }

    static func remove(_ rows: CommittedRows, schema: String) {
        relays.withLock { $0[schema]?[ObjectIdentifier(rows)] = nil }
    }

    /// A transaction that wrote the outbox rows `ids` on `schema` committed.
    static func committed(schema: String, ids: [Int64]) {
        for rows in relays.withLock({ Array(($0[schema] ?? [:]).values) }) { rows.add(ids) }
    }
}

/// The ids of outbox rows committed in this process and not yet taken by its relay, with the signal that
/// wakes the relay for them.
final class CommittedRows: Sendable {
    /// More are forgotten (the poll finds them): a relay that cannot publish must not grow this without bound.
    static let limit = 100_000
    private let ids = Mutex<[Int64]>([])
    let wake = WakeSignal()

    func add(_ new: [Int64]) {
        ids.withLock { ids in
            ids.append(contentsOf: new.prefix(max(0, Self.limit - ids.count)))
        }
        wake.signal()
    }

    /// Takes up to `count` ids, the oldest first.
    func take(upTo count: Int) -> [Int64] {
        ids.withLock { ids in
            let taken = Array(ids.prefix(count))
            ids.removeFirst(taken.count)
            return taken
        }
    }

    var isEmpty: Bool { ids.withLock { $0.isEmpty } }
}

/// What a transaction run by ``Database`` did that matters after it commits.
final class TransactionMarks: Sendable {
    private let outbox = Mutex<[Int64]>([])

    /// The transaction running in this task, if ``Database`` started one.
    @TaskLocal static var current: TransactionMarks?

    /// The transaction wrote these outbox rows.
    func outboxWritten(_ ids: [Int64]) { outbox.withLock { $0 += ids } }
    /// The outbox rows the transaction wrote.
    var outboxRows: [Int64] { outbox.withLock { $0 } }
}
