import Foundation
import Logging
import Messaging
import PostgresNIO
import Storage
import Synchronization
import ToolKit

/// Three RabbitMQ nodes and a PostgreSQL pair with its failover manager (pg_auto_failover) and endpoint
/// (HAProxy), host processes on private ports, driven through `scripts/broker-cluster` and `scripts/db-cluster`.
/// The services are given every broker node and the endpoint, as an operator would give them.
struct Clusters: Engines {
    let root: URL
    let amqpPorts = [5701, 5702, 5703]
    let endpointPort = 5810

    var nodes: String { amqpPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") }
    var databaseURL: String { "postgres://huhang:huhang@127.0.0.1:\(endpointPort)/huhang" }
    var brokerURL: String { "amqp://huhang:huhang@\(nodes)" }
    var servicesBrokerURL: String { brokerURL }
    func agencyURL(_ code: String) -> String { "amqp://\(code):\(code)@\(nodes)" }

    /// Runs `scripts/broker-cluster` with `arguments`.
    @discardableResult
    func broker(_ arguments: String...) throws -> String { try run(script("broker-cluster"), arguments) }

    /// Runs `scripts/db-cluster` with `arguments`.
    @discardableResult
    func database(_ arguments: String...) throws -> String { try run(script("db-cluster"), arguments) }

    func ctl(_ arguments: [String]) throws -> String { try run(script("broker-cluster"), ["ctl"] + arguments) }

    private func script(_ name: String) -> String { root.appendingPathComponent("scripts/\(name)").path }
}

/// Runs a blocking call (a script that may take a minute) on a thread of its own, off the cooperative pool that
/// the agency, the oracle and the suite's own waits share.
@discardableResult
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// A quorum queue as the broker reports it.
struct QuorumQueue: Decodable {
    var name: String
    var type: String
    var leader: String?
    var members: [String]?
    var online: [String]?
    var messages: Int?

    /// The number of the node leading it (`rabbit2@localhost` is 2).
    var leaderNode: Int? { leader.flatMap { Int($0.split(separator: "@").first?.dropFirst("rabbit".count) ?? "") } }
}

extension Suite where Stack == Clusters {
    /// The five services, one replica each.
    static var services: [String] { ["intake", "assessment", "intervention", "inspection", "notification"] }

    /// Every quorum queue of the broker with its members, as any node that answers reports them.
    func queues() throws -> [QuorumQueue] {
        let output = try stack.ctl("-q", "list_queues", "name", "type", "leader", "members", "online", "messages", "--formatter", "json")
        return try JSONDecoder().decode([QuorumQueue].self, from: Data(output.utf8)).filter { $0.type == "quorum" }
    }

    /// The number of the node leading `queue`.
    func leader(_ queue: String) throws -> Int {
        guard let node = try queues().first(where: { $0.name == queue })?.leaderNode else {
            throw CommandFailure(description: "\(queue) has no leader")
        }
        return node
    }

    /// Whether the cluster is whole again: three nodes running in every node's view (no partition recorded), every
    /// quorum queue with three members online, the database a primary with its synchronous standby, and every
    /// service ready.
    func whole() async -> Bool {
        guard let queues = try? await blocking({ [self] in try self.queues() }),
              !queues.isEmpty, queues.allSatisfy({ ($0.online?.count ?? 0) == 3 && ($0.members?.count ?? 0) == 3 }),
              (try? await blocking({ [stack] in try stack.database("wait-pair", "1") })) != nil,
              // Three nodes running in every node's view (not only the first that answers), no partition recorded.
              (try? await blocking({ [stack] in try stack.broker("partitions") }))?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == true
        else { return false }
        for name in Self.services {
            for process in processes[name] ?? [] where !(await ServiceProcess.ready(port: process.port, within: 1)) { return false }
        }
        return true
    }

    /// Waits until the cluster is whole. - Returns: The seconds since `since`, or nil when it was not whole in time.
    func recovered(since: Date, within seconds: Double = 180) async -> Double? {
        await eventually(seconds) { await self.whole() } ? Date().timeIntervalSince(since) : nil
    }

    /// Drives reports through the whole loop while `inject` does its harm to the engines, then waits for every
    /// confirmed report to come through and checks the ledger. The services are not restarted: they must find
    /// the broker and the database again by themselves, and still be running at the end.
    func clusterFault(
        _ number: Int, _ fault: String, count: Int = 600, rate: Double = 150,
        inject: @escaping @Sendable (Suite, AgencySender) async throws -> Observed
    ) async -> Verdict {
        await measured(number, fault) { verdict in
            for name in Self.services { try await ensure(name) }
            let run = "c\(number)-\(UUID().uuidString.prefix(6).lowercased())"
            let sender = sender(run)
            let publishing = Task { await sender.publish(count: count, pupils: 60, rate: rate, deadline: 240) }
            let observed = try await inject(self, sender)
            await publishing.value
            try await tally(&verdict, sender: sender, run: run, within: 180)
            verdict.recovered = observed.recovered
            verdict.remedy = observed.remedy
            let stopped = Self.services.filter { name in (processes[name] ?? []).contains { !$0.isRunning } }
            verdict.condition = observed.note + (stopped.isEmpty ? "" : "; STOPPED: \(stopped.joined(separator: ", "))")
            verdict.passed = observed.held && stopped.isEmpty && observed.recovered != nil && verdict.ledgerHolds(count)
        }
    }

