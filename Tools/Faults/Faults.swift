import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import Storage
import Synchronization
import ToolKit

/// What a fault's injection found besides the ledger: whether its own condition held, and what was seen.
struct Observed: Sendable {
    var held: Bool
    var note: String
    /// Seconds from the harm until everything was whole again (the cluster suite's faults), nil when it never was.
    var recovered: Double?
    /// What the suite did as an operator would to bring it back (the cluster suite), nil when it came back by itself.
    var remedy: String?
    init(_ held: Bool, _ note: String, recovered: Double? = nil, remedy: String? = nil) {
        self.held = held
        self.note = note
        self.recovered = recovered
        self.remedy = remedy
    }
}

extension Suite {
    /// Waits until the agency has sent at least `count` reports.
    func whenSent(_ sender: AgencySender, _ count: Int) async {
        while sender.all.count < count { try? await Task.sleep(for: .milliseconds(20)) }
    }

    /// Drives reports through intake and assessment while `inject` does its harm, brings the services back,
    /// waits for every confirmed report to come through, and checks the ledger.
    func ledgerFault(
        _ number: Int, _ fault: String, count: Int = 300, pupils: Int = 50, rate: Double = 300, copies: Int = 1,
        inject: @escaping @Sendable (Suite, AgencySender) async throws -> Observed
    ) async -> Verdict {
        await measured(number, fault) { verdict in
            try await ensure("intake")
            try await ensure("assessment")
            let run = "f\(number)-\(UUID().uuidString.prefix(6).lowercased())"
            let sender = sender(run)
            let publishing = Task { await sender.publish(count: count, pupils: pupils, rate: rate, copies: copies) }
            let observed = try await inject(self, sender)
            await publishing.value
            try await ensure("intake")
            try await ensure("assessment")
            try await tally(&verdict, sender: sender, run: run, within: 150)
            verdict.condition = observed.note
            verdict.passed = observed.held && verdict.ledgerHolds(count)
        }
    }

    /// One fault's row: `body` fills it in; an error it throws fails the row with its text, a service that crashed
    /// by itself meanwhile fails it too, and the row gets the fault's duration.
    /// - Parameters:
    ///   - number: The fault's number in the table.
    ///   - fault: What the fault is.
    ///   - body: The fault, filling in the row.
    func measured(_ number: Int, _ fault: String, _ body: (inout Verdict) async throws -> Void) async -> Verdict {
        let started = Date()
        let sizes = logSizes()
        var verdict = Verdict(number: number, fault: fault)
        do {
            try await body(&verdict)
        } catch {
            verdict.condition = "error: \(error)"
            verdict.passed = false
        }
        verdict = noCrashes(verdict, since: sizes)
        verdict.seconds = Date().timeIntervalSince(started)
        return verdict
    }

    /// The oracle: waits up to `seconds` for every report the agency confirmed to come through the pipeline,
    /// then counts into `verdict` what was sent, confirmed, applied, lost, duplicated and unexpected.
    /// - Parameters:
    ///   - verdict: The row to fill in.
    ///   - sender: The agency that published the run.
    ///   - run: The run's prefix of message ids.
    ///   - seconds: How long to wait for the confirmed reports.
    func tally(_ verdict: inout Verdict, sender: AgencySender, run: String, within seconds: Double) async throws {
        let checker = Checker(database: database, logger: logger)
        let confirmed = sender.confirmed
        _ = await eventually(seconds) {
            let (_, pipeline) = try await checker.applied(run: run)
            return confirmed.allSatisfy { pipeline[$0, default: 0] >= 1 }
        }
        try await Task.sleep(for: .seconds(2))
        let (intake, pipeline) = try await checker.applied(run: run)
        let all = sender.all
        verdict.sent = all.count
        verdict.confirmed = confirmed.count
        verdict.applied = pipeline.filter { $0.value >= 1 }.count
        verdict.lost = confirmed.filter { pipeline[$0, default: 0] == 0 }.count
        verdict.duplicated = Set(pipeline.filter { $0.value > 1 }.keys).union(intake.filter { $0.value > 1 }.keys).count
        verdict.unexpected = pipeline.keys.filter { !all.contains($0) }.count
    }

    /// A fault with a check of its own and no ledger traffic.
    func conditionFault(_ number: Int, _ fault: String, _ body: @escaping @Sendable (Suite) async throws -> (Verdict) -> Verdict) async -> Verdict {
        await measured(number, fault) { verdict in
            try await ensure("intake")
            try await ensure("assessment")
            verdict = try await body(self)(verdict)
        }
    }

    /// Fails a verdict when a service crashed by itself during the fault.
    func noCrashes(_ verdict: Verdict, since sizes: [String: Int]) -> Verdict {
        let crashed = crashes(since: sizes)
        guard !crashed.isEmpty else { return verdict }
        var verdict = verdict
        verdict.passed = false
        verdict.condition += "; CRASHED: " + crashed.joined(separator: "; ")
        return verdict
    }

}

extension Suite where Stack == FaultStack {
    /// The proxy between the services and the broker.
    var proxy: TCPProxy { stack.proxy }

