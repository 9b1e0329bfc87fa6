import Foundation
import Logging
import Messaging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Settings of the outbox relay.
public struct OutboxRelayConfiguration: Sendable {
    /// Most rows published per window of confirms.
    public var batchSize: Int
    /// How often to look for unsent rows when no commit in this process wakes the relay.
    public var pollInterval: Duration
    /// How long a row the broker confirmed stays, marked sent. Zero (the default) deletes it at once, in the
    /// statement that would mark it: the outbox holds only what is still to be published. A mark writes the
    /// row again whole (body and index entries) for a later delete to remove, so keeping costs a second write
    /// of every event; it is for tracing what a service published (and for tests that read it back).
    /// Unsent rows are never deleted.
    public var sentRetention: Duration
    /// Inbox entries older than this are deleted; it must exceed the longest
    /// time a message can wait to be redelivered (dead-letter replays included).
    public var inboxRetention: Duration
    /// How often old rows are deleted and the backlog measured.
    public var housekeepingInterval: Duration
    /// How long rows committed in this process are kept from scans (this relay's and other replicas'), for
    /// this relay to publish from memory; rows of a process that died go out by a scan once it ends.
    public var lease: Duration

    public init(
        batchSize: Int = 500,
        pollInterval: Duration = .seconds(1),
        sentRetention: Duration = .zero,
        inboxRetention: Duration = .seconds(30 * 24 * 3600),
        housekeepingInterval: Duration = .seconds(30),
        lease: Duration = .seconds(5)
    ) {
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.sentRetention = sentRetention
        self.inboxRetention = inboxRetention
        self.housekeepingInterval = housekeepingInterval
        self.lease = lease
    }
}

/// Publishes a schema's outbox rows with confirms and marks them sent: deletes them, unless
/// ``OutboxRelayConfiguration/sentRetention`` keeps them a while.
///
/// A commit in this process that wrote outbox rows hands the relay the rows themselves
/// (``OutboxWakeups``), written leased to this process so that no scan takes them meanwhile:
/// the relay publishes them from memory as one window of confirms and marks the confirmed ones
/// sent in one statement. Rows written elsewhere, rows whose retry comes due and rows whose lease
/// ended unpublished (their process died) are found by a scan at least every poll interval: a scan
/// locks a batch of unsent rows with `FOR UPDATE SKIP LOCKED` (so replicas share the work and a
/// late-committing transaction's rows are never skipped), publishes them and marks them in the
/// same transaction. Either way, rows not confirmed (returned, nacked, unknown) are scheduled for
/// another try with growing delay; if the relay dies between publishing and marking, the rows are
/// published again and the consumers' inboxes absorb the copy. (A scan walks the unsent-rows index,
/// whose entries for rows sent a moment ago stay until vacuum: one scan per commit would cost more
/// under load the longer the load lasts.)
public final class OutboxRelay: Service, Sendable {
    private let database: Database
    private let publisher: Publisher
    private let configuration: OutboxRelayConfiguration
    private let logger: Logger
    private let committed: CommittedRows
    private let sentCounter = Counter(label: "huhang_outbox_sent_total")
    private let failedCounter = Counter(label: "huhang_outbox_publish_failed_total")
    private let lagGauge = Gauge(label: "huhang_outbox_unsent")
    /// Called after a window is published and before it is marked sent (tests use it to stop the relay there).
    let afterPublish: (@Sendable ([Int64]) async throws -> Void)?
    /// Rows published from memory and confirmed but not yet marked sent: marked together, in one statement, at most
    /// ``markDelay`` after the first of them (well inside their lease, so no scan takes them meanwhile).
    private let confirmed = Mutex<(ids: [Int64], since: ContinuousClock.Instant?)>(([], nil))
    /// How long a confirmed row may wait to be marked sent with others.
    private var markDelay: Duration { min(configuration.lease / 10, .milliseconds(500)) }

    public convenience init(
        database: Database,
        publisher: Publisher,
        configuration: OutboxRelayConfiguration = .init(),
        logger: Logger
    ) {
        self.init(database: database, publisher: publisher, configuration: configuration, logger: logger, afterPublish: nil)
    }

    init(
        database: Database,
        publisher: Publisher,
        configuration: OutboxRelayConfiguration,
        logger: Logger,
        afterPublish: (@Sendable ([Int64]) async throws -> Void)?
    ) {
        self.database = database
        self.publisher = publisher
        self.configuration = configuration
        self.logger = logger
        self.afterPublish = afterPublish
        self.committed = CommittedRows(lease: configuration.lease)
    }