    // MARK: - The scenarios

    func allScenarios() -> [(Int, @Sendable (Suite) async -> Verdict)] {
        [
            (1, { await $0.leaderKilled() }), (2, { await $0.twoNodesKilled() }), (3, { await $0.primaryKilled() }),
            (4, { await $0.nodePartitioned() }), (5, { await $0.nodeRestartedWithBacklog() }),
        ]
    }

    /// 1. The node leading `assessment.events` killed (-9) mid-burst; a new leader is elected, the node comes back.
    func leaderKilled() async -> Verdict {
        await clusterFault(1, "quorum leader of assessment.events killed (-9) mid-burst") { suite, sender in
            await suite.whenSent(sender, 200)
            let node = try await blocking { [suite] in try suite.leader("assessment.events") }
            let at = sender.all.count
            let killed = Date()
            try await blocking { [stack = suite.stack] in try stack.broker("kill", "\(node)") }
            var elected: Int?
            _ = await suite.eventually(30) {
                elected = try? await blocking { [suite] in try suite.leader("assessment.events") }
                return elected != nil && elected != node
            }
            let election = Date().timeIntervalSince(killed)
            try await Task.sleep(for: .seconds(3))
            try await blocking { [stack = suite.stack] in try stack.broker("start", "\(node)") }
            let recovered = await suite.recovered(since: killed)
            return Observed(
                elected != nil && elected != node,
                "node \(node) (leader) killed at \(at) sent; node \(elected.map(String.init) ?? "none") leads after \(String(format: "%.1f", election)) s; node \(node) started again 3 s later",
                recovered: recovered)
        }
    }

    /// 2. Two of the three nodes killed: the survivor pauses (pause_minority) and refuses publishers; both come
    /// back and everything flows.
    func twoNodesKilled() async -> Verdict {
        await clusterFault(2, "two of three broker nodes killed (-9)") { suite, sender in
            await suite.whenSent(sender, 200)
            // The agency's login on node 1 alone: accepted before, refused once node 1 is alone.
            let survivor = "amqp://\(suite.agencyCode):\(suite.agencyCode)@127.0.0.1:\(suite.stack.amqpPorts[0])"
            @Sendable func accepted() async -> Bool {
                do {
                    var configuration = try AMQPConfiguration(url: survivor, connectionName: "cluster-probe")
                    configuration.connectTimeout = .seconds(2)
                    let connection = try await AMQPConnection.connect(configuration, logger: suite.logger)
                    await connection.close()
                    return true
                } catch {
                    return false
                }
            }
            let acceptedBefore = await accepted()
            let at = sender.all.count
            let killed = Date()
            try await blocking { [stack = suite.stack] in try stack.broker("kill", "2") }
            try await blocking { [stack = suite.stack] in try stack.broker("kill", "3") }
            // The survivor sees it is in a minority and pauses: a publisher reaching it is refused.
            let refused = acceptedBefore ? await suite.eventually(30) { !(await accepted()) } : false
            let unknownBefore = sender.unknownWindows.load(ordering: .relaxed)
            try await Task.sleep(for: .seconds(5))
            // Both at once: a node that boots waits for its peers' tables.
            async let two: Void = blocking { [stack = suite.stack] in try stack.broker("start", "2") }
            async let three: Void = blocking { [stack = suite.stack] in try stack.broker("start", "3") }
            _ = try await (two, three)
            let recovered = await suite.recovered(since: killed)
            return Observed(
                refused,
                "nodes 2 and 3 killed at \(at) sent; node 1 \(!acceptedBefore ? "refused the agency before the kill" : refused ? "took the agency, then refused it" : "still took the agency"); "
                    + "\(unknownBefore) window(s) unconfirmed, sent again; both started after 5 s",
                recovered: recovered)
        }
    }

    /// 3. The PostgreSQL primary killed (-9) mid-burst: the monitor promotes the standby, the endpoint follows, the
    /// services reconnect by themselves, and the old primary rejoins as the standby.
    func primaryKilled() async -> Verdict {
        await clusterFault(3, "PostgreSQL primary killed (-9) mid-burst") { suite, sender in
            await suite.whenSent(sender, 200)
            let old = try await blocking { [stack = suite.stack] in try stack.database("primary") }.trimmingCharacters(in: .whitespacesAndNewlines)
            let at = sender.all.count
            let killed = Date()
            try await blocking { [stack = suite.stack] in try stack.database("kill", old) }
            var promoted = ""
            _ = await suite.eventually(60) {
                promoted = (try? await blocking { [stack = suite.stack] in try stack.database("primary") })?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                return !promoted.isEmpty && promoted != old
            }
            let promotion = Date().timeIntervalSince(killed)
            try await blocking { [stack = suite.stack] in try stack.database("start", old) }
            let recovered = await suite.recovered(since: killed)
            let now = (try? await blocking { [stack = suite.stack] in try stack.database("primary") })?.trimmingCharacters(in: .whitespacesAndNewlines)
            return Observed(
                !promoted.isEmpty && promoted != old && now == promoted,
                "primary node \(old) killed at \(at) sent; node \(promoted.isEmpty ? "none" : promoted) promoted after \(String(format: "%.1f", promotion)) s; "
                    + "node \(old) rejoined as standby",
                recovered: recovered)
        }
    }