    /// The broker's management API (for redelivery counts).
    func management(_ path: String) async throws -> [String: Any] {
        let (_, data) = try await HTTPExchange.send(
            "GET", "http://127.0.0.1:\(stack.amqpPort + 10000)/api\(path)",
            headers: [("Authorization", "Basic " + Data("huhang:huhang".utf8).base64EncodedString())], timeout: 5)
        return (try JSONSerialization.jsonObject(with: Data(data)) as? [String: Any]) ?? [:]
    }

    // MARK: - The faults

    func allFaults() -> [(Int, @Sendable (Suite) async -> Verdict)] {
        [
            (1, { await $0.brokerKilled() }), (2, { await $0.relayKilledAfterPublish() }), (3, { await $0.consumerKilled() }),
            (4, { await $0.ackLost() }), (5, { await $0.postgresCrash() }), (6, { await $0.killedBeforePublish() }),
            (7, { await $0.businessRollback() }), (8, { await $0.poison() }), (9, { await $0.undecodable() }),
            (10, { await $0.unroutable() }), (11, { await $0.brokerRestartWithBacklog() }), (12, { await $0.connectionReset() }),
            (13, { await $0.blackHole() }), (14, { await $0.postgresUnreachable() }), (15, { await $0.resourceAlarm() }),
            (16, { await $0.twoReplicasAtOnce() }), (17, { await $0.oneSubjectConcurrently() }), (18, { await $0.sigterm() }),
            (19, { await $0.consumerTimeout() }), (20, { await $0.soak() }), (21, { await $0.newFields() }),
            (22, { await $0.oneTrace() }),
        ]
    }

    /// 1. The broker killed (-9) while an agency publishes and the services consume.
    func brokerKilled() async -> Verdict {
        await ledgerFault(1, "broker killed (-9) while publishing", count: 600, rate: 300) { suite, sender in
            await suite.whenSent(sender, 200)
            let at = sender.all.count
            try suite.stack.killBroker()
            try await Task.sleep(for: .seconds(1))
            try suite.stack.up()
            let back = await suite.eventually(60) { await ServiceProcess.ready(port: suite.processes["intake"]![0].port, within: 1) }
            return Observed(back, "broker killed at \(at) sent; \(sender.unknownWindows.load(ordering: .relaxed)) window(s) unknown, sent again")
        }
    }

    /// 2. The outbox relay dies after the broker confirmed a batch, before marking the rows sent.
    func relayKilledAfterPublish() async -> Verdict {
        await ledgerFault(2, "relay killed after publish, before marking sent", count: 200, rate: 200) { suite, sender in
            await suite.stopAll("intake")
            let doomed = try await suite.start("intake", ["HUHANG_FAILPOINTS": "relay.after-publish"], waitReady: false)
            let died = await doomed.wait(upTo: 60)
            let status = (doomed.terminationStatus ?? -1)
            let unmarked = try await suite.number("SELECT count(*)::int FROM intake.outbox WHERE sent_at IS NULL")
            try await suite.ensure("intake")
            return Observed(died && status == 137 && unmarked > 0, "relay died (exit \(status)) with \(unmarked) published rows unmarked; published again")
        }
    }

    /// 3. A consumer killed (-9) in the middle of its batch.
    func consumerKilled() async -> Verdict {
        await ledgerFault(3, "consumer killed (-9) mid-batch", count: 400, rate: 300) { suite, sender in
            // First exactly there: a batch of several deliveries handled, its transaction not committed. Assessment
            // starts on a backlog, so its first batch is full; the failpoint kills it before that batch commits.
            await suite.stopAll("assessment")
            await suite.whenSent(sender, 60)
            let doomed = try await suite.start("assessment", ["HUHANG_FAILPOINTS": "dispatcher.before-commit"], waitReady: false)
            let diedBeforeCommit = await doomed.wait(upTo: 60) && doomed.terminationStatus == 137
            try await suite.ensure("assessment")
            await suite.whenSent(sender, 150)
            let victim = suite.processes["assessment"]![0]
            victim.signal(SIGKILL)
            let intake = suite.processes["intake"]![0]
            await suite.whenSent(sender, 250)
            intake.signal(SIGKILL)
            _ = await victim.wait(upTo: 5)
            _ = await intake.wait(upTo: 5)
            try await Task.sleep(for: .seconds(1))
            return Observed(diedBeforeCommit, diedBeforeCommit
                ? "assessment killed with a batch handled but not committed; then assessment and intake killed mid-stream; restarted"
                : "assessment did not die before a batch's commit")
        }
    }

    /// 4. The transaction committed, the ack never sent.
    func ackLost() async -> Verdict {
        await ledgerFault(4, "commit done, ack lost", count: 150, rate: 150) { suite, sender in
            await suite.stopAll("assessment")
            let doomed = try await suite.start("assessment", ["HUHANG_FAILPOINTS": "consumer.before-ack"], waitReady: false)
            let died = await doomed.wait(upTo: 60)
            return Observed(died && (doomed.terminationStatus ?? -1) == 137, "assessment died after a commit, before its ack; redelivered on restart")
        }
    }

