import Contracts
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import Intervention
import Messaging
import PostgresNIO
import ServiceKit
import Storage
import Testing

/// Intervention against the real broker and database, with a clock the test moves.
@Suite("Intervention", .serialized)
struct InterventionTests {
    static func subjectID() -> String { "s-" + Hex.string((0..<16).map { _ in UInt8.random(in: 0...255) }) }

    static func assessed(_ subject: String, tier: RiskTier, previous: RiskTier?, school: String, urgent: Bool = false) throws -> OutgoingMessage {
        try OutgoingMessage(RiskAssessedV1(
            subjectID: subject, tier: tier, previousTier: previous, score: 80, reasons: ["self_harm_ideation (40): test"],
            modelVersion: "cangshan-21.v1", provisional: false, urgent: urgent, schoolCode: school, assessedAt: Date()),
            envelope: EventEnvelope(type: RiskAssessedV1.eventType.name, source: "test"))
    }

    /// The ids of the case's events by type, read from the outbox (written in the same transaction as the change).
    static func outbox(_ database: Database, caseID: String) async throws -> [String] {
        let rows = try await database.client.query("""
            SELECT routing_key FROM intervention.outbox WHERE convert_from(body, 'UTF8') LIKE \("%\"caseId\":\"\(caseID)\"%") ORDER BY id
            """)
        var types: [String] = []
        for try await type in rows.decode(String.self) { types.append(type) }
        return types
    }

    static func caseOf(_ database: Database, subject: String) async throws -> String? {
        let rows = try await database.client.query("SELECT case_id::text FROM intervention.cases WHERE subject_id = \(subject) ORDER BY opened_at DESC LIMIT 1")
        for try await id in rows.decode(String.self) { return id }
        return nil
    }

    @Test("one subject from a critical assessment to case, care team, plan, tasks, feedback and closure, each step's event emitted")
    func lifecycle() async throws {
        let clock = ManualWallClock()
        let port = try freePort()
        let intervention = try RunningService<InterventionService>(
            configuration: try TestEnvironment.serviceConfiguration("intervention", port: port), logger: TestEnvironment.logger, clock: clock)
        let subject = Self.subjectID()
        let school = "370102-" + TestEnvironment.unique("S")
        let tokens = try APITokens(secret: APITokens.developmentSecret)
        func call(_ method: String, _ path: String, as agency: String, role: String = "caseworker", body: String? = nil) async throws -> (status: Int, body: String) {
            let token = try tokens.issue(APIIdentity(agency: agency, role: role), lifetime: .seconds(60))
            return try await http(method, "http://127.0.0.1:\(port)\(path)", body: body, headers: ["Authorization": "Bearer \(token)"])
        }
        try await withServices([intervention]) { () async throws in
            let publisher = Publisher(configuration: try TestEnvironment.amqp("intervention-test"), logger: TestEnvironment.logger)
            #expect(try await publisher.publish(try Self.assessed(subject, tier: .critical, previous: nil, school: school, urgent: true)) == .confirmed)
            #expect(try await eventually { try await Self.caseOf(intervention.database, subject: subject) != nil })
            let caseID = try #require(try await Self.caseOf(intervention.database, subject: subject))
            #expect(try await Self.outbox(intervention.database, caseID: caseID) == ["case.opened.v1", "task.assigned.v1"])
            // The first response is the school's, due in an hour (critical).
            let first = try await call("GET", "/v1/units/\(school)/tasks", as: school)
            #expect(first.status == 200 && first.body.contains("first_response"))
            let firstTask = try #require(try JSONDecoder.contracts.decode([InterventionRoutes.TaskLine].self, from: Data(first.body.utf8)).first)
            #expect(abs(firstTask.dueAt.timeIntervalSince(clock.now()) - 3600) < 2)
            // Another agency may not read the case; the school may (it has a task); each read is audited.
            #expect(try await call("GET", "/v1/cases/\(caseID)", as: "other-school").status == 403)

            // The care team, four-on-one, kept sealed; the task force reads it back.
            let team = #"{"members":[{"role":"guardian","name":"王妈妈","contact":"+86 138 0000 0001"},{"role":"head_teacher","name":"李老师","contact":"li@school.example"},{"role":"psychological_teacher","name":"张老师","contact":"zhang@school.example"},{"role":"community_police","name":"赵警官","contact":"https://police.example/hook","unit":"psb-370102"}]}"#
            #expect(try await call("PUT", "/v1/cases/\(caseID)/team", as: school, body: team).status == 403)
            #expect(try await call("PUT", "/v1/cases/\(caseID)/team", as: "tf", role: "task-force", body: team).status == 204)
            #expect(try await count(intervention.database, "SELECT count(*)::int FROM intervention.team_members WHERE case_id = \(caseID)::uuid AND position(convert_to('王妈妈', 'UTF8') in identity) = 0") == 4)
            let detail = try await call("GET", "/v1/cases/\(caseID)", as: "tf", role: "task-force")
            #expect(detail.status == 200 && detail.body.contains("王妈妈") && detail.body.contains("community_police"))
            #expect(try await count(intervention.database, "SELECT count(*)::int FROM intervention.audit WHERE resource = \("case/\(caseID)")") == 1)

            // One person, one plan: two measures, two tasks, due by the plan deadline (24 h for critical).
            let plan = #"{"measures":[{"measure":"counselling","unit":"\#(school)"},{"measure":"family_education","unit":"women-federation-370102"}]}"#
            #expect(try await call("POST", "/v1/cases/\(caseID)/plan", as: "tf", role: "task-force", body: plan).status == 201)
            #expect(try await call("POST", "/v1/cases/\(caseID)/plan", as: "tf", role: "task-force", body: #"{"measures":[{"measure":"astrology","unit":"x"}]}"#).status == 400)
            let tasks = try JSONDecoder.contracts.decode(InterventionRoutes.CaseDetail.self, from: Data(try await call("GET", "/v1/cases/\(caseID)", as: "tf", role: "task-force").body.utf8)).tasks
            #expect(tasks.map(\.measure) == ["first_response", "counselling", "family_education"])
            let counselling = tasks[1].taskID, family = tasks[2].taskID

            // Feedback through intake's event: the school completes its first response; another unit cannot report on it.
            let wrongUnit = try OutgoingMessage(TaskFeedbackAcceptedV1(
                intakeID: "i", unit: "other-school", externalID: "fb-0", taskID: firstTask.taskID, status: .completed, reportedAt: Date(), note: "not mine", reason: nil),
                envelope: EventEnvelope(type: TaskFeedbackAcceptedV1.eventType.name, source: "intake"))
            let done = try OutgoingMessage(TaskFeedbackAcceptedV1(
                intakeID: "i", unit: school, externalID: "fb-1", taskID: firstTask.taskID, status: .completed, reportedAt: Date(),
                note: "Home visit with the head teacher.", reason: nil),
                envelope: EventEnvelope(type: TaskFeedbackAcceptedV1.eventType.name, source: "intake"))
            #expect(try await publisher.publish([wrongUnit, done]).allSatisfy { $0 == .confirmed })
            #expect(try await eventually {
                try await count(intervention.database, "SELECT count(*)::int FROM intervention.tasks WHERE task_id = \(firstTask.taskID)::uuid AND status = 'completed'") == 1
            })
            #expect(try await count(intervention.database, "SELECT count(*)::int FROM intervention.tasks WHERE task_id = \(firstTask.taskID)::uuid AND note = 'not mine'") == 0)