    /// 4. One broker node cut off from its peers and its clients (every packet dropped): it pauses itself
    /// (pause_minority), the clients on it move to the other two, and after the partition heals it rejoins.
    func nodePartitioned() async -> Verdict {
        await clusterFault(4, "one broker node partitioned (packets dropped) mid-burst") { suite, sender in
            await suite.whenSent(sender, 200)
            let node = try await blocking { [suite] in try suite.leader("intake.events") }
            let at = sender.all.count
            let cut = Date()
            try await blocking { [stack = suite.stack] in try stack.broker("partition", "\(node)") }
            // The others notice after the distribution's tick time (10 s here) and carry on as two.
            let noticed = await suite.eventually(60) {
                let running = try await blocking { [stack = suite.stack] in try stack.ctl("-q", "eval", "length(rabbit_nodes:all_running()).") }
                return running.trimmingCharacters(in: .whitespacesAndNewlines) == "2"
            }
            let detection = Date().timeIntervalSince(cut)
            try await Task.sleep(for: .seconds(5))
            try await blocking { [stack = suite.stack] in try stack.broker("heal") }
            var recovered = await suite.recovered(since: cut, within: 60)
            // RabbitMQ 3.10 can keep the partition recorded after the heal (its metadata store stays split when the
            // paused node's resume races the heal, rabbitmq-server#17319), and the node's next boot can then hang in
            // the Erlang VM's name registry. An operator alerted to a node that has not rejoined a minute after the
            // network healed restarts it, RabbitMQ's documented recovery; the suite does the same and says so.
            var remedy = ""
            if recovered == nil {
                let views = (try? await blocking { [stack = suite.stack] in try stack.broker("partitions") })?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                if !views.isEmpty {
                    try await blocking { [stack = suite.stack] in try stack.broker("recover", "\(node)") }
                    remedy = "a minute after the heal the broker was not whole (\(views.split(separator: "\n").joined(separator: "; "))): "
                        + "node \(node), the one cut off, restarted \(String(format: "%.0f", Date().timeIntervalSince(cut))) s after the cut (RabbitMQ's remedy)"
                }
                recovered = await suite.recovered(since: cut)
            }
            return Observed(
                noticed,
                "node \(node) (leading intake.events) cut off at \(at) sent; the other two went on without it after \(String(format: "%.1f", detection)) s; healed 5 s later"
                    + (remedy.isEmpty ? "" : "; REMEDIED: " + remedy),
                recovered: recovered, remedy: remedy.isEmpty ? nil : remedy)
        }
    }

    /// 5. A node restarted while a backlog waits: assessment is stopped, the reports pile up in its queue, a node
    /// holding a member is killed and started again; every queue has its three members online, then the backlog
    /// drains.
    func nodeRestartedWithBacklog() async -> Verdict {
        await clusterFault(5, "a node restarted with a backlog", count: 600, rate: 300) { suite, sender in
            await suite.stopAll("assessment")
            await suite.whenSent(sender, 600)
            _ = await suite.eventually(30) {
                try await blocking { [suite] in try suite.queues() }.first { $0.name == "assessment.events" }?.messages ?? 0 >= 500
            }
            let backlog = (try await blocking { [suite] in try suite.queues() }).first { $0.name == "assessment.events" }?.messages ?? 0
            let node = try await blocking { [suite] in try suite.leader("assessment.events") }
            let restarted = Date()
            try await blocking { [stack = suite.stack] in try stack.broker("kill", "\(node)") }
            try await Task.sleep(for: .seconds(2))
            try await blocking { [stack = suite.stack] in try stack.broker("start", "\(node)") }
            // The queues whole before assessment comes back: the restarted node caught up on its own.
            let membersBack = await suite.eventually(120) {
                let queues = try await blocking { [suite] in try suite.queues() }
                return !queues.isEmpty && queues.allSatisfy { ($0.online?.count ?? 0) == 3 }
            }
            let caughtUp = Date().timeIntervalSince(restarted)
            try await suite.ensure("assessment")
            let recovered = await suite.recovered(since: restarted)
            return Observed(
                backlog > 0 && membersBack,
                "assessment stopped; node \(node) (leader) killed and started with \(backlog) reports waiting in assessment.events; "
                    + "every queue had three members online after \(String(format: "%.1f", caughtUp)) s; assessment started",
                recovered: recovered)
        }
    }
}