    /// 5. PostgreSQL stopped in immediate mode in the middle of transactions.
    func postgresCrash() async -> Verdict {
        await ledgerFault(5, "PostgreSQL stopped immediately mid-transaction", count: 400, rate: 250) { suite, sender in
            await suite.whenSent(sender, 120)
            let at = sender.all.count
            try suite.stack.crashPostgres()
            try await Task.sleep(for: .seconds(3))
            try suite.stack.up()
            return Observed(true, "crashed at \(at) sent, back after 3 s; queries the crash left unanswered gave up after 30 s")
        }
    }

    /// 6. The service dies after its transaction committed, before the relay published anything.
    func killedBeforePublish() async -> Verdict {
        await ledgerFault(6, "killed between commit and first publish", count: 150, rate: 150) { suite, sender in
            await suite.stopAll("intake")
            let doomed = try await suite.start("intake", ["HUHANG_FAILPOINTS": "relay.before-publish"], waitReady: false)
            let died = await doomed.wait(upTo: 60)
            let waiting = try await suite.number("SELECT count(*)::int FROM intake.outbox WHERE sent_at IS NULL")
            return Observed(died && (doomed.terminationStatus ?? -1) == 137 && waiting > 0,
                            "intake died with \(waiting) committed events unpublished; the outbox delivered them after restart")
        }
    }

    /// 7. A business rule refuses the change: nothing of it is written, no event goes out.
    func businessRollback() async -> Verdict {
        await conditionFault(7, "business rollback") { suite in
            let run = "f7-\(UUID().uuidString.prefix(6).lowercased())"
            let sender = suite.sender(run)
            let first = try sender.message(0, pupils: 1, id: "\(run)-first")
            // The same external id again with another body: intake refuses it as a conflict and rolls back.
            var second = try sender.message(1, pupils: 1, id: "\(run)-second")
            second = OutgoingMessage(exchange: second.exchange, routingKey: second.routingKey, properties: second.properties,
                                     body: Array(String(decoding: second.body, as: UTF8.self).replacingOccurrences(of: "\(run)-1", with: "\(run)-0").utf8))
            let connection = try await AMQPConnection.connect(try AMQPConfiguration(url: sender.url, connectionName: "fault-agency"), logger: suite.logger)
            var outcomes = try await connection.publish([first])
            _ = await suite.eventually(30) { try await suite.number("SELECT count(*)::int FROM intake.inbox WHERE message_id = \(run + "-first")") == 1 }
            outcomes += try await connection.publish([second])
            await connection.close()
            let settled = await suite.eventually(30) {
                try await suite.number("SELECT count(*)::int FROM intake.inbox WHERE message_id LIKE \(run + "-%")") == 2
            }
            let accepted = try await suite.number("""
                SELECT count(*)::int FROM intake.outbox WHERE routing_key = 'report.accepted.v1' AND properties->>'correlationID' = \(run + "-second")
                """)
            let conflict = try await suite.number("""
                SELECT count(*)::int FROM intake.outbox WHERE routing_key <> 'report.accepted.v1' AND properties->>'correlationID' = \(run + "-second")
                AND convert_from(body, 'UTF8') LIKE '%"status":"conflict"%'
                """)
            return { verdict in
                var verdict = verdict
                verdict.sent = 2
                verdict.confirmed = outcomes.filter { $0 == .confirmed }.count
                verdict.applied = 1
                verdict.condition = "refused change: \(accepted) report.accepted rows, \(conflict) conflict receipt"
                verdict.passed = settled && accepted == 0 && conflict == 1 && verdict.confirmed == 2
                return verdict
            }
        }
    }

    /// 8. A poison message: its handler always throws.
    func poison() async -> Verdict {
        await ledgerFault(8, "poison message (handler always throws)", count: 400, rate: 200) { suite, sender in
            await suite.stopAll("intake")
            // A replica that stops first handles what it already took (up to its prefetch): the poisoned report is one
            // published after it ended, so the replica with the failpoint is the one that receives it.
            let poisoned = "\(sender.run)-m\(sender.all.count + 10)"
            let intake = try await suite.start("intake", ["HUHANG_FAILPOINTS": "handler.fail-id=\(poisoned)"])
            let cpuBefore = intake.cpuSeconds, wallBefore = Date()
            await suite.whenSent(sender, 400)
            let dead = await suite.eventually(30) { try await suite.deadLetters("intake").contains { $0.id == poisoned } }
            let letters = try await suite.deadLetters("intake").filter { $0.id == poisoned }
            try await Task.sleep(for: .seconds(3))
            let cpu = (intake.cpuSeconds - cpuBefore) / Date().timeIntervalSince(wallBefore)
            await suite.stopAll("intake")
            // The poisoned report is in the dead queue, not applied: replay it to the healthy intake so the ledger closes.
            try await suite.ensure("intake")
            _ = try run(suite.binaries.appendingPathComponent("huhang-admin").path,
                        ["dead", "replay", "--service", "intake", "--id", poisoned], environment: ["AMQP_URL": suite.stack.brokerURL])
            let reason = letters.first?.reason ?? "none"
            return Observed(dead && letters.count == 1 && cpu < 0.9,
                            "set aside once after 2 retries (\(reason.prefix(60))); others flowed; CPU \(String(format: "%.2f", cpu)) cores; replayed after the fix")
        }
    }

