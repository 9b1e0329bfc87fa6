@testable import Assessment
import Contracts
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import Intake
import Messaging
import PostgresNIO
import ServiceKit
import Storage
import Synchronization
import Testing
import ToolKit

/// Assessment against the real broker and database: replicas, a 10,000-row
/// screening batch through intake, the API and a model change.
@Suite("Assessment", .serialized)
struct AssessmentTests {
    static func subjectID(_ rng: inout SplitMix64) -> String {
        "s-" + Hex.string((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    static func daysAgo(_ days: Double) -> Date { Date().addingTimeInterval(-days * 86_400) }

    static func message(_ payload: some EventPayload, id: String) throws -> OutgoingMessage {
        try OutgoingMessage(payload, envelope: EventEnvelope(id: id, type: type(of: payload).eventType.name, source: "test"))
    }

    /// Events about the same subjects whose outcome depends on order if done wrong: sets and clears at different
    /// times, screening batches naming several subjects, incidents, family notes.
    static func interleavedEvents(subjects: [String], school: String, using rng: inout SplitMix64) throws -> [OutgoingMessage] {
        var events: [OutgoingMessage] = []
        func id() -> String { "assess-\(UUID().uuidString.lowercased())" }
        for subject in subjects {
            let absentDay = Int.random(in: 20...40, using: &rng)
            events.append(try message(AttendanceSignalAcceptedV1(
                intakeID: id(), agency: "school-a", externalID: id(), schoolCode: school, subjectID: subject, kind: .enrolledAbsent,
                since: day(absentDay), daysAbsent: absentDay), id: id()))
            if Bool.random(using: &rng) {
                events.append(try message(AttendanceSignalAcceptedV1(
                    intakeID: id(), agency: "school-a", externalID: id(), schoolCode: school, subjectID: subject, kind: .returned,
                    since: day(Int.random(in: 1...19, using: &rng)), daysAbsent: nil), id: id()))
            }
            if Bool.random(using: &rng) {
                events.append(try message(FamilySituationAcceptedV1(
                    intakeID: id(), agency: "civil-a", externalID: id(), subjectID: subject, schoolCode: school,
                    flags: [.leftBehind, .hardship], notedAt: daysAgo(Double.random(in: 1...30, using: &rng))), id: id()))
            }
            if Int.random(in: 0..<3, using: &rng) == 0 {
                events.append(try message(ReportAcceptedV1(
                    reportID: id(), agency: "school-a", externalID: id(), category: .bullying, immediateDanger: false,
                    occurredAt: daysAgo(Double.random(in: 1...30, using: &rng)), schoolCode: school,
                    subjects: [.init(subjectID: subject, role: Bool.random(using: &rng) ? .victim : .allegedPerpetrator)]), id: id()))
            }
        }
        // Two screenings of everyone, the later one deciding.
        for round in 0..<2 {
            events.append(try message(ScreeningBatchAcceptedV1(
                intakeID: id(), agency: "school-a", externalID: id(), schoolCode: school, scale: "MHT",
                screenedAt: daysAgo(round == 0 ? 25 : 5),
                results: subjects.map { .init(subjectID: $0, score: Double(Int.random(in: 40...90, using: &rng)), threshold: 65) },
                rejectedRows: 0), id: id()))
        }
        events.shuffle(using: &rng)
        return events
    }

    static func day(_ daysAgo: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date().addingTimeInterval(-Double(daysAgo) * 86_400))
    }

    /// Each subject's tier, score, counted factors and ledgers.
    static func outcome(_ database: Database, subjects: [String]) async throws -> [String: String] {
        var result: [String: String] = [:]
        let rows = try await database.query("""
            SELECT s.subject_id, s.tier, s.score, s.factor_ids,
                   coalesce((SELECT string_agg(ledger, ',' ORDER BY ledger) FROM assessment.ledger_entries e
                             WHERE e.subject_id = s.subject_id AND e.left_at IS NULL), '')
            FROM assessment.subjects s WHERE s.subject_id = ANY(\(subjects)::text[])
            """)
        for try await (id, tier, score, factors, ledgers) in rows.decode((String, String, Double, String, String).self) {
            result[id] = "\(tier) \(score) [\(factors)] {\(ledgers)}"
        }
        return result
    }

    @Test("two assessment processes on one queue, events of the same subjects interleaved: the same final state as one by one")
    func replicasAgreeWithOneByOne() async throws {
        var rng = SplitMix64(state: UInt64(Date().timeIntervalSince1970))
        let subjects = (0..<80).map { _ in Self.subjectID(&rng) }
        let school = "370102-" + TestEnvironment.unique("R")
        let events = try Self.interleavedEvents(subjects: subjects, school: school, using: &rng)
        let ids = events.compactMap(\.properties.messageID)

        // Two replicas on the test vhost; one, handling one message at a time, on the load vhost.
        let quiet = ["LOG_LEVEL": "warning", "HANDLER_CONCURRENCY": "8", "AMQP_PREFETCH": "16"]
        let first = try launchService("assessment", port: try freePort(), environment: quiet)
        let second = try launchService("assessment", port: try freePort(), environment: quiet)
        let single = try launchService("assessment", port: try freePort(), environment: [
            "AMQP_URL": TestEnvironment.loadAMQPURL, "DATABASE_URL": TestEnvironment.loadDatabaseURL,
            "LOG_LEVEL": "warning", "HANDLER_CONCURRENCY": "1", "AMQP_PREFETCH": "1",
        ])
        defer { for process in [first, second, single] where process.isRunning { process.terminate() } }

        try await withDatabase(schema: "assessment") { replicas in
            try await withDatabase(schema: "assessment", url: TestEnvironment.loadDatabaseURL) { serial in
                for (url, database) in [(TestEnvironment.amqpURL, replicas), (TestEnvironment.loadAMQPURL, serial)] {
                    // The service's queue exists once a process has declared it.
                    #expect(try await eventually(timeout: .seconds(60)) {
                        (try? await count(database, "SELECT count(*)::int FROM assessment.models WHERE active")) == 1
                    })
                    let publisher = Publisher(configuration: try AMQPConfiguration(url: url, connectionName: "assessment-test"), logger: TestEnvironment.logger)
                    try await Task.sleep(for: .seconds(1))
                    #expect(try await publisher.publish(events).allSatisfy { $0 == .confirmed })
                    await publisher.close()
                }
                for database in [replicas, serial] {
                    #expect(try await eventually(timeout: .seconds(120)) {
                        try await count(database, "SELECT count(*)::int FROM assessment.inbox WHERE message_id = ANY(\(ids)::text[])") == ids.count
                    })
                }
                let parallel = try await Self.outcome(replicas, subjects: subjects)
                let oneByOne = try await Self.outcome(serial, subjects: subjects)
                #expect(parallel.count == subjects.count)
                #expect(parallel == oneByOne)
                let differing = subjects.filter { parallel[$0] != oneByOne[$0] }.prefix(3).map { "\($0): \(parallel[$0] ?? "-") vs \(oneByOne[$0] ?? "-")" }
                #expect(differing.isEmpty, "\(differing)")
                // The outcome is not trivially the same: subjects spread over tiers and ledgers.
                #expect(Set(parallel.values.map { $0.split(separator: " ")[0] }).count >= 2)
                // Replaying every event changes nothing.
                let publisher = Publisher(configuration: try AMQPConfiguration(url: TestEnvironment.amqpURL, connectionName: "assessment-replay"), logger: TestEnvironment.logger)
                #expect(try await publisher.publish(events).allSatisfy { $0 == .confirmed })
                await publisher.close()
                try await Task.sleep(for: .seconds(3))
                #expect(try await Self.outcome(replicas, subjects: subjects) == parallel)
            }
        }
        // The load vhost's downstream backlog is nobody's.
        let cleanup = try await AMQPConnection.connect(try AMQPConfiguration(url: TestEnvironment.loadAMQPURL), logger: TestEnvironment.logger)
        try? await cleanup.deleteQueue(ExchangeName.unroutedEvents)
        await cleanup.close()
    }

    @Test("a 10,000-row screening batch with invalid rows, through intake: the valid rows applied in batched writes, the invalid ones explained")
    func screeningBatch() async throws {
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake"), logger: TestEnvironment.logger)
        let assessment = try RunningService<AssessmentService>(configuration: try TestEnvironment.serviceConfiguration("assessment"), logger: TestEnvironment.logger)
        let school = "370102-" + TestEnvironment.unique("B")
        var rng = SplitMix64(state: 42)
        var rows: [JSONValue] = []
        var positives = 0
        var valid: [String] = []
        for index in 0..<10_000 {
            if index % 100 == 99 {
                rows.append(.object(["student": .object(["birthDate": .string("2012-01-01")]), "score": .number(70), "threshold": .number(65)]))
                continue
            }
            let score = Double(Int.random(in: 30...90, using: &rng))
            if score >= 65 { positives += 1 }
            valid.append("N\(index)")
            rows.append(.object(["student": .object(["studentNumber": .string("N\(index)")]), "score": .number(score), "threshold": .number(65)]))
        }
        let body = JSONValue.object([
            "externalId": .string(TestEnvironment.unique("batch")), "schoolCode": .string(school), "scale": .string("MHT"),
            "screenedAt": .string(ContractCoding.formatTime(Date().addingTimeInterval(-3600))), "results": .array(rows),
        ])
        let resolver = try SubjectResolver(configuration: IntakeConfiguration(environment: [:]), logger: TestEnvironment.logger)
        let subjects = valid.map { resolver.resolve(PersonRef(studentNumber: $0), schoolCode: school).subjectID }

        try await withServices([intake, assessment]) { () async throws in
            try await AgencyStore(database: intake.database).upsert(Agency(
                code: "agency-demo", name: "Demo school", kind: .school, eventTypes: [ScreeningBatchV1.eventType.name], active: true))
            let replies = try await AgencyReplies.open(agency: "agency-demo")
            let agency = try AMQPConfiguration(url: TestEnvironment.agencyAMQPURL, connectionName: "agency-demo")
            let connection = try await AMQPConnection.connect(agency, logger: TestEnvironment.logger)
            let id = UUID().uuidString.lowercased()
            var envelope = EventEnvelope(id: id, type: ScreeningBatchV1.eventType.name, source: "agency-demo")
            envelope.sender = agency.user
            let started = ContinuousClock.now
            #expect(try await connection.publish(OutgoingMessage(
                envelope: envelope, body: Array(try JSONEncoder().encode(body)), exchange: ExchangeName.intake)) == .confirmed)
            await connection.close()
            let receipt = try await replies.receipts(for: [id], timeout: .seconds(60))[id]
            let answered = ContinuousClock.now - started
            await replies.close()
            #expect(receipt?.status == .accepted)
            #expect(receipt?.reasons.count == 100)
            #expect(receipt?.reasons.first?.field == "/results/99/student")
            let assessed = try await eventually(timeout: .seconds(120)) {
                try await count(assessment.database, """
                    SELECT count(*)::int FROM assessment.subjects WHERE subject_id = ANY(\(subjects)::text[]) AND assessed_at IS NOT NULL
                    """) == subjects.count
            }
            let elapsed = ContinuousClock.now - started
            #expect(assessed)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("screening batch: \(subjects.count) valid rows of 10000 applied in \(String(format: "%.2f", seconds)) s, \(Int(Double(subjects.count) / seconds)) rows/s (agency publish → every subject assessed; intake's receipt after \(answered))")
            #expect(try await count(assessment.database, """
                SELECT count(*)::int FROM assessment.ledger_entries
                WHERE subject_id = ANY(\(subjects)::text[]) AND ledger = 'psychological_risk' AND left_at IS NULL
                """) == positives)
            #expect(try await count(assessment.database, """
                SELECT count(*)::int FROM assessment.subjects WHERE subject_id = ANY(\(subjects)::text[]) AND tier = 'medium' AND model_version = 'cangshan-21.v1'
                """) == positives)
            // Let the outbox drain, then drop what thousands of new tiers left for services not running here.
            #expect(try await eventually(timeout: .seconds(60)) {
                try await count(assessment.database, "SELECT count(*)::int FROM assessment.outbox WHERE sent_at IS NULL") == 0
            })
        }
        let cleanup = try await AMQPConnection.connect(try TestEnvironment.amqp(), logger: TestEnvironment.logger)
        for queue in ["intervention.events", ExchangeName.unroutedEvents] { try? await cleanup.deleteQueue(queue) }
        await cleanup.close()
    }

    @Test("an announcement goes out only where ANNOUNCE names it: a reader bound to huhang.events gets risk.assessed at high and critical either way, below high and ledger.changed only when named", arguments: ["", "ledger.changed.v1", "risk.assessed.v1"])
    func announcementsOnlyWhenNamed(announce: String) async throws {
        let port = try freePort()
        let assessment = try RunningService<AssessmentService>(
            configuration: try TestEnvironment.serviceConfiguration("assessment", port: port, announce: announce), logger: TestEnvironment.logger)
        var rng = SplitMix64(state: UInt64(Date().timeIntervalSince1970 * 1000))
        let subject = Self.subjectID(&rng)
        let school = "370102-" + TestEnvironment.unique("A")
        // An outside reader, as a bureau's system would bind: its own queue on huhang.events, by event type.
        let reader = try await AMQPConnection.connect(try TestEnvironment.amqp("announce-reader"), logger: TestEnvironment.logger)
        let queue = TestEnvironment.unique("announce.reader")
        try await reader.declare(Topology(
            exchanges: Topology.exchanges.exchanges,
            queues: [.init(name: queue, arguments: ["x-queue-type": .string("quorum"), "x-expires": .int(60_000)])],
            bindings: [LedgerChangedV1.eventType.name, RiskAssessedV1.eventType.routingKey + ".#"].map {
                .init(queue: queue, exchange: ExchangeName.events, routingKey: $0)
            }))
        try await withServices([assessment]) { () async throws in
            let publisher = Publisher(configuration: try TestEnvironment.amqp("assessment-announce"), logger: TestEnvironment.logger)
            let absent = try Self.message(AttendanceSignalAcceptedV1(
                intakeID: "i", agency: "school-a", externalID: "x1", schoolCode: school, subjectID: subject, kind: .enrolledAbsent,
                since: Self.day(30), daysAbsent: 30), id: UUID().uuidString)
            #expect(try await publisher.publish(absent) == .confirmed)
            // The minor is on the dropout ledger, as the API shows it.
            let tokens = try APITokens(secret: APITokens.developmentSecret)
            let token = try await tokens.issue(APIIdentity(agency: "district-tf", role: Role("task-force")), lifetime: .seconds(60))
            #expect(try await eventually {
                try await http("GET", "http://127.0.0.1:\(port)/v1/ledgers/dropout_risk?school=\(school)", body: nil,
                               headers: ["Authorization": "Bearer \(token)"]).body.contains(subject)
            })
            // What the reader gets about this minor: risk.assessed always; ledger.changed only when named. Both come
            // out of the same commit, so ten seconds after it are enough to tell.
            let seen = Mutex<Set<String>>([])
            _ = try await firstDelivery(on: queue, within: .seconds(10)) { delivery in
                if String(decoding: delivery.body, as: UTF8.self).contains(subject) { seen.withLock { _ = $0.insert(delivery.routingKey) } }
                return false
            }
            let types = seen.withLock { $0 }
            var tier: RiskTier?
            for try await name in try await assessment.database.query(
                "SELECT tier FROM assessment.subjects WHERE subject_id = \(subject)").decode(String.self) { tier = RiskTier(rawValue: name) }
            let assessed = try #require(tier)
            // risk.assessed under its tier's key: at high and critical always, below high only when named.
            #expect(types.contains(RiskAssessedV1.routingKey(assessed)) == (assessed >= .high || announce == RiskAssessedV1.eventType.name),
                    "announce \(announce), tier \(assessed): got \(types.sorted())")
            #expect(types.contains(LedgerChangedV1.eventType.name) == (announce == LedgerChangedV1.eventType.name),
                    "announce \(announce): got \(types.sorted())")
            await publisher.close()
        }
        try? await reader.deleteQueue(queue)
        await reader.close()
    }

    @Test("the API explains a subject's tier, lists ledgers and counts; a new model version re-assesses every subject, named on each assessment")
    func apiAndModelChange() async throws {
        let port = try freePort()
        // The load vhost and database: activating a model re-assesses every subject there, and what that
        // emits must not queue up in front of the other tests.
        let assessment = try RunningService<AssessmentService>(
            configuration: try TestEnvironment.serviceConfiguration("assessment", port: port, load: true), logger: TestEnvironment.logger)
        var rng = SplitMix64(state: UInt64(Date().timeIntervalSince1970))
        let subject = Self.subjectID(&rng)
        let school = "370102-" + TestEnvironment.unique("A")
        let tokens = try APITokens(secret: APITokens.developmentSecret)
        func call(_ method: String, _ path: String, agency: String, role: String, body: String? = nil) async throws -> (status: Int, body: String) {
            let token = try await tokens.issue(APIIdentity(agency: agency, role: Role(role)), lifetime: .seconds(60))
            return try await http(method, "http://127.0.0.1:\(port)\(path)", body: body, headers: ["Authorization": "Bearer \(token)"])
        }
        try await withServices([assessment]) { () async throws in
            let publisher = Publisher(
                configuration: try AMQPConfiguration(url: TestEnvironment.loadAMQPURL, connectionName: "assessment-api"), logger: TestEnvironment.logger)
            let absent = try Self.message(AttendanceSignalAcceptedV1(
                intakeID: "i", agency: "school-a", externalID: "x1", schoolCode: school, subjectID: subject, kind: .enrolledAbsent,
                since: Self.day(20), daysAbsent: 20), id: UUID().uuidString)
            let family = try Self.message(FamilySituationAcceptedV1(
                intakeID: "i", agency: "civil-a", externalID: "x2", subjectID: subject, schoolCode: school, flags: [.leftBehind],
                notedAt: Self.daysAgo(3)), id: UUID().uuidString)
            #expect(try await publisher.publish([absent, family]).allSatisfy { $0 == .confirmed })
            #expect(try await eventually {
                try await count(assessment.database, "SELECT count(*)::int FROM assessment.subjects WHERE subject_id = \(subject) AND factor_ids = 'left_behind,enrolled_absent'") == 1
            })

            // The explanation: tier, score, each factor with its weight, the model, the history.
            let (status, text) = try await call("GET", "/v1/subjects/\(subject)/risk", agency: "district-tf", role: "task-force")
            #expect(status == 200)
            let risk = try ContractCoding.decoder().decode(SubjectStore.SubjectRisk.self, from: Data(text.utf8))
            #expect(risk.tier == "medium" && risk.score == 35 && risk.modelVersion == "cangshan-21.v1")
            #expect(Set(risk.factors.map(\.id)) == ["enrolled_absent", "left_behind"])
            #expect(risk.factors.first { $0.id == "enrolled_absent" }?.weight == 25)
            #expect(risk.history.count >= 1 && risk.ledgers.map(\.ledger).sorted() == ["children_in_hardship", "dropout_risk"])
            // The agency that sent an event may look; another may not; each look is audited.
            #expect(try await call("GET", "/v1/subjects/\(subject)/risk", agency: "school-a", role: "caseworker").status == 200)
            #expect(try await call("GET", "/v1/subjects/\(subject)/risk", agency: "school-b", role: "caseworker").status == 403)
            #expect(try await count(assessment.database, "SELECT count(*)::int FROM assessment.audit WHERE resource = \("subject/\(subject)/risk")") == 2)

            // Ledgers, filtered by school; the school's own agency sees its subjects, another agency none.
            let ledger = try await call("GET", "/v1/ledgers/dropout_risk?school=\(school)", agency: "district-tf", role: "task-force")
            #expect(ledger.status == 200 && ledger.body.contains(subject))
            #expect(try await call("GET", "/v1/ledgers/dropout_risk?school=\(school)", agency: "school-a", role: "caseworker").body.contains(subject))
            #expect(!(try await call("GET", "/v1/ledgers/dropout_risk?school=\(school)", agency: "school-b", role: "caseworker").body.contains(subject)))
            #expect(try await call("GET", "/v1/ledgers/wishlist", agency: "district-tf", role: "task-force").status == 404)
            let stats = try await call("GET", "/v1/stats", agency: "district-tf", role: "task-force")
            #expect(stats.status == 200 && stats.body.contains(school))
            #expect(try await call("GET", "/v1/stats", agency: "school-a", role: "caseworker").status == 403)

            // The student returns: the dropout ledger is left, with history.
            let returned = try Self.message(AttendanceSignalAcceptedV1(
                intakeID: "i", agency: "school-a", externalID: "x3", schoolCode: school, subjectID: subject, kind: .returned,
                since: Self.day(1), daysAbsent: nil), id: UUID().uuidString)
            #expect(try await publisher.publish(returned) == .confirmed)
            #expect(try await eventually {
                try await count(assessment.database, """
                    SELECT count(*)::int FROM assessment.ledger_entries WHERE subject_id = \(subject) AND ledger = 'dropout_risk' AND left_at IS NOT NULL
                    """) == 1
            })
            #expect(try await count(assessment.database, "SELECT count(*)::int FROM assessment.outbox WHERE routing_key = 'ledger.changed.v1' AND convert_from(body, 'UTF8') LIKE \("%\(subject)%") AND convert_from(body, 'UTF8') LIKE \(#"%"change":"left"%"#)") == 1)

            // A new model version: left-behind weighs 45. Loading refuses a broken model, then activation re-assesses.
            var model = try RiskModel.builtIn().model
            model.version = TestEnvironment.unique("test-model")
            model.factors[model.factors.firstIndex { $0.id == "left_behind" }!].weight = 45
            var broken = model
            broken.thresholds.high = 1
            #expect(try await call("POST", "/v1/models", agency: "ops", role: "operator", body: String(decoding: try JSONEncoder().encode(broken), as: UTF8.self)).status == 400)
            let json = String(decoding: try JSONEncoder().encode(model), as: UTF8.self)
            #expect(try await call("POST", "/v1/models", agency: "ops", role: "task-force", body: json).status == 403)
            #expect(try await call("POST", "/v1/models", agency: "ops", role: "operator", body: json).status == 201)
            #expect(try await call("POST", "/v1/models", agency: "ops", role: "operator", body: json).status == 409)
            let activated = try await call("POST", "/v1/models/\(model.version)/activate", agency: "ops", role: "operator")
            #expect(activated.status == 200)
            let before = try await count(assessment.database, "SELECT count(*)::int FROM assessment.assessments WHERE subject_id = \(subject)")
            #expect(try await eventually(timeout: .seconds(60)) {
                try await count(assessment.database, """
                    SELECT count(*)::int FROM assessment.subjects WHERE subject_id = \(subject) AND model_version = \(model.version) AND tier = 'high'
                    """) == 1
            })
            #expect(try await count(assessment.database, """
                SELECT count(*)::int FROM assessment.assessments WHERE subject_id = \(subject) AND id > 0 AND model_version = \(model.version)
                """) >= 1)
            #expect(try await count(assessment.database, "SELECT count(*)::int FROM assessment.assessments WHERE subject_id = \(subject)") == before + 1)
            #expect(try await count(assessment.database, """
                SELECT count(*)::int FROM assessment.outbox WHERE routing_key = 'risk.assessed.v1.high'
                AND convert_from(body, 'UTF8') LIKE \("%\(subject)%") AND convert_from(body, 'UTF8') LIKE \("%\(model.version)%")
                """) == 1)
            // Every subject still on the old model is due for review; put the shipped model back for the other tests.
            #expect(try await call("POST", "/v1/models/cangshan-21.v1/activate", agency: "ops", role: "operator").status == 200)
            await publisher.close()
        }
        let cleanup = try await AMQPConnection.connect(try AMQPConfiguration(url: TestEnvironment.loadAMQPURL), logger: TestEnvironment.logger)
        try? await cleanup.deleteQueue(ExchangeName.unroutedEvents)
        await cleanup.close()
    }
}