            // Feedback through the API: the school accepts and completes counselling; the federation may not reject without a reason.
            #expect(try await call("POST", "/v1/tasks/\(counselling)/feedback", as: "women-federation-370102", body: #"{"status":"accepted"}"#).status == 403)
            #expect(try await call("POST", "/v1/tasks/\(counselling)/feedback", as: school, body: #"{"status":"accepted"}"#).status == 204)
            #expect(try await call("POST", "/v1/tasks/\(family)/feedback", as: "women-federation-370102", body: #"{"status":"rejected"}"#).status == 400)
            // Closing needs every task done or cancelled, and a review.
            #expect(try await call("POST", "/v1/cases/\(caseID)/close", as: "tf", role: "task-force", body: #"{"review":"early"}"#).status == 409)
            #expect(try await call("POST", "/v1/tasks/\(counselling)/feedback", as: school, body: #"{"status":"completed","note":"Six sessions held."}"#).status == 204)
            #expect(try await call("POST", "/v1/tasks/\(counselling)/feedback", as: school, body: #"{"status":"progress"}"#).status == 409)
            #expect(try await call("POST", "/v1/tasks/\(family)/cancel", as: "tf", role: "task-force", body: #"{"reason":"the family moved away"}"#).status == 204)
            #expect(try await call("POST", "/v1/cases/\(caseID)/close", as: "tf", role: "task-force", body: #"{"review":""}"#).status == 400)
            #expect(try await call("POST", "/v1/cases/\(caseID)/close", as: "tf", role: "task-force", body: #"{"review":"Back at school; weekly check-ins end."}"#).status == 204)
            #expect(try await call("POST", "/v1/cases/\(caseID)/reopen", as: "tf", role: "task-force", body: #"{"reason":"absent again"}"#).status == 204)