    /// 9. Undecodable, and unknown-major-version, messages.
    func undecodable() async -> Verdict {
        await conditionFault(9, "undecodable or unknown-major-version message") { suite in
            let run = "f9-\(UUID().uuidString.prefix(6).lowercased())"
            let garbage = OutgoingMessage(
                exchange: ExchangeName.events, routingKey: "report.accepted.v1",
                properties: AMQPProperties(contentType: "application/json", messageID: "\(run)-garbage", type: "report.accepted.v1"),
                body: Array("{not json at all".utf8))
            let future = OutgoingMessage(
                exchange: ExchangeName.events, routingKey: "report.accepted.v1",
                properties: AMQPProperties(contentType: "application/json", messageID: "\(run)-v9", type: "report.accepted.v9"),
                body: Array("{}".utf8))
            let start = Date()
            let first = try await suite.publishEvent(garbage)
            let second = try await suite.publishEvent(future)
            var letters: [(id: String, reason: String)] = []
            let found = await suite.eventually(20) {
                letters = try await suite.deadLetters("assessment").filter { $0.id.hasPrefix(run) }
                return letters.count >= 2
            }
            let elapsed = Date().timeIntervalSince(start)
            try await Task.sleep(for: .seconds(2))
            letters = try await suite.deadLetters("assessment").filter { $0.id.hasPrefix(run) }
            let reasons = letters.map { "\($0.reason.prefix(40))" }.sorted().joined(separator: "; ")
            return { verdict in
                var verdict = verdict
                verdict.sent = 2
                verdict.confirmed = [first, second].filter { $0 == .confirmed }.count
                verdict.condition = "dead-lettered once each within \(String(format: "%.1f", elapsed)) s: \(reasons)"
                verdict.passed = found && letters.count == 2 && verdict.confirmed == 2
                return verdict
            }
        }
    }

    /// 10. A publish nothing can route: the row stays unsent and is retried.
    func unroutable() async -> Verdict {
        await conditionFault(10, "unroutable publish") { suite in
            // Receipts go to huhang.replies; with no agency queue and no catch-all queue, they cannot be routed.
            let connection = try await AMQPConnection.connect(try AMQPConfiguration(url: suite.stack.brokerURL, connectionName: "fault-operator"), logger: suite.logger)
            try await connection.deleteQueue(ExchangeName.unclaimedReplies)
            await connection.close()
            let run = "f10-\(UUID().uuidString.prefix(6).lowercased())"
            let sender = suite.sender(run)
            await sender.publish(count: 5, pupils: 5)
            let stuck = await suite.eventually(30) {
                try await suite.number("""
                    SELECT count(*)::int FROM intake.outbox WHERE sent_at IS NULL AND routing_key = \(suite.agencyCode)
                    AND last_error LIKE 'returned 312%' AND properties->>'correlationID' LIKE \(run + "-%")
                    """) == 5
            }
            // An operator restores the queue (a restarted service declares it again): the rows go out.
            await suite.stopAll("intake")
            try await suite.ensure("intake")
            let drained = await suite.eventually(60) {
                try await suite.number("""
                    SELECT count(*)::int FROM intake.outbox WHERE sent_at IS NULL AND properties->>'correlationID' LIKE \(run + "-%")
                    """) == 0
            }
            var arrived = 0
            _ = await suite.eventually(20) {
                arrived = try suite.depth(ExchangeName.unclaimedReplies)
                return arrived >= 5
            }
            return { verdict in
                var verdict = verdict
                verdict.sent = 5
                verdict.confirmed = sender.confirmed.count
                verdict.applied = sender.confirmed.count
                verdict.condition = "5 receipts returned (312 NO_ROUTE), kept unsent, retried; delivered once the queue was back (\(arrived) waiting)"
                verdict.passed = stuck && drained && arrived >= 5
                return verdict
            }
        }
    }

    /// 11. The broker restarted with a backlog in the queues.
    func brokerRestartWithBacklog() async -> Verdict {
        await ledgerFault(11, "broker restart with a backlog", count: 300, rate: 1000) { suite, sender in
            await suite.stopAll("assessment")
            // What the stopping replica took before it ended (up to its prefetch) it handled; the rest waits in the queue.
            let handled = try await suite.number("SELECT count(*)::int FROM assessment.inbox WHERE message_id IN (SELECT message_id FROM intake.outbox WHERE properties->>'correlationID' LIKE \(sender.run + "-%"))")
            await suite.whenSent(sender, 300)
            _ = await suite.eventually(60) {
                try await suite.number("SELECT count(*)::int FROM intake.outbox WHERE sent_at IS NULL") == 0
                    && (try suite.depth("assessment.events")) >= 300 - handled
            }
            let before = try suite.depth("assessment.events")
            _ = try suite.ctl("stop")
            try suite.stack.up()
            let after = try suite.depth("assessment.events")
            return Observed(after >= before && before >= 300 - handled && before > 0,
                            "\(before) queued before the restart (\(handled) handled by assessment as it stopped), \(after) after")
        }
    }

