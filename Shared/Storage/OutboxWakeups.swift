import Messaging
import Synchronization

/// Hands this process's outbox relay the messages a transaction wrote to the outbox when it commits.
///
/// Every outbox row is written by a service process that runs a relay for its schema, so the committing
/// process gives its own relay the rows at once — ids and messages — and the relay publishes them from
/// memory and marks them sent, without reading them back. Rows so handed over are written leased to this
/// process (``lease(schema:)``): a scan for unsent rows, here or in another replica, passes over them until
/// the lease ends, so two relays do not publish them together; if this process dies before publishing them,
/// a scan publishes them once the lease is over. (PostgreSQL's NOTIFY would wake relays across processes,
/// but a transaction that notifies takes a database-wide lock from its commit's start to its end — WAL
/// flush included — so every service's notifying commits would run one at a time.) Rows written by other
/// processes, and rows whose retry comes due, are found by the relay's scan.
enum OutboxWakeups {
    /// The relays running in this process, by schema; the first one of a schema is handed its rows.
    private static let relays = Mutex<[String: [CommittedRows]]>([:])

    /// Hands `rows` the messages of every outbox row committed on `schema`, until ``remove(_:schema:)``.
    static func add(_ rows: CommittedRows, schema: String) {
        relays.withLock { $0[schema, default: []].append(rows) }
    }

    static func remove(_ rows: CommittedRows, schema: String) {
        relays.withLock { $0[schema]?.removeAll { $0 === rows } }
    }

    /// How long outbox rows written on `schema` now are leased to this process's relay; nil when no relay
    /// for it runs in this process (the rows are then left to a scan at once).
    static func lease(schema: String) -> Duration? {
        relays.withLock { $0[schema]?.first?.lease }
    }

    /// A transaction that wrote these outbox rows on `schema` committed.
    static func committed(schema: String, rows: [CommittedRows.Row]) {
        relays.withLock { $0[schema]?.first }?.add(rows)
    }
}

/// The outbox rows committed in this process and not yet taken by its relay, with the signal that
/// wakes the relay for them.
final class CommittedRows: Sendable {
    /// A committed outbox row, as it was written.
    struct Row: Sendable {
        let id: Int64
        let message: OutgoingMessage
        /// When it was handed over; a row left longer than the lease is left to a scan.
        let at: ContinuousClock.Instant
    }

    /// More are forgotten (a scan finds them once their lease ends): a relay that cannot publish must not
    /// grow this without bound.
    static let limit = 10_000
    /// How long rows handed to this relay are kept from scans.
    let lease: Duration
    private let rows = Mutex<[Row]>([])
    let wake = WakeSignal()

    init(lease: Duration) {
        self.lease = lease
    }

    func add(_ new: [Row]) {
        rows.withLock { rows in
            rows.append(contentsOf: new.prefix(max(0, Self.limit - rows.count)))
        }
        wake.signal()
    }

    /// Takes up to `count` rows, the oldest first.
    func take(upTo count: Int) -> [Row] {
        rows.withLock { rows in
            let taken = Array(rows.prefix(count))
            rows.removeFirst(taken.count)
            return taken
        }
    }

    var isEmpty: Bool { rows.withLock { $0.isEmpty } }
}

/// What a transaction run by ``Database`` did that matters after it commits.
final class TransactionMarks: Sendable {
    private let outbox = Mutex<[CommittedRows.Row]>([])

    /// The transaction running in this task, if ``Database`` started one.
    @TaskLocal static var current: TransactionMarks?

    /// The transaction wrote these outbox rows, leased to this process's relay.
    func outboxWritten(_ rows: [(id: Int64, message: OutgoingMessage)]) {
        let now = ContinuousClock.now
        outbox.withLock { $0 += rows.map { CommittedRows.Row(id: $0.id, message: $0.message, at: now) } }
    }
    /// The outbox rows the transaction wrote.
    var outboxRows: [CommittedRows.Row] { outbox.withLock { $0 } }
}
