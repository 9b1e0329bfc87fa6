import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import Storage
import Synchronization

/// What the sender knows of each event it published: the oracle's first half.
enum SendOutcome: Sendable { case confirmed, unknown, failed }

/// An agency publishing incident reports, recording each as confirmed, unknown or failed.
final class AgencySender: Sendable {
    let code: String
    let url: String
    let run: String
    let logger: Logger
    let ledger = Mutex<[String: SendOutcome]>([:])
    let sentOrder = Mutex<[String]>([])
    /// Windows whose confirms were lost with the connection (sent again with the same ids).
    let unknownWindows = Atomic<Int>(0)

    init(code: String, url: String, run: String, logger: Logger) {
        self.code = code
        self.url = url
        self.run = run
        self.logger = logger
    }

    /// The report with number `index` of this run, about pupil `index % pupils` of the agency's school.
    func message(_ index: Int, pupils: Int, id: String? = nil) throws -> OutgoingMessage {
        let report = IncidentReportV1(
            externalID: "\(run)-\(index)", category: IncidentCategory.allCases[index % IncidentCategory.allCases.count],
            immediateDanger: false, occurredAt: Date().addingTimeInterval(-600), schoolCode: code, narrative: "fault suite",
            people: [.init(role: .victim, studentNumber: "\(run)-p\(index % pupils)")])
        var envelope = EventEnvelope(id: id ?? "\(run)-m\(index)", type: IncidentReportV1.eventType.name, source: code)
        envelope.sender = code
        return try OutgoingMessage(report, envelope: envelope, exchange: ExchangeName.intake)
    }

    /// Publishes `count` reports in windows, at about `rate` per second, through whatever happens to the
    /// broker: a window whose confirms did not all arrive is `unknown` and is sent again (same ids) on a new
    /// connection. - Returns: When every report was confirmed or `deadline` passed.
    func publish(
        count: Int, pupils: Int, window: Int = 50, rate: Double = 500, copies: Int = 1, resendUnknown: Bool = true, deadline: Double = 120
    ) async {
        let start = ContinuousClock.now
        let end = Date().addingTimeInterval(deadline)
        var connection: AMQPConnection?
        var next = 0
        var pending: [Int] = []
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2))
        while Date() < end {
            if pending.isEmpty {
                guard next < count else { break }
                pending = Array(next..<min(next + window, count))
                next = pending.last! + 1
            }
            do {
                if connection == nil {
                    connection = try await AMQPConnection.connect(try AMQPConfiguration(url: url, heartbeatSeconds: 2, connectionName: "fault-agency"), logger: logger)
                    backoff.reset()
                }
                // Each report `copies` times in a row, with the same id (a sender that repeats itself).
                let indices = pending.flatMap { Array(repeating: $0, count: copies) }
                let messages = try indices.map { try message($0, pupils: pupils) }
                let ids = messages.compactMap(\.properties.messageID)
                sentOrder.withLock { $0.append(contentsOf: ids) }
                ledger.withLock { for id in ids where $0[id] == nil { $0[id] = .unknown } }
                let outcomes = try await connection!.publish(messages)
                var again: Set<Int> = []
                ledger.withLock { ledger in
                    for (index, outcome) in zip(indices, outcomes) {
                        let id = "\(run)-m\(index)"
                        if outcome == .confirmed { ledger[id] = .confirmed } else if ledger[id] != .confirmed { ledger[id] = .failed; again.insert(index) }
                    }
                }
                pending = again.sorted()
                let due = start + .milliseconds(Int(Double(next) / rate * 1000))
                if due > ContinuousClock.now { try await Task.sleep(until: due) }
            } catch {
                // Confirms lost with the connection: the window's outcome is unknown.
                unknownWindows.add(1, ordering: .relaxed)
                await connection?.close()
                connection = nil
                if !resendUnknown { pending = [] }
                try? await Task.sleep(for: backoff.next())
            }
        }
        await connection?.close()
    }

    var confirmed: Set<String> { ledger.withLock { Set($0.filter { $0.value == .confirmed }.keys) } }
    var all: Set<String> { ledger.withLock { Set($0.keys) } }
    var unknownNow: Int { ledger.withLock { $0.values.filter { $0 == .unknown }.count } }
}

/// The oracle's second half: how many times each agency message was applied, counted at the end of the
/// pipeline — the distinct `report.accepted.v1` events assessment recorded in its inbox, traced back to the
/// agency's message by correlation id. Zero for a confirmed message is a loss; more than one is a duplicate
/// (intake applied the report twice and passed it on twice).
struct Checker: Sendable {
    let database: Database
    let logger: Logger

    /// Times applied by intake (its inbox, keyed by the agency's message id) and end to end (assessment).
    func applied(run: String) async throws -> (intake: [String: Int], pipeline: [String: Int]) {
        var intake: [String: Int] = [:]
        let first = try await database.query("""
            SELECT message_id, count(*)::int FROM intake.inbox WHERE message_id LIKE \(run + "-%") GROUP BY 1
            """, logger: logger)
        for try await (id, count) in first.decode((String, Int).self) { intake[id] = count }
        var pipeline: [String: Int] = [:]
        let end = try await database.query("""
            SELECT o.properties->>'correlationID', count(DISTINCT a.message_id)::int
            FROM intake.outbox o JOIN assessment.inbox a ON a.message_id = o.message_id
            WHERE o.routing_key = 'report.accepted.v1' AND o.properties->>'correlationID' LIKE \(run + "-%")
            GROUP BY 1
            """, logger: logger)
        for try await (id, count) in end.decode((String, Int).self) { pipeline[id] = count }
        // Two report.accepted rows in intake's outbox for one agency message would be a duplicate even before
        // assessment sees them.
        let doubled = try await database.query("""
            SELECT properties->>'correlationID', count(*)::int FROM intake.outbox
            WHERE routing_key = 'report.accepted.v1' AND properties->>'correlationID' LIKE \(run + "-%")
            GROUP BY 1 HAVING count(*) > 1
            """, logger: logger)
        for try await (id, count) in doubled.decode((String, Int).self) { pipeline[id] = max(pipeline[id] ?? 0, count) }
        return (intake, pipeline)
    }
}

/// One fault's line in the table.
struct Verdict: Sendable {
    var number: Int
    var fault: String
    var sent = 0
    var confirmed = 0
    var applied = 0
    var lost = 0
    var duplicated = 0
    var unexpected = 0
    var condition = ""
    /// Seconds until everything was whole again (the cluster suite).
    var recovered: Double?
    /// The operator's remedy the suite applied before it was whole again, nil when none was needed.
    var remedy: String?
    var passed = false
    var seconds = 0.0

    /// The verdict as the tables print it: a pass that needed the operator's remedy is not a plain pass.
    var label: String { !passed ? "**FAIL**" : remedy == nil ? "pass" : "pass, **remedied**" }

    /// Whether the ledger holds: every one of `count` reports confirmed, none lost, none applied twice, nothing
    /// applied that was not sent.
    func ledgerHolds(_ count: Int) -> Bool { lost == 0 && duplicated == 0 && unexpected == 0 && confirmed == count }
}