    /// 12. Every connection reset while consuming.
    func connectionReset() async -> Verdict {
        await ledgerFault(12, "connection reset while consuming", count: 500, rate: 250) { suite, sender in
            await suite.whenSent(sender, 150)
            suite.proxy.resetAll()
            await suite.whenSent(sender, 350)
            suite.proxy.resetAll()
            // Both consumers back on their queues. (A publisher reconnects when it next has something to publish:
            // the ledger shows whether everything it had to publish went out.)
            let back = await suite.eventually(30) {
                try suite.consumers("intake.events") >= 1 && suite.consumers("assessment.events") >= 1 && suite.proxy.openConnections >= 2
            }
            let stale = suite.logLines("intake", containing: "unknown delivery tag") + suite.logLines("assessment", containing: "unknown delivery tag")
            return Observed(back && stale == 0, "reset twice; both consumers reconnected; \(stale) stale delivery tags acknowledged")
        }
    }

    /// 13. A black-holed connection, and heartbeats during a long handler.
    func blackHole() async -> Verdict {
        await ledgerFault(13, "black-holed connection", count: 300, rate: 150) { suite, sender in
            await suite.whenSent(sender, 100)
            let accepted = suite.proxy.accepted
            let holed = Date()
            suite.proxy.blackHoleAll()
            let detected = await suite.eventually(20) { suite.proxy.accepted >= accepted + 2 }
            let seconds = Date().timeIntervalSince(holed)
            suite.proxy.resetAll()
            // A handler that takes three heartbeat intervals: the connection must live through it.
            await suite.stopAll("assessment")
            let slow = "\(sender.run)-slow"
            try await suite.start("assessment", ["HUHANG_FAILPOINTS": "handler.delay-id=\(slow),handler.delay-ms=7000"])
            let lostBefore = suite.logLines("assessment", containing: "connection lost")
            let event = OutgoingMessage(
                exchange: ExchangeName.events, routingKey: "report.accepted.v1",
                properties: AMQPProperties(contentType: "application/json", messageID: slow, type: "report.accepted.v1"),
                body: try suite.acceptedReportBody())
            _ = try await suite.publishEvent(event)
            let handled = await suite.eventually(20) { try await suite.number("SELECT count(*)::int FROM assessment.inbox WHERE message_id = \(slow)") == 1 }
            let lostAfter = suite.logLines("assessment", containing: "connection lost")
            try await suite.ensure("assessment")
            return Observed(detected && seconds <= 8 && handled && lostAfter == lostBefore,
                            "silence noticed and reconnected in \(String(format: "%.1f", seconds)) s (heartbeat 2 s); a 7 s handler kept its connection")
        }
    }

    /// 14. PostgreSQL unreachable for a while.
    func postgresUnreachable() async -> Verdict {
        await ledgerFault(14, "PostgreSQL unreachable", count: 400, rate: 200) { suite, sender in
            await suite.whenSent(sender, 100)
            try suite.stack.stopPostgres()
            let port = suite.processes["intake"]![0].port
            // While the database does not answer, readiness takes up to its own
            // 2 s database check to say 503; the probe waits longer than that.
            let probe = { await httpStatus("http://127.0.0.1:\(port)/health/ready", timeout: 5) }
            let stopped = Date()
            let notReady = await suite.eventually(20) { await probe() == 503 }
            let toNotReady = Date().timeIntervalSince(stopped)
            try await Task.sleep(for: .seconds(4))
            try suite.stack.up()
            let back = Date()
            let ready = await suite.eventually(30) { await probe() == 200 }
            let toReady = Date().timeIntervalSince(back)
            return Observed(notReady && ready, String(
                format: "readiness 503 %@ %.1f s after the stop, 200 again by itself %@ %.1f s after the start",
                notReady ? "within" : "not seen in", toNotReady, ready ? "within" : "not seen in", toReady))
        }
    }

    /// 15. A broker resource alarm blocks publishers.
    func resourceAlarm() async -> Verdict {
        await ledgerFault(15, "broker resource alarm (publishers blocked)", count: 200, rate: 1000) { suite, sender in
            await suite.stopAll("intake")
            await suite.whenSent(sender, 200)
            while sender.confirmed.count < 200 { try await Task.sleep(for: .milliseconds(50)) }
            _ = try suite.ctl("set_vm_memory_high_watermark", "0.000001")
            try await suite.start("intake", waitReady: false)
            var most = 0
            for _ in 0..<16 {
                most = max(most, try await suite.number("SELECT count(*)::int FROM intake.outbox WHERE sent_at IS NULL"))
                try await Task.sleep(for: .milliseconds(500))
            }
            _ = try suite.ctl("set_vm_memory_high_watermark", "0.4")
            let drained = await suite.eventually(60) { try await suite.number("SELECT count(*)::int FROM intake.outbox WHERE sent_at IS NULL") == 0 }
            return Observed(most > 0 && drained, "outbox grew to \(most) unsent while blocked, drained after")
        }
    }

    /// 16. The same message to two replicas at once.
    func twoReplicasAtOnce() async -> Verdict {
        await ledgerFault(16, "same message to two replicas at once", count: 300, rate: 300, copies: 2) { suite, _ in
            try await suite.ensure("intake", replicas: 2)
            try await suite.ensure("assessment", replicas: 2)
            return Observed(true, "each report published twice with one id; two intake and two assessment replicas")
        }
    }