            #expect(try await Self.outbox(intervention.database, caseID: caseID) == [
                "case.opened.v1", "task.assigned.v1",
                "task.assigned.v1", "task.assigned.v1",
                "task.updated.v1",  // first response completed (event)
                "task.updated.v1", "task.updated.v1",  // counselling accepted, completed (API)
                "task.updated.v1",  // family education cancelled
                "case.closed.v1", "case.opened.v1",
            ])
            let closed = try await count(intervention.database, """
                SELECT count(*)::int FROM intervention.outbox WHERE routing_key = 'case.closed.v1'
                AND convert_from(body, 'UTF8') LIKE \("%\(caseID)%") AND convert_from(body, 'UTF8') LIKE '%"tasksCancelled":1%' AND convert_from(body, 'UTF8') LIKE '%"tasksCompleted":2%'
                """)
            #expect(closed == 1)
            let chronology = try JSONDecoder.contracts.decode(InterventionRoutes.CaseDetail.self, from: Data(try await call("GET", "/v1/cases/\(caseID)", as: "tf", role: "task-force").body.utf8)).chronology
            #expect(chronology.map(\.kind) == [
                "opened", "task_assigned", "team", "task_assigned", "task_assigned", "task_completed", "task_accepted", "task_completed",
                "task_cancelled", "closed", "reopened",
            ])
            await publisher.close()
        }
    }

    @Test("a late task escalates through every step once — across two replicas and a restart of both between steps")
    func escalation() async throws {
        let clock = ManualWallClock()
        func replica() throws -> RunningService<InterventionService> {
            try RunningService<InterventionService>(
                configuration: try TestEnvironment.serviceConfiguration("intervention"), logger: TestEnvironment.logger, clock: clock)
        }
        let subject = Self.subjectID()
        let school = "370102-" + TestEnvironment.unique("E")
        func steps(_ database: Database, _ caseID: String) async throws -> [String] {
            try await Self.outbox(database, caseID: caseID).filter { $0 == "task.overdue.v1" || $0 == "case.escalated.v1" }
        }
        let first = try replica(), second = try replica()
        var caseID = ""
        try await withServices([first, second]) { () async throws in
            try await first.database.client.query("INSERT INTO intervention.units (unit, superior) VALUES (\(school), 'education-370102') ON CONFLICT (unit) DO NOTHING")
            let publisher = Publisher(configuration: try TestEnvironment.amqp("intervention-escalation"), logger: TestEnvironment.logger)
            #expect(try await publisher.publish(try Self.assessed(subject, tier: .high, previous: .medium, school: school)) == .confirmed)
            await publisher.close()
            #expect(try await eventually { try await Self.caseOf(first.database, subject: subject) != nil })
            caseID = try #require(try await Self.caseOf(first.database, subject: subject))
            // Not yet due (24 h for high): nothing fires.
            clock.advance(by: 23 * 3600)
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await steps(first.database, caseID).isEmpty)
            // Past the deadline: one reminder, however many replicas look.
            clock.advance(by: 2 * 3600)
            #expect(try await eventually { try await steps(first.database, caseID) == ["task.overdue.v1"] })
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await steps(first.database, caseID) == ["task.overdue.v1"])
            // A day later: to the school's superior.
            clock.advance(by: 24 * 3600)
            #expect(try await eventually { try await steps(first.database, caseID) == ["task.overdue.v1", "case.escalated.v1"] })
        }
        // Both replicas stop; two new ones take over from what the database holds.
        let third = try replica(), fourth = try replica()
        try await withServices([third, fourth]) { () async throws in
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await steps(third.database, caseID) == ["task.overdue.v1", "case.escalated.v1"])
            clock.advance(by: 48 * 3600)
            #expect(try await eventually { try await steps(third.database, caseID).count == 3 })
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await steps(third.database, caseID) == ["task.overdue.v1", "case.escalated.v1", "case.escalated.v1"])
            let levels = try await third.database.client.query("""
                SELECT convert_from(body, 'UTF8') FROM intervention.outbox WHERE routing_key = 'case.escalated.v1'
                AND convert_from(body, 'UTF8') LIKE \("%\(caseID)%") ORDER BY id
                """)
            var bodies: [String] = []
            for try await body in levels.decode(String.self) { bodies.append(body) }
            #expect(bodies.count == 2)
            #expect(bodies.first?.contains(#""escalatedTo":"education-370102""#) == true && bodies.first?.contains(#""level":"superior""#) == true)
            #expect(bodies.last?.contains(#""escalatedTo":"district-task-force""#) == true && bodies.last?.contains(#""level":"task_force""#) == true)
            // Once the task is done, nothing more fires.
            #expect(try await count(third.database, "SELECT count(*)::int FROM intervention.timers t JOIN intervention.tasks k USING (task_id) WHERE k.case_id = \(caseID)::uuid AND t.fired_at IS NULL") == 0)
        }
    }
}

extension JSONDecoder {
    static var contracts: JSONDecoder { ContractCoding.decoder() }
}
