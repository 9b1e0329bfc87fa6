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
import Synchronization
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
        let rows = try await database.query("""
            SELECT routing_key FROM intervention.outbox WHERE convert_from(body, 'UTF8') LIKE \("%\"caseId\":\"\(caseID)\"%") ORDER BY id
            """)
        var types: [String] = []
        for try await type in rows.decode(String.self) { types.append(type) }
        return types
    }

    /// The lines of a subject's cases' chronology, in order, each as its kind and who wrote it.
    static func chronology(_ database: Database, subject: String) async throws -> [String] {
        let rows = try await database.query("""
            SELECT h.kind || ' ' || h.event_id FROM intervention.chronology h JOIN intervention.cases k USING (case_id)
            WHERE k.subject_id = \(subject) ORDER BY h.at, h.id
            """)
        var lines: [String] = []
        for try await line in rows.decode(String.self) { lines.append(line) }
        return lines
    }

    static func caseOf(_ database: Database, subject: String) async throws -> String? {
        let rows = try await database.query("SELECT case_id::text FROM intervention.cases WHERE subject_id = \(subject) ORDER BY opened_at DESC LIMIT 1")
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
            let token = try await tokens.issue(APIIdentity(agency: agency, role: Role(role)), lifetime: .seconds(60))
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
            let firstTask = try #require(try JSONDecoder.contracts.decode([TaskStore.TaskLine].self, from: Data(first.body.utf8)).first)
            #expect(abs(firstTask.dueAt.timeIntervalSince(clock.now()) - 3600) < 2)
            // Another agency may not read the case; the school may (it has a task); each read is audited.
            #expect(try await call("GET", "/v1/cases/\(caseID)", as: "other-school").status == 403)

            // The care team, four-on-one, kept sealed; the task force reads it back.
            let team = #"{"members":[{"role":"guardian","name":"王妈妈","contact":"+86 138 0000 0001"},{"role":"head_teacher","name":"李老师","contact":"li@school.example"},{"role":"psychological_teacher","name":"张老师","contact":"zhang@school.example"},{"role":"community_police","name":"赵警官","contact":"0531-8888 0002","unit":"psb-370102"}]}"#
            #expect(try await call("PUT", "/v1/cases/\(caseID)/team", as: school, body: team).status == 403)
            let unreachable = #"{"members":[{"role":"guardian","name":"王妈妈","contact":"ask at the gate"}]}"#
            #expect(try await call("PUT", "/v1/cases/\(caseID)/team", as: "tf", role: "task-force", body: unreachable).status == 400)
            #expect(try await call("PUT", "/v1/cases/\(caseID)/team", as: "tf", role: "task-force", body: team).status == 204)
            #expect(try await count(intervention.database, "SELECT count(*)::int FROM intervention.team_members WHERE case_id = \(caseID)::uuid AND position(convert_to('王妈妈', 'UTF8') in identity) = 0") == 4)
            let detail = try await call("GET", "/v1/cases/\(caseID)", as: "tf", role: "task-force")
            #expect(detail.status == 200 && detail.body.contains("王妈妈") && detail.body.contains("community_police"))
            #expect(try await count(intervention.database, "SELECT count(*)::int FROM intervention.audit WHERE resource = \("case/\(caseID)") AND action = 'read'") == 1)
            // Setting the team is audited too, once (the refused attempts changed nothing and are not).
            #expect(try await count(intervention.database, "SELECT count(*)::int FROM intervention.audit WHERE resource = \("case/\(caseID)") AND action = 'team'") == 1)

            // One person, one plan: two measures, two tasks, due by the plan deadline (24 h for critical).
            let plan = #"{"measures":[{"measure":"counselling","unit":"\#(school)"},{"measure":"family_education","unit":"women-federation-370102"}]}"#
            #expect(try await call("POST", "/v1/cases/\(caseID)/plan", as: "tf", role: "task-force", body: plan).status == 201)
            #expect(try await call("POST", "/v1/cases/\(caseID)/plan", as: "tf", role: "task-force", body: #"{"measures":[{"measure":"astrology","unit":"x"}]}"#).status == 400)
            let tasks = try JSONDecoder.contracts.decode(CaseStore.CaseDetail.self, from: Data(try await call("GET", "/v1/cases/\(caseID)", as: "tf", role: "task-force").body.utf8)).tasks
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
            // The school's worklist (`status=open`) no longer holds the completed task; its whole list still does.
            #expect(try await call("GET", "/v1/units/\(school)/tasks", as: school).body.contains(counselling))
            #expect(!(try await call("GET", "/v1/units/\(school)/tasks?status=open", as: school).body.contains(counselling)))
            #expect(try await call("POST", "/v1/tasks/\(family)/cancel", as: "tf", role: "task-force", body: #"{"reason":"the family moved away"}"#).status == 204)
            // A follow-up visit, recorded by the school.
            #expect(try await call("POST", "/v1/cases/\(caseID)/followups", as: school, body: #"{"note":"Visited at home; calmer."}"#).status == 201)
            #expect(try await call("POST", "/v1/cases/\(caseID)/close", as: "tf", role: "task-force", body: #"{"review":""}"#).status == 400)
            #expect(try await call("POST", "/v1/cases/\(caseID)/close", as: "tf", role: "task-force", body: #"{"review":"Back at school; weekly check-ins end."}"#).status == 204)
            #expect(try await call("POST", "/v1/cases/\(caseID)/reopen", as: "tf", role: "task-force", body: #"{"reason":"absent again"}"#).status == 204)

            #expect(try await Self.outbox(intervention.database, caseID: caseID) == [
                "case.opened.v1", "task.assigned.v1",
                "careteam.changed.v1",  // the team, contacts sealed
                "task.assigned.v1", "task.assigned.v1",
                "task.updated.v1",  // first response completed (event)
                "task.updated.v1", "task.updated.v1",  // counselling accepted, completed (API)
                "task.updated.v1",  // family education cancelled
                "followup.recorded.v1",
                "case.closed.v1", "case.opened.v1",
                "careteam.changed.v1",  // told again on reopening
            ])
            // Neither names nor contacts travel in clear.
            #expect(try await count(intervention.database, """
                SELECT count(*)::int FROM intervention.outbox WHERE routing_key = 'careteam.changed.v1' AND convert_from(body, 'UTF8') LIKE \("%\(caseID)%")
                AND position('王妈妈' in convert_from(body, 'UTF8')) = 0 AND position('0000 0001' in convert_from(body, 'UTF8')) = 0
                AND position('li@school' in convert_from(body, 'UTF8')) = 0 AND convert_from(body, 'UTF8') LIKE '%"role":"guardian"%'
                """) == 2)
            let closed = try await count(intervention.database, """
                SELECT count(*)::int FROM intervention.outbox WHERE routing_key = 'case.closed.v1'
                AND convert_from(body, 'UTF8') LIKE \("%\(caseID)%") AND convert_from(body, 'UTF8') LIKE '%"tasksCancelled":1%' AND convert_from(body, 'UTF8') LIKE '%"tasksCompleted":2%'
                """)
            #expect(closed == 1)
            let chronology = try JSONDecoder.contracts.decode(CaseStore.CaseDetail.self, from: Data(try await call("GET", "/v1/cases/\(caseID)", as: "tf", role: "task-force").body.utf8)).chronology
            #expect(chronology.map(\.kind) == [
                "opened", "task_assigned", "team", "task_assigned", "task_assigned", "task_completed", "task_accepted", "task_completed",
                "task_cancelled", "followup", "closed", "reopened",
            ])
            await publisher.close()
        }
    }

    @Test("a batch's assessments together: each subject's case opened or attached in the order its assessments came, a first response where one is due")
    func assessmentsTogether() async throws {
        let intervention = try RunningService<InterventionService>(
            configuration: try TestEnvironment.serviceConfiguration("intervention"), logger: TestEnvironment.logger)
        let school = "370102-" + TestEnvironment.unique("S")
        let (a, b, c, d) = (Self.subjectID(), Self.subjectID(), Self.subjectID(), Self.subjectID())
        func incoming(_ subject: String, _ tier: RiskTier, previous: RiskTier?) throws -> EventDispatcher.Incoming {
            let envelope = EventEnvelope(type: RiskAssessedV1.eventType.name, source: "test", subject: subject)
            return EventDispatcher.Incoming(envelope: envelope, body: try Self.assessed(subject, tier: tier, previous: previous, school: school).body)
        }
        try await withServices([intervention]) { () async throws in
            // a has an open case with its first response already.
            #expect(await intervention.dispatcher.dispatch([try incoming(a, .high, previous: nil)], holdWhileUnavailable: false) == [.applied])
            let batch = [
                try incoming(a, .high, previous: .high),  // attached; it has a first response
                try incoming(b, .high, previous: nil),  // opened, a first response
                try incoming(c, .medium, previous: nil),  // no case
                try incoming(b, .critical, previous: .high),  // attached after b's first; a rise to critical: another first response
                try incoming(d, .critical, previous: nil),  // opened, a first response
            ]
            #expect(await intervention.dispatcher.dispatch(batch, holdWhileUnavailable: false) == Array(repeating: .applied, count: 5))
            let database = intervention.database
            func tasks(_ subject: String) async throws -> Int {
                try await count(database, "SELECT count(*)::int FROM intervention.tasks WHERE subject_id = \(subject) AND measure = 'first_response'")
            }
            func chronology(_ subject: String) async throws -> [String] { try await Self.chronology(database, subject: subject) }
            #expect(try await [tasks(a), tasks(b), tasks(c), tasks(d)] == [1, 2, 0, 1])
            #expect(try await count(database, "SELECT count(*)::int FROM intervention.cases WHERE subject_id = ANY(\([a, b, d]))") == 3)
            #expect(try await count(database, "SELECT count(*)::int FROM intervention.cases WHERE subject_id = \(c)") == 0)
            #expect(try await count(database, "SELECT count(*)::int FROM intervention.cases WHERE subject_id = \(b) AND tier = 'critical'") == 1)
            // Each line names the assessment that wrote it; b's case opened by its first, attached by its second.
            let (b1, b2) = ("event:" + batch[1].envelope.id, "event:" + batch[3].envelope.id)
            #expect(try await chronology(b) == ["opened \(b1)", "task_assigned \(b1)", "signal \(b2)", "task_assigned \(b2)"])
            #expect(try await chronology(a).last == "signal event:\(batch[0].envelope.id)")
            #expect(try await chronology(d) == ["opened event:\(batch[4].envelope.id)", "task_assigned event:\(batch[4].envelope.id)"])
            // Each task announced by its own event (the one naming it), which the batch emitted.
            #expect(try await count(database, """
                SELECT count(*)::int FROM intervention.tasks t JOIN intervention.outbox o ON o.message_id = t.assigned_event_id
                WHERE t.subject_id = ANY(\([b, d])) AND o.routing_key = 'task.assigned.v1'
                  AND convert_from(o.body, 'UTF8') LIKE '%"taskId":"' || t.task_id::text || '"%'
                """) == 3)
            // Taken together, not one by one: every line the batch wrote has the one time of its call.
            let ids = batch.map { "event:" + $0.envelope.id }
            #expect(try await count(database, "SELECT count(DISTINCT at)::int FROM intervention.chronology WHERE event_id = ANY(\(ids))") == 1)
        }
    }

    @Test("a batch's reports at schools together: each person's case opened by one report and attached to by the next, a task per department and person")
    func reportsTogether() async throws {
        let intervention = try RunningService<InterventionService>(
            configuration: try TestEnvironment.serviceConfiguration("intervention"), logger: TestEnvironment.logger)
        let school = "370102-" + TestEnvironment.unique("R")
        let (a, b, p, w) = (Self.subjectID(), Self.subjectID(), Self.subjectID(), Self.subjectID())
        func incoming(_ category: IncidentCategory, _ people: [(String, PersonRole)], at school: String?, danger: Bool = false) throws -> EventDispatcher.Incoming {
            let reportID = UUID().uuidString.lowercased()
            let envelope = EventEnvelope(type: ReportAcceptedV1.eventType.name, source: "test", subject: reportID)
            let report = ReportAcceptedV1(
                reportID: reportID, agency: "school-r", externalID: reportID, category: category, immediateDanger: danger, occurredAt: Date(),
                schoolCode: school, subjects: people.map { .init(subjectID: $0.0, role: $0.1) })
            return EventDispatcher.Incoming(envelope: envelope, body: try OutgoingMessage(report, envelope: envelope).body)
        }
        try await withServices([intervention]) { () async throws in
            // The school's police officer and legal vice-principal, from the registry.
            let registry = EventEnvelope(type: SchoolUpdatedV1.eventType.name, source: "test", subject: school)
            let standing = SchoolUpdatedV1(schoolCode: school, district: "370102", policeUnit: "psb-370102-r", legalVicePrincipalUnit: "proc-370102-r", at: Date())
            #expect(await intervention.dispatcher.dispatch(
                [EventDispatcher.Incoming(envelope: registry, body: try OutgoingMessage(standing, envelope: registry).body)], holdWhileUnavailable: false) == [.applied])
            let batch = [
                try incoming(.bullying, [(a, .victim), (p, .allegedPerpetrator)], at: school),  // a's case; education and the two who stand by the school
                try incoming(.selfHarm, [(b, .victim)], at: school, danger: true),  // b's case at critical; health and education
                try incoming(.bullying, [(p, .allegedPerpetrator), (w, .witness)], at: school),  // no victim named: p's case
                try incoming(.drugs, [(a, .victim)], at: school),  // attached to a's case, after the first report; the police
                try incoming(.bullying, [(w, .witness)], at: school),  // a witness only: nothing
                try incoming(.drugs, [(w, .victim)], at: nil),  // no school: not a school's report
            ]
            #expect(await intervention.dispatcher.dispatch(batch, holdWhileUnavailable: false) == Array(repeating: .applied, count: 6))
            let database = intervention.database
            func units(_ subject: String) async throws -> [String] {
                let rows = try await database.query("""
                    SELECT unit FROM intervention.tasks WHERE subject_id = \(subject) AND measure = 'incident_response' ORDER BY unit
                    """)
                var units: [String] = []
                for try await unit in rows.decode(String.self) { units.append(unit) }
                return units
            }
            func chronology(_ subject: String) async throws -> [String] { try await Self.chronology(database, subject: subject) }
            #expect(try await units(a) == ["education-370102", "proc-370102-r", "psb-370102", "psb-370102-r"])
            #expect(try await units(b) == ["education-370102", "health-370102"])
            #expect(try await units(p) == ["education-370102", "proc-370102-r", "psb-370102-r"])
            #expect(try await units(w).isEmpty)
            #expect(try await count(database, "SELECT count(*)::int FROM intervention.cases WHERE subject_id = ANY(\([a, b, p]))") == 3)
            #expect(try await count(database, "SELECT count(*)::int FROM intervention.cases WHERE subject_id = \(w)") == 0)
            #expect(try await count(database, "SELECT count(*)::int FROM intervention.cases WHERE subject_id = \(b) AND tier = 'critical'") == 1)
            // a's case opened by one of its two reports and attached to by the other — reports are taken in the order of
            // their own ids, whoever they name — each line naming its report: three tasks for the bullying, one for the drugs.
            let (r1, r4) = ("event:" + batch[0].envelope.id, "event:" + batch[3].envelope.id)
            let linesA = try await chronology(a)
            let (first, second) = linesA.first == "opened \(r1)" ? ((r1, 3), (r4, 1)) : ((r4, 1), (r1, 3))
            #expect(linesA == ["opened \(first.0)"] + Array(repeating: "task_assigned \(first.0)", count: first.1)
                + ["signal \(second.0)"] + Array(repeating: "task_assigned \(second.0)", count: second.1), "\(linesA)")
            // Every task has its escalation steps, the first at its deadline, and its own task.assigned event in the outbox.
            let ids = [a, b, p]
            #expect(try await count(database, """
                SELECT count(*)::int FROM intervention.timers m JOIN intervention.tasks t USING (task_id) WHERE t.subject_id = ANY(\(ids))
                """) == 9 * (try InterventionConfiguration()).escalationSteps(due: Date()).count)
            #expect(try await count(database, """
                SELECT count(*)::int FROM intervention.timers m JOIN intervention.tasks t USING (task_id)
                WHERE t.subject_id = ANY(\(ids)) AND m.step = 1 AND m.due_at = t.due_at
                """) == 9)
            #expect(try await count(database, """
                SELECT count(*)::int FROM intervention.tasks t WHERE t.subject_id = ANY(\(ids)) AND EXISTS (
                    SELECT 1 FROM intervention.outbox o WHERE o.routing_key = 'task.assigned.v1'
                      AND convert_from(o.body, 'UTF8') LIKE '%"taskId":"' || t.task_id::text || '"%')
                """) == 9)
            // Taken together, not one by one: every line the batch wrote has the one time of its call.
            let events = batch.map { "event:" + $0.envelope.id }
            #expect(try await count(database, "SELECT count(DISTINCT at)::int FROM intervention.chronology WHERE event_id = ANY(\(events))") == 1)
        }
    }

    /// The body of a `GET` on the service at `port`, as the task force reads it; the answer must be 200.
    static func taskForceGet(_ path: String, port: Int) async throws -> String {
        let token = try await APITokens(secret: APITokens.developmentSecret)
            .issue(APIIdentity(agency: "tf", role: .taskForce), lifetime: .seconds(60))
        let answer = try await http("GET", "http://127.0.0.1:\(port)\(path)", body: nil, headers: ["Authorization": "Bearer \(token)"])
        #expect(answer.status == 200, "\(path): \(answer.status)")
        return answer.body
    }

    @Test("reports published together on huhang.events: through the case API, each victim's case and each department's task as if one by one")
    func reportsThroughTheContract() async throws {
        let port = try freePort()
        let intervention = try RunningService<InterventionService>(
            configuration: try TestEnvironment.serviceConfiguration("intervention", port: port), logger: TestEnvironment.logger)
        // A district of its own (the school code's first six digits), so that its departments' task lists hold only this
        // test's tasks — one of 100,000, apart from the other tests' districts, as the test database outlives runs.
        let district = String(Int.random(in: 800_000...899_999))
        let school = district + "-" + TestEnvironment.unique("C")
        let (a, b, p) = (Self.subjectID(), Self.subjectID(), Self.subjectID())
        func get(_ path: String) async throws -> String { try await Self.taskForceGet(path, port: port) }
        func report(_ category: IncidentCategory, _ people: [(String, PersonRole)], danger: Bool = false) throws -> OutgoingMessage {
            let reportID = UUID().uuidString.lowercased()
            return try OutgoingMessage(ReportAcceptedV1(
                reportID: reportID, agency: "school-c", externalID: reportID, category: category, immediateDanger: danger, occurredAt: Date(),
                schoolCode: school, subjects: people.map { .init(subjectID: $0.0, role: $0.1) }),
                envelope: EventEnvelope(type: ReportAcceptedV1.eventType.name, source: "intake", subject: reportID))
        }
        try await withServices([intervention]) { () async throws in
            let publisher = Publisher(configuration: try TestEnvironment.amqp("intervention-reports"), logger: TestEnvironment.logger)
            // In one go, so that they reach the service close together: a twice, b in danger now, p named without a victim.
            let messages = try [
                report(.selfHarm, [(a, .victim)]),
                report(.selfHarm, [(b, .victim)], danger: true),
                report(.drugs, [(a, .victim), (p, .allegedPerpetrator)]),
                report(.drugs, [(p, .allegedPerpetrator)]),
            ]
            #expect(try await publisher.publish(messages).allSatisfy { $0 == .confirmed })
            await publisher.close()
            let decoder = JSONDecoder.contracts
            func detail(_ subject: String) async throws -> CaseStore.CaseDetail? {
                let cases = try decoder.decode([CaseStore.CaseSummary].self, from: Data(try await get("/v1/cases?subject=\(subject)").utf8))
                #expect(cases.count <= 1, "\(subject): one open case at most")
                guard let found = cases.first else { return nil }
                return try decoder.decode(CaseStore.CaseDetail.self, from: Data(try await get("/v1/cases/\(found.caseID)").utf8))
            }
            // Six tasks in all: self-harm to health and education (a, b), drugs to the police (a, p).
            #expect(try await eventually {
                try await decoder.decode([TaskStore.TaskLine].self, from: Data(try await get("/v1/units/psb-\(district)/tasks").utf8)).count == 2
            })
            let caseA = try #require(try await detail(a))
            #expect(caseA.tasks.map(\.unit).sorted() == ["education-\(district)", "health-\(district)", "psb-\(district)"])
            #expect(caseA.chronology.map(\.kind).filter { $0 != "task_assigned" } == ["opened", "signal"])
            let caseB = try #require(try await detail(b))
            #expect(caseB.tier == "critical" && caseB.tasks.map(\.unit).sorted() == ["education-\(district)", "health-\(district)"])
            let caseP = try #require(try await detail(p))
            #expect(caseP.tasks.map(\.unit) == ["psb-\(district)"])
        }
    }

    @Test("assessments published together on huhang.events: through the case API, each minor's case and first responses as if one by one; a reader hears each task")
    func assessmentsThroughTheContract() async throws {
        let port = try freePort()
        let intervention = try RunningService<InterventionService>(
            configuration: try TestEnvironment.serviceConfiguration("intervention", port: port), logger: TestEnvironment.logger)
        let school = "370102-" + TestEnvironment.unique("S")
        let (b, c, d) = (Self.subjectID(), Self.subjectID(), Self.subjectID())
        func get(_ path: String) async throws -> String { try await Self.taskForceGet(path, port: port) }
        // An outside reader of task.assigned, as a unit's own system would bind.
        let reader = try await AMQPConnection.connect(try TestEnvironment.amqp("tasks-reader"), logger: TestEnvironment.logger)
        let queue = TestEnvironment.unique("tasks.reader")
        try await reader.declare(Topology(
            exchanges: Topology.exchanges.exchanges,
            queues: [.init(name: queue, arguments: ["x-queue-type": .string("quorum"), "x-expires": .int(60_000)])],
            bindings: [.init(queue: queue, exchange: ExchangeName.events, routingKey: TaskAssignedV1.eventType.name)]))
        try await withServices([intervention]) { () async throws in
            let publisher = Publisher(configuration: try TestEnvironment.amqp("intervention-together"), logger: TestEnvironment.logger)
            // In one go, so that they reach the service close together: b high then critical, c medium, d critical.
            let messages = try [
                Self.assessed(b, tier: .high, previous: nil, school: school),
                Self.assessed(c, tier: .medium, previous: nil, school: school),
                Self.assessed(b, tier: .critical, previous: .high, school: school),
                Self.assessed(d, tier: .critical, previous: nil, school: school, urgent: true),
            ]
            #expect(try await publisher.publish(messages).allSatisfy { $0 == .confirmed })
            await publisher.close()
            let decoder = JSONDecoder.contracts
            func cases(_ subject: String) async throws -> [CaseStore.CaseSummary] {
                try decoder.decode([CaseStore.CaseSummary].self, from: Data(try await get("/v1/cases?subject=\(subject)").utf8))
            }
            #expect(try await eventually {
                try await decoder.decode([TaskStore.TaskLine].self, from: Data(try await get("/v1/units/\(school)/tasks").utf8)).count == 3
            })
            // b: one case, at critical, opened by its first assessment and attached by its second; two first responses.
            let caseB = try #require(try await cases(b).first)
            #expect(try await cases(b).count == 1 && caseB.tier == "critical")
            let detailB = try decoder.decode(CaseStore.CaseDetail.self, from: Data(try await get("/v1/cases/\(caseB.caseID)").utf8))
            #expect(detailB.tasks.map(\.measure) == ["first_response", "first_response"])
            #expect(detailB.chronology.map(\.kind) == ["opened", "task_assigned", "signal", "task_assigned"])
            // c at medium: no case. d: one case with its first response.
            #expect(try await cases(c).isEmpty)
            let caseD = try #require(try await cases(d).first)
            let detailD = try decoder.decode(CaseStore.CaseDetail.self, from: Data(try await get("/v1/cases/\(caseD.caseID)").utf8))
            #expect(detailD.tasks.map(\.measure) == ["first_response"] && detailD.tier == "critical")
            // The reader heard of each task, by its id.
            let taskIDs = Set((detailB.tasks + detailD.tasks).map(\.taskID))
            let heard = Mutex<Set<String>>([])
            _ = try await firstDelivery(on: queue, within: .seconds(15)) { delivery in
                guard let task = try? decoder.decode(TaskAssignedV1.self, from: Data(delivery.body)) else { return false }
                return heard.withLock { $0.insert(task.taskID); return taskIDs.isSubset(of: $0) }
            }
            #expect(heard.withLock { taskIDs.isSubset(of: $0) })
        }
        try? await reader.deleteQueue(queue)
    }

    @Test("a late task escalates through every step once — across two replicas and a restart of both between steps; one finished after its reminder escalates no further")
    func escalation() async throws {
        let clock = ManualWallClock()
        func replica() throws -> RunningService<InterventionService> {
            try RunningService<InterventionService>(
                configuration: try TestEnvironment.serviceConfiguration("intervention"), logger: TestEnvironment.logger, clock: clock)
        }
        let subject = Self.subjectID(), finished = Self.subjectID()
        let school = "370102-" + TestEnvironment.unique("E")
        func steps(_ database: Database, _ caseID: String) async throws -> [String] {
            try await Self.outbox(database, caseID: caseID).filter { $0 == "task.overdue.v1" || $0 == "case.escalated.v1" }
        }
        let first = try replica(), second = try replica()
        var caseID = "", finishedCase = ""
        try await withServices([first, second]) { () async throws in
            try await first.database.query("INSERT INTO intervention.units (unit, superior) VALUES (\(school), 'education-370102') ON CONFLICT (unit) DO NOTHING")
            let publisher = Publisher(configuration: try TestEnvironment.amqp("intervention-escalation"), logger: TestEnvironment.logger)
            #expect(try await publisher.publish(try Self.assessed(subject, tier: .high, previous: .medium, school: school)) == .confirmed)
            #expect(try await publisher.publish(try Self.assessed(finished, tier: .high, previous: .medium, school: school)) == .confirmed)
            #expect(try await eventually { try await Self.caseOf(first.database, subject: subject) != nil })
            #expect(try await eventually { try await Self.caseOf(first.database, subject: finished) != nil })
            caseID = try #require(try await Self.caseOf(first.database, subject: subject))
            finishedCase = try #require(try await Self.caseOf(first.database, subject: finished))
            // Not yet due (24 h for high): nothing fires.
            clock.advance(by: 23 * 3600)
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await steps(first.database, caseID).isEmpty)
            // Past the deadline: one reminder, however many replicas look.
            clock.advance(by: 2 * 3600)
            #expect(try await eventually { try await steps(first.database, caseID) == ["task.overdue.v1"] })
            #expect(try await eventually { try await steps(first.database, finishedCase) == ["task.overdue.v1"] })
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await steps(first.database, caseID) == ["task.overdue.v1"])
            // The school finishes the other task after its reminder: its later steps are cancelled with it.
            let task = try #require(try await first.database.query(
                "SELECT task_id::text FROM intervention.tasks WHERE case_id = \(finishedCase)::uuid").decode(String.self).first { _ in true })
            #expect(try await publisher.publish(try OutgoingMessage(TaskFeedbackAcceptedV1(
                intakeID: UUID().uuidString, unit: school, externalID: UUID().uuidString, taskID: task, status: .completed,
                reportedAt: clock.now(), note: "seen at home", reason: nil),
                envelope: EventEnvelope(type: TaskFeedbackAcceptedV1.eventType.name, source: "intake", subject: task))) == .confirmed)
            await publisher.close()
            #expect(try await eventually {
                try await count(first.database, "SELECT count(*)::int FROM intervention.tasks WHERE task_id = \(task)::uuid AND status = 'completed'") == 1
            })
            // A day later: to the school's superior — the finished task's case not.
            clock.advance(by: 24 * 3600)
            #expect(try await eventually { try await steps(first.database, caseID) == ["task.overdue.v1", "case.escalated.v1"] })
            #expect(try await steps(first.database, finishedCase) == ["task.overdue.v1"])
            #expect(try await count(first.database, """
                SELECT count(*)::int FROM intervention.timers WHERE task_id = \(task)::uuid AND fired_at IS NULL AND cancelled_at IS NULL
                """) == 0)
            #expect(try await count(first.database, "SELECT count(*)::int FROM intervention.timers WHERE task_id = \(task)::uuid AND cancelled_at IS NOT NULL") == 2)
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
            let levels = try await third.database.query("""
                SELECT convert_from(body, 'UTF8') FROM intervention.outbox WHERE routing_key = 'case.escalated.v1'
                AND convert_from(body, 'UTF8') LIKE \("%\(caseID)%") ORDER BY id
                """)
            var bodies: [String] = []
            for try await body in levels.decode(String.self) { bodies.append(body) }
            #expect(bodies.count == 2)
            #expect(bodies.first?.contains(#""escalatedTo":"education-370102""#) == true && bodies.first?.contains(#""level":"superior""#) == true)
            #expect(bodies.last?.contains(#""escalatedTo":"district-task-force""#) == true && bodies.last?.contains(#""level":"task_force""#) == true)
            // Every step has fired; none is left. The finished task's case heard nothing more.
            #expect(try await count(third.database, "SELECT count(*)::int FROM intervention.timers t JOIN intervention.tasks k USING (task_id) WHERE k.case_id = \(caseID)::uuid AND t.fired_at IS NULL") == 0)
            #expect(try await steps(third.database, finishedCase) == ["task.overdue.v1"])
        }
    }
    func calls(port: Int) throws -> (String, String, String, String?) async throws -> (status: Int, body: String) {
        let tokens = try APITokens(secret: APITokens.developmentSecret)
        return { method, path, who, body in
            // agency/role, or agency/role/person for a person signed in to the console.
            let parts = who.split(separator: "/")
            let token = try await tokens.issue(
                APIIdentity(agency: String(parts[0]), role: Role(String(parts[1])), person: parts.count > 2 ? String(parts[2]) : nil), lifetime: .seconds(3600))
            return try await http(method, "http://127.0.0.1:\(port)\(path)", body: body, headers: ["Authorization": "Bearer \(token)"])
        }
    }

    @Test("real processes, deadlines of seconds: SIGKILL between escalation steps neither loses nor repeats one; two replicas fire each once")
    func escalationAcrossKills() async throws {
        // A first response due in about 2 s, the superior 4 s later, the task force 8 s later.
        let fast = [
            "FIRST_RESPONSE_HOURS": "0.0006,0.0006,0.0006", "ESCALATE_SUPERIOR_AFTER_HOURS": "0.0011", "ESCALATE_TASK_FORCE_AFTER_HOURS": "0.0022",
            "ESCALATION_POLL_MS": "200", "LOG_LEVEL": "warning",
        ]
        var processes = [try launchService("intervention", port: try freePort(), environment: fast),
                         try launchService("intervention", port: try freePort(), environment: fast)]
        defer { for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let subject = Self.subjectID()
        try await withDatabase(schema: "intervention") { database in
            #expect(try await eventually(timeout: .seconds(60)) {
                (try? await count(database, "SELECT count(*)::int FROM intervention.schema_migrations WHERE version = 5")) == 1
            })
            try await Task.sleep(for: .seconds(2))
            let publisher = Publisher(configuration: try TestEnvironment.amqp("intervention-kill"), logger: TestEnvironment.logger)
            #expect(try await publisher.publish(try Self.assessed(subject, tier: .high, previous: nil, school: "370102-K")) == .confirmed)
            await publisher.close()
            #expect(try await eventually { try await Self.caseOf(database, subject: subject) != nil })
            let caseID = try #require(try await Self.caseOf(database, subject: subject))
            func steps() async throws -> [String] {
                try await Self.outbox(database, caseID: caseID).filter { $0 == "task.overdue.v1" || $0 == "case.escalated.v1" }
            }
            // The reminder fires once, with two replicas looking; then both die without warning.
            #expect(try await eventually { try await steps() == ["task.overdue.v1"] })
            for process in processes { kill(process.processIdentifier, SIGKILL) }
            for process in processes { process.waitUntilExit() }
            // Nothing runs while the superior step falls due; a new replica fires it on start, then the last.
            try await Task.sleep(for: .seconds(5))
            #expect(try await steps() == ["task.overdue.v1"])
            processes.append(try launchService("intervention", port: try freePort(), environment: fast))
            processes.append(try launchService("intervention", port: try freePort(), environment: fast))
            #expect(try await eventually(timeout: .seconds(60)) { try await steps().count == 3 })
            try await Task.sleep(for: .seconds(2))
            #expect(try await steps() == ["task.overdue.v1", "case.escalated.v1", "case.escalated.v1"])
            #expect(try await count(database, """
                SELECT count(*)::int FROM intervention.timers t JOIN intervention.tasks k USING (task_id) WHERE k.case_id = \(caseID)::uuid AND t.fired_at IS NOT NULL
                """) == 3)
        }
    }

    @Test("a sealed case leaves every list and count; break-the-glass needs a reason, is audited and expires; only an order unseals")
    func sealing() async throws {
        let clock = ManualWallClock()
        let port = try freePort()
        let intervention = try RunningService<InterventionService>(
            configuration: try TestEnvironment.serviceConfiguration("intervention", port: port), logger: TestEnvironment.logger, clock: clock)
        let call = try calls(port: port)
        let subject = Self.subjectID(), other = Self.subjectID()
        let school = "370102-" + TestEnvironment.unique("Z")
        try await withServices([intervention]) { () async throws in
            let publisher = Publisher(configuration: try TestEnvironment.amqp("intervention-seal"), logger: TestEnvironment.logger)
            #expect(try await publisher.publish([try Self.assessed(subject, tier: .high, previous: nil, school: school),
                                                 try Self.assessed(other, tier: .high, previous: nil, school: school)]).allSatisfy { $0 == .confirmed })
            #expect(try await eventually {
                let first = try await Self.caseOf(intervention.database, subject: subject)
                let second = try await Self.caseOf(intervention.database, subject: other)
                return first != nil && second != nil
            })
            let caseID = try #require(try await Self.caseOf(intervention.database, subject: subject))
            func listed() async throws -> Bool { try await call("GET", "/v1/cases?school=\(school)", "tf/task-force", nil).body.contains(caseID) }
            func inLedger() async throws -> Bool { try await call("GET", "/v1/units/\(school)/tasks", "tf/task-force", nil).body.contains(caseID) }
            func opened() async throws -> Int {
                let body = try await call("GET", "/v1/daily", "tf/task-force", nil).body
                return try JSONDecoder().decode(ReportStore.Summary.self, from: Data(body.utf8)).casesOpened
            }
            #expect(try await listed())
            #expect(try await inLedger())
            let before = try await opened()

            #expect(try await call("POST", "/v1/cases/\(caseID)/seal", "tf/task-force", #"{}"#).status == 400)
            #expect(try await call("POST", "/v1/cases/\(caseID)/seal", "tf/task-force", #"{"order":"(2026) 鲁0102 刑封 12"}"#).status == 204)
            #expect(try await !listed())
            #expect(try await !inLedger())
            #expect(try await opened() == before - 1)
            // Break the glass: refused without a reason; with one, open for a while, audited.
            #expect(try await call("GET", "/v1/cases/\(caseID)", "tf/task-force", nil).status == 403)
            #expect(try await call("POST", "/v1/cases/\(caseID)/access", "tf/task-force", #"{"reason":" "}"#).status == 400)
            #expect(try await call("POST", "/v1/cases/\(caseID)/access", "tf/task-force", #"{"reason":"court asks for the supervision record"}"#).status == 201)
            #expect(try await call("GET", "/v1/cases/\(caseID)", "tf/task-force", nil).status == 200)
            #expect(try await count(intervention.database, """
                SELECT count(*)::int FROM intervention.audit WHERE resource = \("case/\(caseID)") AND action = 'break-the-glass'
                AND reason = 'court asks for the supervision record'
                """) == 1)
            // The audit log, through the API: the task force sees who opened it and why; a unit may not look.
            let audit = try await call("GET", "/v1/audit?resource=case/\(caseID)", "tf/task-force", nil)
            #expect(audit.status == 200 && audit.body.contains("break-the-glass") && audit.body.contains("court asks for the supervision record"))
            #expect(try await call("GET", "/v1/audit", "\(school)/caseworker", nil).status == 403)
            // Another reader has no window; the window closes after 30 minutes.
            #expect(try await call("GET", "/v1/cases/\(caseID)", "tf2/task-force", nil).status == 403)
            // A person's reason opens the case to that person, not to their colleagues of the same agency and role.
            #expect(try await call("POST", "/v1/cases/\(caseID)/access", "tf/task-force/zhang", #"{"reason":"review for the court"}"#).status == 201)
            #expect(try await call("GET", "/v1/cases/\(caseID)", "tf/task-force/zhang", nil).status == 200)
            #expect(try await call("GET", "/v1/cases/\(caseID)", "tf/task-force/li", nil).status == 403)
            #expect(try await count(intervention.database, "SELECT count(*)::int FROM intervention.seal_access WHERE case_id = \(caseID)::uuid AND person = 'zhang'") == 1)
            clock.advance(by: 31 * 60)
            #expect(try await call("GET", "/v1/cases/\(caseID)", "tf/task-force", nil).status == 403)
            // Only an order unseals.
            #expect(try await call("POST", "/v1/cases/\(caseID)/unseal", "tf/task-force", #"{"order":""}"#).status == 400)
            #expect(try await call("POST", "/v1/cases/\(caseID)/unseal", "tf/task-force", #"{"order":"(2026) 鲁0102 刑解 3"}"#).status == 204)
            #expect(try await listed())

            // A case lead under a seal order seals the subject's cases.
            let otherCase = try #require(try await Self.caseOf(intervention.database, subject: other))
            let lead = try OutgoingMessage(CaseLeadAcceptedV1(
                intakeID: "i", agency: "court-370102", externalID: "lead-1", subjectID: other, kind: .judgment, decidedAt: Date(),
                offence: "theft", sealed: true), envelope: EventEnvelope(type: CaseLeadAcceptedV1.eventType.name, source: "intake"))
            #expect(try await publisher.publish(lead) == .confirmed)
            #expect(try await eventually {
                try await count(intervention.database, "SELECT count(*)::int FROM intervention.cases WHERE case_id = \(otherCase)::uuid AND sealed") == 1
            })
            #expect(try await !call("GET", "/v1/cases?school=\(school)", "tf/task-force", nil).body.contains(otherCase))
            await publisher.close()
        }
    }

    @Test("a school's report sets the departments to work; 110 and plan referrals are tracked to an outcome that must fit their kind")
    func whistleAndReferrals() async throws {
        let clock = ManualWallClock()
        let port = try freePort()
        let intervention = try RunningService<InterventionService>(
            configuration: try TestEnvironment.serviceConfiguration("intervention", port: port), logger: TestEnvironment.logger, clock: clock)
        let call = try calls(port: port)
        let victim = Self.subjectID(), caller = Self.subjectID()
        let school = "370102-" + TestEnvironment.unique("W")
        try await withServices([intervention]) { () async throws in
            let publisher = Publisher(configuration: try TestEnvironment.amqp("intervention-whistle"), logger: TestEnvironment.logger)
            // School blows the whistle: a bullying report opens the victim's case with a task for the education bureau.
            let report = try OutgoingMessage(ReportAcceptedV1(
                reportID: UUID().uuidString, agency: "school-a", externalID: "w-1", category: .sexualAbuse, immediateDanger: false, occurredAt: Date(),
                schoolCode: school, subjects: [.init(subjectID: victim, role: .victim), .init(subjectID: Self.subjectID(), role: .witness)]),
                envelope: EventEnvelope(type: ReportAcceptedV1.eventType.name, source: "intake"))
            #expect(try await publisher.publish(report) == .confirmed)
            #expect(try await eventually { try await Self.caseOf(intervention.database, subject: victim) != nil })
            let caseID = try #require(try await Self.caseOf(intervention.database, subject: victim))
            #expect(try await eventually {
                try await count(intervention.database, """
                    SELECT count(*)::int FROM intervention.tasks WHERE case_id = \(caseID)::uuid AND measure = 'incident_response'
                    AND unit IN ('psb-370102', 'procuratorate-370102')
                    """) == 2
            })
            // Departments' due in 24 h (high); the witness gets no case.
            #expect(try await count(intervention.database, "SELECT count(*)::int FROM intervention.cases c JOIN intervention.tasks t USING (case_id) WHERE c.case_id = \(caseID)::uuid") == 2)
            #expect(try await Self.outbox(intervention.database, caseID: caseID) == ["case.opened.v1", "task.assigned.v1", "task.assigned.v1"])
            // Both tasks, written in one statement, have their escalation steps and their lines in the case's chronology.
            #expect(try await count(intervention.database, """
                SELECT count(*)::int FROM intervention.timers t JOIN intervention.tasks k USING (task_id) WHERE k.case_id = \(caseID)::uuid
                """) == 2 * (try InterventionConfiguration()).escalationSteps(due: Date()).count)
            #expect(try await count(intervention.database, """
                SELECT count(*)::int FROM intervention.chronology WHERE case_id = \(caseID)::uuid AND kind = 'task_assigned'
                """) == 2)
            // The task force can route a category elsewhere.
            #expect(try await call("PUT", "/v1/departments/theft", "tf/task-force", #"{"units":["psb-{district}-juvenile"]}"#).status == 204)

            // A 110 referral from the hotline, tracked to its outcome.
            let referralID = UUID().uuidString.lowercased()
            let referral = try OutgoingMessage(ReferralRequestedV1(
                referralID: referralID, target: .police110, urgent: true, reason: "immediate danger reported to 12355", fromIntakeID: "i",
                fromEventType: "hotline.call.v1", fromAgency: "hotline-12355", subjectID: caller, riskFlags: [.selfHarm], requestedAt: Date()),
                envelope: EventEnvelope(type: ReferralRequestedV1.eventType.name, source: "intake"))
            #expect(try await publisher.publish(referral) == .confirmed)
            #expect(try await eventually {
                try await call("GET", "/v1/referrals?status=open&kind=police_110", "tf/task-force", nil).body.contains(referralID)
            })
            #expect(try await call("POST", "/v1/referrals/\(referralID)/outcome", "psb-370102/caseworker", #"{"outcome":"resolved"}"#).status == 403)
            #expect(try await call("POST", "/v1/referrals/\(referralID)/outcome", "tf/task-force", #"{"outcome":"back_to_school"}"#).status == 400)
            #expect(try await call("POST", "/v1/referrals/\(referralID)/outcome", "tf/task-force", #"{"outcome":"dispatched","note":"patrol on site in 6 minutes"}"#).status == 204)
            #expect(try await call("POST", "/v1/referrals/\(referralID)/outcome", "tf/task-force", #"{"outcome":"resolved"}"#).status == 409)
            #expect(try await count(intervention.database, "SELECT count(*)::int FROM intervention.outbox WHERE routing_key = 'referral.resolved.v1' AND convert_from(body, 'UTF8') LIKE \("%\(referralID)%") AND convert_from(body, 'UTF8') LIKE \(#"%"outcome":"dispatched"%"#)") == 1)

            // A plan's specialised-school measure is a referral too; its outcome completes the task.
            let plan = #"{"measures":[{"measure":"specialised_school","unit":"education-370102"}]}"#
            #expect(try await call("POST", "/v1/cases/\(caseID)/plan", "tf/task-force", plan).status == 201)
            let task = try #require(try JSONDecoder.contracts.decode(CaseStore.CaseDetail.self, from: Data(
                try await call("GET", "/v1/cases/\(caseID)", "tf/task-force", nil).body.utf8)).tasks.first { $0.measure == "specialised_school" })
            #expect(try await call("POST", "/v1/referrals/\(task.taskID)/outcome", "education-370102/caseworker", #"{"outcome":"granted"}"#).status == 400)
            #expect(try await call("POST", "/v1/referrals/\(task.taskID)/outcome", "education-370102/caseworker", #"{"outcome":"back_to_school"}"#).status == 204)
            #expect(try await count(intervention.database, "SELECT count(*)::int FROM intervention.tasks WHERE task_id = \(task.taskID)::uuid AND status = 'completed'") == 1)
            #expect(try await Self.outbox(intervention.database, caseID: caseID).suffix(3) == ["task.assigned.v1", "referral.resolved.v1", "task.updated.v1"])
            await publisher.close()
        }
    }

    @Test("a hazard becomes a task for the unit that must rectify it, by its deadline; a school whose rating fell gets a supervision task")
    func schoolSafety() async throws {
        let intervention = try RunningService<InterventionService>(
            configuration: try TestEnvironment.serviceConfiguration("intervention"), logger: TestEnvironment.logger, clock: ManualWallClock())
        let school = "370102-" + TestEnvironment.unique("F")
        let due = Date().addingTimeInterval(3 * 86_400)
        try await withServices([intervention]) { () async throws in
            let publisher = Publisher(configuration: try TestEnvironment.amqp("intervention-school"), logger: TestEnvironment.logger)
            let hazard = try OutgoingMessage(HazardReportedV1(
                hazardID: UUID().uuidString, schoolCode: school, item: "one_key_alarm", severity: .critical, unit: school, dueAt: due,
                inspectionID: "i", inspectedBy: "psb-370102", note: "not linked to 110", at: Date()),
                envelope: EventEnvelope(type: HazardReportedV1.eventType.name, source: "inspection"))
            let fell = try OutgoingMessage(RatingChangedV1(
                schoolCode: school, quarter: "2026-Q3", rating: .nonCompliant, previousRating: .compliant, fell: true,
                reasons: ["2 hazards late at the quarter's end"], at: Date()),
                envelope: EventEnvelope(type: RatingChangedV1.eventType.name, source: "inspection"))
            let rose = try OutgoingMessage(RatingChangedV1(
                schoolCode: school, quarter: "2026-Q2", rating: .model, previousRating: .compliant, fell: false, reasons: [], at: Date()),
                envelope: EventEnvelope(type: RatingChangedV1.eventType.name, source: "inspection"))
            #expect(try await publisher.publish([hazard, fell, rose]).allSatisfy { $0 == .confirmed })
            await publisher.close()
            let subject = SchoolCase.subjectID(school)
            #expect(try await eventually {
                try await count(intervention.database, "SELECT count(*)::int FROM intervention.tasks WHERE subject_id = \(subject)") == 2
            })
            #expect(try await count(intervention.database, """
                SELECT count(*)::int FROM intervention.tasks WHERE subject_id = \(subject) AND measure = 'hazard_rectification' AND unit = \(school)
                AND abs(extract(epoch FROM due_at - \(due))) < 1
                """) == 1)
            #expect(try await count(intervention.database, """
                SELECT count(*)::int FROM intervention.tasks WHERE subject_id = \(subject) AND measure = 'school_supervision' AND unit = 'education-370102'
                """) == 1)
            #expect(try await count(intervention.database, "SELECT count(*)::int FROM intervention.cases WHERE subject_id = \(subject)") == 1)
        }
    }

    @Test("the daily summary and digest match a day of known numbers; follow-up visits fall due by tier, once each")
    func dailyLoop() async throws {
        // A day of its own, years ahead, so that nothing else was counted on it — not a quarter's last, so that the
        // next day, when a task goes late, is in the same quarter.
        let calendar = Periods.calendar
        var day = calendar.date(byAdding: .day, value: Int.random(in: 2_000...20_000), to: calendar.startOfDay(for: Date()))!
        if Quarter.of(day) != Quarter.of(day.addingTimeInterval(86_400)) { day = day.addingTimeInterval(-86_400) }
        let clock = ManualWallClock(day.addingTimeInterval(9 * 3600))  // 09:00 China Standard Time
        let port = try freePort()
        let intervention = try RunningService<InterventionService>(
            configuration: try TestEnvironment.serviceConfiguration("intervention", port: port), logger: TestEnvironment.logger, clock: clock)
        let call = try calls(port: port)
        let subjects = (0..<3).map { _ in Self.subjectID() }
        let school = "370102-" + TestEnvironment.unique("D")
        let dayText = Periods.day(day), nextText = Periods.day(day.addingTimeInterval(86_400))
        func daily(_ date: String) async throws -> ReportStore.Summary {
            try JSONDecoder().decode(ReportStore.Summary.self, from: Data(try await call("GET", "/v1/daily?date=\(date)", "tf/task-force", nil).body.utf8))
        }
        try await withServices([intervention]) { () async throws in
            // What is still open from before counts at the end of any later day: measured first.
            let base = try await daily(dayText), baseNext = try await daily(nextText)
            // The quarter may hold an earlier run's random day: counted before, compared after.
            func quarterSummary() async throws -> ReportStore.Summary {
                try JSONDecoder().decode(ReportStore.Summary.self, from: Data(try await call("GET", "/v1/summary?period=quarter&date=\(dayText)", "tf/task-force", nil).body.utf8))
            }
            let baseQuarter = try await quarterSummary()
            let publisher = Publisher(configuration: try TestEnvironment.amqp("intervention-daily"), logger: TestEnvironment.logger)
            #expect(try await publisher.publish(try subjects.map { try Self.assessed($0, tier: .high, previous: nil, school: school) }).allSatisfy { $0 == .confirmed })
            await publisher.close()
            var cases: [String] = []
            #expect(try await eventually {
                cases = try await subjects.asyncMap { try await Self.caseOf(intervention.database, subject: $0) }.compactMap { $0 }
                return cases.count == 3
            })
            // Case 1 gets a plan of two measures; case 2's first response is completed; case 3's is cancelled and the case closed.
            let plan = #"{"measures":[{"measure":"counselling","unit":"\#(school)"},{"measure":"legal_education","unit":"justice-370102"}]}"#
            #expect(try await call("POST", "/v1/cases/\(cases[0])/plan", "tf/task-force", plan).status == 201)
            func firstTask(_ caseID: String) async throws -> String {
                let detail = try JSONDecoder.contracts.decode(CaseStore.CaseDetail.self, from: Data(try await call("GET", "/v1/cases/\(caseID)", "tf/task-force", nil).body.utf8))
                return detail.tasks[0].taskID
            }
            #expect(try await call("POST", "/v1/tasks/\(try await firstTask(cases[1]))/feedback", "\(school)/caseworker", #"{"status":"completed"}"#).status == 204)
            #expect(try await call("POST", "/v1/tasks/\(try await firstTask(cases[2]))/cancel", "tf/task-force", #"{"reason":"moved to another district"}"#).status == 204)
            #expect(try await call("POST", "/v1/cases/\(cases[2])/close", "tf/task-force", #"{"review":"handed over"}"#).status == 204)

            #expect(try await daily(dayText) == ReportStore.Summary(
                casesOpened: 3, tasksAssigned: 5, tasksLate: 0, tasksCompleted: 1, casesClosed: 1, openCases: base.openCases + 2,
                lateTasksOutstanding: base.lateTasksOutstanding))
            // Two days on: case 1's first response (due the next morning) went late that day.
            clock.advance(by: 2 * 86_400)
            #expect(try await daily(nextText) == ReportStore.Summary(
                casesOpened: 0, tasksAssigned: 0, tasksLate: 1, tasksCompleted: 0, casesClosed: 0, openCases: baseNext.openCases + 2,
                lateTasksOutstanding: baseNext.lateTasksOutstanding + 1))
            // The quarter holds both days.
            let quarter = try await quarterSummary()
            #expect(quarter.casesOpened == baseQuarter.casesOpened + 3 && quarter.tasksAssigned == baseQuarter.tasksAssigned + 5
                    && quarter.tasksLate == baseQuarter.tasksLate + 1, "\(baseQuarter) → \(quarter)")
            // At 09:00 the previous day's digest goes out, once.
            #expect(try await eventually {
                try await count(intervention.database, """
                    SELECT count(*)::int FROM intervention.outbox WHERE routing_key = 'daily.digest.v1'
                    AND convert_from(body, 'UTF8') LIKE \("%\"day\":\"\(nextText)\"%") AND convert_from(body, 'UTF8') LIKE '%"tasksLate":1%'
                    """) == 1
            })
            // Follow-ups: high is every 14 days; a due visit is announced once; a recorded one schedules the next.
            func due(_ caseID: String) async throws -> Int {
                try await count(intervention.database, "SELECT count(*)::int FROM intervention.outbox WHERE routing_key = 'followup.due.v1' AND convert_from(body, 'UTF8') LIKE \("%\(caseID)%")")
            }
            clock.advance(by: 13 * 86_400)
            #expect(try await eventually {
                let first = try await due(cases[0]), second = try await due(cases[1])
                return first == 1 && second == 1
            })
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await due(cases[0]) == 1)
            #expect(try await due(cases[2]) == 0)
            #expect(try await call("POST", "/v1/cases/\(cases[0])/followups", "\(school)/caseworker", #"{"note":"seen at school"}"#).status == 201)
            clock.advance(by: 15 * 86_400)
            #expect(try await eventually { try await due(cases[0]) == 2 })
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

extension JSONDecoder {
    static var contracts: JSONDecoder { ContractCoding.decoder() }
}