    /// 17. Many concurrent changes to one subject.
    func oneSubjectConcurrently() async -> Verdict {
        await conditionFault(17, "many concurrent changes to one subject") { suite in
            try await suite.ensure("assessment", replicas: 3)
            let run = "f17-\(UUID().uuidString.prefix(6).lowercased())"
            let sender = suite.sender(run)
            await sender.publish(count: 200, pupils: 1, window: 100, rate: 2000)
            let checker = Checker(database: suite.database, logger: suite.logger)
            _ = await suite.eventually(90) { try await checker.applied(run: run).pipeline.count == 200 }
            let (_, pipeline) = try await checker.applied(run: run)
            // One subject: its signals must hold every applied event (no lost update) and its score the evaluation of all of them.
            let events = try await suite.number("""
                SELECT count(DISTINCT g.event_id)::int FROM assessment.signals g
                JOIN intake.outbox o ON o.message_id = g.event_id WHERE o.properties->>'correlationID' LIKE \(run + "-%")
                """)
            let referenceEvents: Int
            try await suite.ensure("assessment", replicas: 1)
            // The same 200 reports about another pupil, one replica, one at a time: the reference.
            let reference = suite.sender(run + "r")
            await reference.publish(count: 200, pupils: 1, window: 1, rate: 2000)
            _ = await suite.eventually(90) { try await checker.applied(run: run + "r").pipeline.count == 200 }
            func state(_ prefix: String) async throws -> String {
                let rows = try await suite.database.query("""
                    SELECT s.tier || ' ' || s.score FROM assessment.subjects s
                    WHERE s.subject_id IN (SELECT g.subject_id FROM assessment.signals g JOIN intake.outbox o ON o.message_id = g.event_id
                                           WHERE o.properties->>'correlationID' LIKE \(prefix + "-m%"))
                    """, logger: suite.logger)
                var states: [String] = []
                for try await value in rows.decode(String.self) { states.append(value) }
                return states.joined(separator: ",")
            }
            let concurrent = try await state(run), alone = try await state(run + "r")
            referenceEvents = try await suite.number("""
                SELECT count(DISTINCT g.event_id)::int FROM assessment.signals g
                JOIN intake.outbox o ON o.message_id = g.event_id WHERE o.properties->>'correlationID' LIKE \(run + "r-%")
                """)
            return { verdict in
                var verdict = verdict
                verdict.sent = 200
                verdict.confirmed = sender.confirmed.count
                verdict.applied = pipeline.filter { $0.value >= 1 }.count
                verdict.lost = sender.confirmed.filter { pipeline[$0, default: 0] == 0 }.count
                verdict.duplicated = pipeline.filter { $0.value > 1 }.count
                verdict.condition = "3 replicas: \(events) reports with a signal in the subject's record (one-by-one: \(referenceEvents)); state \(concurrent) = one-by-one \(alone)"
                verdict.passed = verdict.lost == 0 && verdict.duplicated == 0 && events == referenceEvents && events > 0 && concurrent == alone && !alone.isEmpty
                return verdict
            }
        }
    }

    /// 18. SIGTERM in a rolling restart.
    func sigterm() async -> Verdict {
        // 16 s of traffic: the redelivery figure settles (6–24 s) while events still flow.
        await ledgerFault(18, "SIGTERM (rolling restart)", count: 3200, rate: 200) { suite, sender in
            // The management API's statistics lag a few seconds: let earlier faults' redeliveries show first.
            let before = try await suite.settledRedeliveries("intake.events")
            let intake = suite.processes["intake"]![0]
            let sentAtSignal = sender.all.count
            let signalled = Date()
            intake.signal(SIGTERM)
            let ended = await intake.wait(upTo: 12)
            let seconds = Date().timeIntervalSince(signalled)
            try await suite.ensure("intake")
            await suite.whenSent(sender, 3200)
            let after = try await suite.settledRedeliveries("intake.events")
            return Observed(ended && (intake.terminationStatus ?? -1) == 0 && seconds < 9 && after == before && sentAtSignal < 3200,
                            "SIGTERM at \(sentAtSignal) sent: drained and exited \(intake.terminationStatus ?? -1) in \(String(format: "%.1f", seconds)) s (deadline 8 s); \(after - before) redeliveries")
        }
    }

    /// 19. A handler slower than the broker's consumer timeout.
    func consumerTimeout() async -> Verdict {
        await conditionFault(19, "handler slower than the consumer timeout") { suite in
            _ = try suite.ctl("eval", "application:set_env(rabbit, consumer_timeout, 3000).")
            defer { _ = try? suite.ctl("eval", "application:set_env(rabbit, consumer_timeout, 900000).") }
            let run = "f19-\(UUID().uuidString.prefix(6).lowercased())"
            let slow = "\(run)-slow"
            await suite.stopAll("assessment")
            try await suite.start("assessment", ["HUHANG_FAILPOINTS": "handler.delay-id=\(slow),handler.delay-ms=6000"])
            let event = OutgoingMessage(
                exchange: ExchangeName.events, routingKey: "report.accepted.v1",
                properties: AMQPProperties(contentType: "application/json", messageID: slow, type: "report.accepted.v1"),
                body: try suite.acceptedReportBody())
            let outcome = try await suite.publishEvent(event)
            let applied = await suite.eventually(40) { try await suite.number("SELECT count(*)::int FROM assessment.inbox WHERE message_id = \(slow)") == 1 }
            let closed = suite.logLines("assessment", containing: "connection lost") + suite.logLines("assessment", containing: "PRECONDITION_FAILED")
            try await Task.sleep(for: .seconds(8))
            let once = try await suite.number("SELECT count(*)::int FROM assessment.signals WHERE event_id = \(slow)")
            await suite.stopAll("assessment")
            return { verdict in
                var verdict = verdict
                verdict.sent = 1
                verdict.confirmed = outcome == .confirmed ? 1 : 0
                verdict.applied = applied ? 1 : 0
                verdict.condition = "consumer timeout 3 s, handler 6 s: channel closed by the broker (\(closed) log lines), redelivered; \(once) signal row"
                verdict.passed = applied && closed > 0 && once >= 1
                return verdict
            }
        }
    }