    /// Relays until graceful shutdown, then makes one last pass so that
    /// committed events leave before the process does.
    public func run() async throws {
        OutboxWakeups.add(committed, schema: database.schema)
        defer { OutboxWakeups.remove(committed, schema: database.schema) }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.housekeeping() }
            await cancelWhenGracefulShutdown {
                await self.relayLoop()
            }
            // Final flush within the shutdown deadline: what this process committed, its marks, then a scan.
            while !committed.isEmpty, (try? await self.relay(committed.take(upTo: configuration.batchSize))) != nil {}
            try? await self.markConfirmed(all: true)
            _ = try? await self.relayOnce()
            group.cancelAll()
        }
    }

    private func relayLoop() async {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(10))
        // The first round scans: rows a previous run left unsent go out at once.
        var lastScan = ContinuousClock.now - configuration.pollInterval
        while !Task.isCancelled {
            do {
                let scan = ContinuousClock.now - lastScan >= configuration.pollInterval
                if scan { lastScan = .now }
                let count = scan ? try await relayOnce() : try await relay(committed.take(upTo: configuration.batchSize))
                try await markConfirmed(all: false)
                backoff.reset()
                if count >= configuration.batchSize || !committed.isEmpty { continue }
            } catch {
                if Task.isCancelled { break }
                logger.warning("outbox relay round failed", metadata: ["error.message": "\(error)", "db.schema": "\(database.schema)"])
                try? await Task.sleep(for: backoff.next())
                continue
            }
            // Wait for a commit's rows, the poll interval or the time to mark confirmed rows, whichever comes first.
            let markDue = confirmed.withLock { $0.since }.map { max(.zero, markDelay - (ContinuousClock.now - $0)) }
            await committed.wake.wait(timeout: min(configuration.pollInterval, markDue ?? configuration.pollInterval))
        }
    }

    /// Publishes one batch of unsent rows, found by a scan.
    /// - Returns: How many rows the round handled.
    @discardableResult
    public func relayOnce() async throws -> Int {
        let schema = database.schema
        let logger = self.logger
        let batchSize = configuration.batchSize
        let (sent, failed) = try await database.withTransaction(within: .seconds(60)) { connection -> (Int, Int) in
            // Rows another relay holds are skipped: it publishes them.
            let rows = try await connection.query(prepared: """
                SELECT id, properties::text, exchange, routing_key, body, attempts
                FROM \(unescaped: schema).outbox
                WHERE sent_at IS NULL AND next_attempt_at <= now()
                ORDER BY id
                LIMIT \(batchSize)
                FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var ids: [Int64] = []
            var attempts: [Int] = []
            var messages: [OutgoingMessage] = []
            for try await (id, propertiesJSON, exchange, routingKey, body, attempt) in rows.decode((Int64, String, String, String, ByteBuffer, Int).self) {
                let stored = try JSONDecoder().decode(Outbox.StoredProperties.self, from: Data(propertiesJSON.utf8))
                ids.append(id)
                attempts.append(attempt)
                messages.append(OutgoingMessage(
                    exchange: exchange, routingKey: routingKey, properties: stored.amqp,
                    body: Array(buffer: body), mandatory: true))
            }
            if messages.isEmpty { return (0, 0) }
            let outcomes = try await self.publish(messages, ids: ids)
            return try await self.mark(outcomes, of: messages, ids: ids, attempts: attempts, on: connection)
        }
        count(sent: sent, failed: failed)
        return sent + failed
    }

    /// Publishes rows committed in this process, from memory; the confirmed ones are marked sent with the next
    /// rounds' (``markConfirmed(all:)``), the others scheduled for another try at once. Rows handed over longer
    /// ago than half the lease are left to a scan (which may take them once the lease ends).
    /// - Returns: How many rows the round handled.
    func relay(_ rows: [CommittedRows.Row]) async throws -> Int {
        let fresh = rows.filter { ContinuousClock.now - $0.at < configuration.lease / 2 }
        guard !fresh.isEmpty else { return 0 }
        let ids = fresh.map(\.id)
        let messages = fresh.map(\.message)
        let published = try await publish(messages, ids: ids)
        let sent = zip(ids, published.outcomes).filter { $0.1 == .confirmed }.map(\.0)
        if !sent.isEmpty {
            confirmed.withLock { confirmed in
                if confirmed.since == nil { confirmed.since = .now }
                confirmed.ids += sent
            }
        }
        var failed = 0
        if sent.count < ids.count {
            let others = published.outcomes.indices.filter { published.outcomes[$0] != .confirmed }
            (_, failed) = try await database.withConnection(within: .seconds(60)) { connection in
                try await self.mark(
                    (others.map { published.outcomes[$0] }, published.failure), of: others.map { messages[$0] }, ids: others.map { ids[$0] },
                    attempts: Array(repeating: 0, count: others.count), on: connection)
            }
        }
        count(sent: sent.count, failed: failed)
        return sent.count + failed
    }

    /// Marks the rows published from memory and confirmed as sent, in one statement, once the first has waited
    /// ``markDelay`` or a batch of them has gathered (or now, with `all`). Rows not marked because the database
    /// failed stay to be marked by the next round; should their lease end first, a scan publishes them again and
    /// the consumers' inboxes absorb the copy.
    func markConfirmed(all: Bool) async throws {
        let ids = confirmed.withLock { confirmed -> [Int64] in
            guard let since = confirmed.since,
                  all || confirmed.ids.count >= configuration.batchSize || ContinuousClock.now - since >= markDelay else { return [] }
            defer { confirmed = ([], nil) }
            return confirmed.ids
        }
        guard !ids.isEmpty else { return }
        do {
            try await database.withConnection(within: .seconds(60)) { connection in try await self.markSent(ids, on: connection) }
        } catch {
            confirmed.withLock { confirmed in
                confirmed.ids = ids + confirmed.ids
                confirmed.since = confirmed.since.map { Swift.min($0, .now) } ?? .now
            }
            throw error
        }
    }

    /// Publishes a window of rows with confirms: the outcome of each, nil where unknown (with why).
    private func publish(_ messages: [OutgoingMessage], ids: [Int64]) async throws -> (outcomes: [PublishOutcome?], failure: String) {
        Failpoint.crash("relay.before-publish")
        var outcomes: [PublishOutcome?]
        var failure = "publish outcome unknown"
        do {
            outcomes = try await publisher.publish(messages)
        } catch {
            failure = "\(error)"
            outcomes = Array(repeating: nil, count: messages.count)
        }
        try await afterPublish?(ids)
        if outcomes.contains(.confirmed) { Failpoint.crash("relay.after-publish") }
        return (outcomes, failure)
    }

    /// Marks the confirmed rows sent and schedules the others for another try, 1 s, 2 s, 4 s … up to 5 minutes on.
    /// - Returns: How many were sent, and how many failed.
    private func mark(
        _ published: (outcomes: [PublishOutcome?], failure: String), of messages: [OutgoingMessage], ids: [Int64], attempts: [Int],
        on connection: PostgresConnection
    ) async throws -> (Int, Int) {
        let schema = database.schema
        var sentIDs: [Int64] = []
        var failedIDs: [Int64] = []
        var delays: [Int] = []
        var errors: [String] = []
        for (index, outcome) in published.outcomes.enumerated() {
            if outcome == .confirmed {
                sentIDs.append(ids[index])
            } else {
                failedIDs.append(ids[index])
                delays.append(min(300, 1 << min(attempts[index], 9)))
                switch outcome {
                case .returned(let code, let text)?: errors.append("returned \(code) \(text): no queue bound to \(messages[index].routingKey)")
                case .nacked?: errors.append("nacked by the broker")
                default: errors.append(published.failure)
                }
            }
        }
        try await markSent(sentIDs, on: connection)
        if !failedIDs.isEmpty {
            try await connection.query(prepared: """
                UPDATE \(unescaped: schema).outbox AS o
                SET attempts = o.attempts + 1, last_error = f.error,
                    next_attempt_at = now() + make_interval(secs => f.delay)
                FROM unnest(\(failedIDs)::bigint[], \(delays)::int[], \(errors)::text[]) AS f(id, delay, error)
                WHERE o.id = f.id
                """, logger: logger)
            logger.warning("outbox rows not confirmed; will retry", metadata: [
                "db.schema": "\(schema)", "outbox.count": "\(failedIDs.count)", "error.message": "\(errors[0])",
            ])
        }
        return (sentIDs.count, failedIDs.count)
    }

    /// Marks rows sent, in one statement: deletes them, or with a retention sets `sent_at` for housekeeping
    /// to delete them later.
    private func markSent(_ ids: [Int64], on connection: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        if configuration.sentRetention == .zero {
            try await connection.query(prepared: """
                DELETE FROM \(unescaped: database.schema).outbox WHERE id = ANY(\(ids))
                """, logger: logger)
        } else {
            try await connection.query(prepared: """
                UPDATE \(unescaped: database.schema).outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL
                WHERE id = ANY(\(ids))
                """, logger: logger)
        }
    }

    private func count(sent: Int, failed: Int) {
        if sent > 0 { sentCounter.increment(by: sent) }
        if failed > 0 { failedCounter.increment(by: failed) }
    }

    /// Deletes old sent rows and old inbox entries, and reports the backlog.
    private func housekeeping() async {
        let schema = database.schema
        while !Task.isCancelled {
            do {
                let sentSeconds = Int(configuration.sentRetention.components.seconds)
                let inboxSeconds = Int(configuration.inboxRetention.components.seconds)
                try await database.query("""
                    DELETE FROM \(unescaped: schema).outbox WHERE id IN (
                        SELECT id FROM \(unescaped: schema).outbox
                        WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => \(sentSeconds))
                        LIMIT 10000)
                    """, logger: logger)
                try await database.query("""
                    DELETE FROM \(unescaped: schema).inbox WHERE message_id IN (
                        SELECT message_id FROM \(unescaped: schema).inbox
                        WHERE received_at < now() - make_interval(secs => \(inboxSeconds))
                        LIMIT 10000)
                    """, logger: logger)
                let rows = try await database.query(
                    "SELECT count(*) FROM \(unescaped: schema).outbox WHERE sent_at IS NULL", logger: logger)
                for try await count in rows.decode(Int.self) { lagGauge.record(count) }
            } catch {
                logger.debug("outbox housekeeping skipped", metadata: ["error.message": "\(error)"])
            }
            try? await Task.sleep(for: configuration.housekeepingInterval)
        }
    }
}