    /// 20. A long soak with short retention: inbox and outbox stay bounded; unsent rows are never deleted.
    func soak() async -> Verdict {
        await conditionFault(20, "a long soak") { suite in
            await suite.stopAll("intake")
            await suite.stopAll("assessment")
            let retention = ["OUTBOX_RETENTION_SECONDS": "5", "INBOX_RETENTION_SECONDS": "15", "HOUSEKEEPING_INTERVAL_SECONDS": "2"]
            try await suite.start("intake", retention)
            try await suite.start("assessment", retention)
            // An unsent row that is old: it must survive every housekeeping round.
            try await suite.database.query("""
                INSERT INTO intake.outbox (message_id, exchange, routing_key, properties, body, created_at, next_attempt_at)
                VALUES ('f20-unsent-canary', 'huhang.events', 'fault.canary.v1', '{"headers":{}}', '\\x7b7d', now() - interval '2 days', now() + interval '1 day')
                ON CONFLICT (message_id) DO NOTHING
                """, logger: suite.logger)
            // The sent rows earlier faults left (kept a day by the replicas that ran them; more than one round
            // deletes) are not this soak's load: measure once the new settings have cleared them.
            _ = await suite.eventually(60) {
                try await suite.number("""
                    SELECT count(*)::int FROM intake.outbox WHERE sent_at IS NOT NULL AND sent_at < now() - interval '5 seconds'
                    """) == 0
            }
            let run = "f20-\(UUID().uuidString.prefix(6).lowercased())"
            let sender = suite.sender(run)
            let seconds = 45.0, rate = 100.0
            let publishing = Task { await sender.publish(count: Int(seconds * rate), pupils: 200, window: 20, rate: rate) }
            var outboxMost = 0, inboxMost = 0
            while !publishing.isCancelled, sender.all.count < Int(seconds * rate) {
                outboxMost = max(outboxMost, try await suite.number("SELECT count(*)::int FROM intake.outbox WHERE sent_at IS NOT NULL"))
                inboxMost = max(inboxMost, try await suite.number("SELECT count(*)::int FROM intake.inbox"))
                try await Task.sleep(for: .seconds(1))
            }
            await publishing.value
            let accepted = await suite.eventually(240) {
                try await suite.number("SELECT count(*)::int FROM intake.accepted WHERE external_id LIKE \(run + "-%")") == sender.confirmed.count
            }
            // Leave no backlog to the faults after this one.
            _ = await suite.eventually(240) {
                let waiting = try suite.depth("assessment.events")
                let arriving = try suite.depth("intake.events")
                return waiting == 0 && arriving == 0
            }
            let canary = try await suite.number("SELECT count(*)::int FROM intake.outbox WHERE message_id = 'f20-unsent-canary'")
            try await suite.database.query("DELETE FROM intake.outbox WHERE message_id = 'f20-unsent-canary'", logger: suite.logger)
            await suite.stopAll("intake")
            await suite.stopAll("assessment")
            // Bounds: what arrives within the retention plus one housekeeping round, with slack for a slow round.
            let outboxBound = Int(rate * (5 + 2 + 5)) * 2, inboxBound = Int(rate * (15 + 2 + 5)) * 2
            return { verdict in
                var verdict = verdict
                verdict.sent = sender.all.count
                verdict.confirmed = sender.confirmed.count
                verdict.applied = accepted ? sender.confirmed.count : 0
                verdict.condition = "\(Int(seconds)) s at \(Int(rate))/s: sent outbox rows ≤ \(outboxMost) (bound \(outboxBound)), inbox ≤ \(inboxMost) (bound \(inboxBound)); old unsent row kept: \(canary == 1)"
                verdict.passed = accepted && outboxMost <= outboxBound && inboxMost <= inboxBound && canary == 1
                return verdict
            }
        }
    }

    /// 21. A v1 consumer receives a v1 message with fields it does not know.
    func newFields() async -> Verdict {
        await conditionFault(21, "v1 message with new fields") { suite in
            let id = "f21-\(UUID().uuidString.prefix(6).lowercased())"
            var body = try JSONSerialization.jsonObject(with: Data(try suite.acceptedReportBody())) as! [String: Any]
            body["aFieldFromTheFuture"] = ["nested": true]
            let event = OutgoingMessage(
                exchange: ExchangeName.events, routingKey: "report.accepted.v1",
                properties: AMQPProperties(contentType: "application/json", messageID: id, type: "report.accepted.v1"),
                body: Array(try JSONSerialization.data(withJSONObject: body)))
            let outcome = try await suite.publishEvent(event)
            let applied = await suite.eventually(90) { try await suite.number("SELECT count(*)::int FROM assessment.inbox WHERE message_id = \(id)") == 1 }
            let signals = try await suite.number("SELECT count(*)::int FROM assessment.signals WHERE event_id = \(id)")
            return { verdict in
                var verdict = verdict
                verdict.sent = 1
                verdict.confirmed = outcome == .confirmed ? 1 : 0
                verdict.applied = applied ? 1 : 0
                verdict.condition = "accepted and applied (\(signals) signals), not dead-lettered"
                verdict.passed = applied && signals > 0
                return verdict
            }
        }
    }

    /// 22. One report through every service: one trace and one correlation id.
    func oneTrace() async -> Verdict {
        await conditionFault(22, "one report, five services: one trace") { suite in
            for name in ["intervention", "inspection", "notification"] { try await suite.ensure(name) }
            let run = "f22-\(UUID().uuidString.prefix(6).lowercased())"
            let sender = suite.sender(run)
            var message = try sender.message(0, pupils: 1, id: "\(run)-report")
            let trace = TraceContext.random()
            message.properties.headers[HeaderName.traceparent] = .string(trace.traceparent)
            let body = String(decoding: message.body, as: UTF8.self).replacingOccurrences(of: "\"immediateDanger\":false", with: "\"immediateDanger\":true")
            message = OutgoingMessage(exchange: message.exchange, routingKey: message.routingKey, properties: message.properties, body: Array(body.utf8))
            let connection = try await AMQPConnection.connect(try AMQPConfiguration(url: sender.url, connectionName: "fault-agency"), logger: suite.logger)
            _ = try await connection.publish(message)
            await connection.close()
            let correlation = "\(run)-report"
            // Every service on the path has done its part: notification's notices follow the case's tasks and the risk.
            let delivered = await suite.eventually(120) {
                let notices = try await suite.number("SELECT count(*)::int FROM notification.deliveries WHERE correlation_id = \(correlation)")
                let assessed = try await suite.number("SELECT count(*)::int FROM assessment.outbox WHERE properties->>'correlationID' = \(correlation)")
                return notices >= 2 && assessed > 0
            }
            // Every event any service emitted for this report, and every notice, carries the one trace.
            var bySchema: [String] = []
            var mismatched = 0
            for schema in ["intake", "assessment", "intervention", "notification"] {
                let emitted = try await suite.number("""
                    SELECT count(*)::int FROM \(unescaped: schema).outbox WHERE properties->>'correlationID' = \(correlation)
                    """)
                mismatched += try await suite.number("""
                    SELECT count(*)::int FROM \(unescaped: schema).outbox WHERE properties->>'correlationID' = \(correlation)
                    AND coalesce(properties->'headers'->>'traceparent', '') NOT LIKE \("%\(trace.traceID)%")
                    """)
                bySchema.append("\(schema) \(emitted)")
            }
            let notices = try await suite.number("""
                SELECT count(*)::int FROM notification.deliveries WHERE correlation_id = \(correlation) AND traceparent LIKE \("%\(trace.traceID)%")
                """)
            let inspectionSaw = try await suite.number("SELECT count(*)::int FROM inspection.outbox WHERE properties->>'correlationID' = \(correlation)")
            return { verdict in
                var verdict = verdict
                verdict.sent = 1
                verdict.confirmed = 1
                verdict.applied = delivered ? 1 : 0
                verdict.condition = "events with the report's correlation id: \(bySchema.joined(separator: ", ")), inspection \(inspectionSaw) (not on a report's path); \(notices) notices; \(mismatched) with another trace"
                verdict.passed = delivered && mismatched == 0 && notices > 0 && !bySchema.contains { $0.hasSuffix(" 0") }
                return verdict
            }
        }
    }

    // MARK: - Helpers

    /// A valid report.accepted.v1 body about a pupil of the suite's school.
    func acceptedReportBody() throws -> [UInt8] {
        let payload = ContractExamples.valid.first { type(of: $0).eventType.name == "report.accepted.v1" }!
        return Array(try ContractCoding.encoder().encode(payload))
    }

    /// Messages the broker redelivered from a queue so far (management API).
    func redeliveries(_ queue: String) async throws -> Int {
        let info = try await management("/queues/%2F/\(queue)")
        let stats = info["message_stats"] as? [String: Any]
        return (stats?["redeliver"] as? Int) ?? 0
    }

    /// The queue's redeliveries once the management API's figure stops moving: it is
    /// collected every 5 s, so a figure is taken when two readings 6 s apart agree
    /// (at most four tries), and earlier faults' redeliveries are never counted late.
    func settledRedeliveries(_ queue: String) async throws -> Int {
        var last = try await redeliveries(queue)
        for _ in 0..<4 {
            try await Task.sleep(for: .seconds(6))
            let now = try await redeliveries(queue)
            if now == last { return now }
            last = now
        }
        return last
    }

    func ctl(_ arguments: String...) throws -> String {
        try run(stack.root.appendingPathComponent("scripts/dev-stack").path, ["ctl"] + arguments, environment: stack.environment)
    }
}
