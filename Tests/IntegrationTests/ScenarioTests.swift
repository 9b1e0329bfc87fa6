@testable import Assessment
import Contracts
import Foundation
@testable import Inspection
@testable import Intake
@testable import Intervention
import Messaging
import PostgresNIO
@testable import Notification
import ServiceKit
import Storage
import Synchronization
import Testing

/// The seed stories as agencies live them: each onboarded with `huhang-admin agency register`, publishing
/// JSON on `huhang.intake` as the README and the schemas describe, reading receipts from its own queue,
/// and judged only through the documented `/v1` APIs — never by reading the services' tables.
@Suite("Scenarios: the loop as agencies live it", .serialized)
struct ScenarioTests {
    /// The five services on HTTP ports of their own, on the test broker and database.
    struct Suite {
        let intake: RunningService<IntakeService>
        let assessment: RunningService<AssessmentService>
        let intervention: RunningService<InterventionService>
        let inspection: RunningService<InspectionService>
        let notification: RunningService<NotificationService>
        let ports: [String: Int]

        init() throws {
            ScenarioTests.started.withLock { $0 = $0 ?? Date() }
            var ports: [String: Int] = [:]
            for name in ["intake", "assessment", "intervention", "inspection", "notification"] { ports[name] = try freePort() }
            func configuration(_ name: String) throws -> ServiceConfiguration {
                try TestEnvironment.serviceConfiguration(name, port: ports[name]!)
            }
            intake = try RunningService(configuration: try configuration("intake"), logger: TestEnvironment.logger)
            assessment = try RunningService(configuration: try configuration("assessment"), logger: TestEnvironment.logger)
            intervention = try RunningService(configuration: try configuration("intervention"), logger: TestEnvironment.logger)
            inspection = try RunningService(configuration: try configuration("inspection"), logger: TestEnvironment.logger)
            notification = try RunningService(configuration: try configuration("notification"), logger: TestEnvironment.logger)
            self.ports = ports
        }

        /// The suite with services' own settings (read from the environment as they start) changed for it alone.
        init(settings: [String: String]) throws {
            self = try withProcessEnvironment(settings) { try Suite() }
        }

        var all: [any ServiceRunnable] { [intake, assessment, intervention, inspection, notification] }

        /// A documented API call; the answer's status and JSON.
        func call(_ service: String, _ path: String, as identity: APIIdentity) async throws -> (status: Int, json: JSONValue, text: String) {
            try await call(method: "GET", service, path, as: identity)
        }

        func call(method: String, _ service: String, _ path: String, as identity: APIIdentity, body: String? = nil) async throws -> (status: Int, json: JSONValue, text: String) {
            let token = try await APITokens(secret: APITokens.developmentSecret).issue(identity, lifetime: .seconds(300))
            var headers = ["Authorization": "Bearer \(token)"]
            if body != nil { headers["Content-Type"] = "application/json" }
            let (status, text) = try await http(method, "http://127.0.0.1:\(ports[service]!)\(path)", body: body, headers: headers)
            return (status, (try? JSONValue.parse(Array(text.utf8))) ?? .null, text)
        }
    }

    /// An onboarded agency talking to Huhang over AMQP with its own login.
    struct Agency {
        let code: String
        let unit: String
        let url: String

        init(_ prefix: String, kind: String, unit: String? = nil, eventTypes: [String]? = nil, intakePort: Int) throws {
            code = "\(prefix)-\(UUID().uuidString.lowercased().prefix(8))"
            self.unit = unit ?? code
            url = try onboardAgency(code: code, kind: kind, unit: unit, eventTypes: eventTypes, intakePort: intakePort)
        }

        /// Publishes a JSON body as the README says: routing key and `type` the event type, `user_id` the login,
        /// a unique `message_id`, persistent, with confirms. - Returns: The message id.
        @discardableResult
        func publish(_ type: String, _ json: String) async throws -> String {
            let configuration = try AMQPConfiguration(url: url, connectionName: code)
            let connection = try await AMQPConnection.connect(configuration, logger: TestEnvironment.logger)
            defer { Task { await connection.close() } }
            let id = UUID().uuidString.lowercased()
            var envelope = EventEnvelope(id: id, type: type, source: code)
            envelope.sender = code
            let outcome = try await connection.publish(OutgoingMessage(envelope: envelope, body: Array(json.utf8), exchange: ExchangeName.intake))
            guard outcome == .confirmed else { throw TestFailure("publish of \(type) was \(outcome)") }
            return id
        }

        /// Reads receipts from the agency's own reply queue until `count` have come for `eventID` (or time runs out).
        func receipts(for eventID: String, count: Int = 1, timeout: Duration = .seconds(30)) async throws -> [IntakeReceiptV1] {
            let configuration = try AMQPConfiguration(url: url, connectionName: "\(code)-replies")
            let connection = try await AMQPConnection.connect(configuration, confirms: false, logger: TestEnvironment.logger)
            defer { Task { await connection.close() } }
            let stream = try await connection.consume(queue: ExchangeName.agencyReplyQueue(code), prefetch: 50)
            return try await withThrowingTaskGroup(of: [IntakeReceiptV1].self) { group in
                group.addTask {
                    var found: [IntakeReceiptV1] = []
                    for try await delivery in stream {
                        let receipt = try ContractCoding.decoder().decode(IntakeReceiptV1.self, from: Data(delivery.body))
                        if receipt.eventID == eventID {
                            found.append(receipt)
                            await connection.ack(delivery)
                            if found.count >= count { break }
                        } else {
                            await connection.reject(delivery, requeue: true)
                        }
                    }
                    return found
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return []
                }
                let first = try await group.next() ?? []
                group.cancelAll()
                return first
            }
        }

        /// Publishes and waits for the `accepted` receipt; fails with the receipt's reasons otherwise.
        @discardableResult
        func send(_ type: String, _ json: String) async throws -> (eventID: String, reportID: String) {
            let id = try await publish(type, json)
            guard let receipt = try await receipts(for: id).first else { throw TestFailure("no receipt for \(type) \(id)") }
            guard receipt.status == .accepted, let reportID = receipt.reportID else {
                throw TestFailure("\(type) was \(receipt.status.rawValue): \(receipt.reasons.map(\.description))")
            }
            return (id, reportID)
        }

        var identity: APIIdentity { APIIdentity(agency: code, role: .agency, unit: unit) }
    }

    static let taskForce = APIIdentity(agency: "district-task-force", role: .taskForce)

    static func now() -> String { ContractCoding.formatTime(Date()) }

    static func ext() -> String { TestEnvironment.unique("ext") }

    /// A made-up identity number of the right shape.
    static func idNumber() -> String {
        "110105" + String((0..<11).map { _ in "0123456789".randomElement()! }) + "X"
    }

    /// A school code in a county of its own, so that counts and ledgers filtered by it see only this test.
    static func schoolCode() -> String {
        "3701" + String(format: "%02d", Int.random(in: 10...99)) + "-T" + String(UUID().uuidString.prefix(6))
    }

    static func string(_ value: JSONValue, _ path: String...) -> String? {
        var current = value
        for key in path {
            guard case .object(let object) = current, let next = object[key] else { return nil }
            current = next
        }
        if case .string(let text) = current { return text }
        return nil
    }

    static func array(_ value: JSONValue, _ key: String? = nil) -> [JSONValue] {
        if let key { guard case .object(let object) = value, let inner = object[key] else { return [] }; return array(inner) }
        if case .array(let items) = value { return items }
        return []
    }

    static func number(_ value: JSONValue, _ path: String...) -> Double? {
        var current = value
        for key in path {
            guard case .object(let object) = current, let next = object[key] else { return nil }
            current = next
        }
        if case .number(let number) = current { return number }
        return nil
    }

    // MARK: Venue findings

    @Test("a police venue finding is stored and the venue listed")
    func venueFinding() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let police = try Agency("psb", kind: "police", intakePort: suite.ports["intake"]!)
            let licence = "370102-WB-" + String(UUID().uuidString.prefix(8))
            try await police.send("venue.finding.v1", """
                {"externalId":"\(Self.ext())","foundAt":"\(Self.now())","activities":["present"],"actionTaken":"warning",
                 "venue":{"kind":"internet_cafe","name":"星空网咖","licence":"\(licence)"},
                 "minors":[{"idNumber":"\(Self.idNumber())"}]}
                """)
            let listed = try await eventually {
                let venues = try await suite.call("inspection", "/v1/venues", as: police.identity)
                return Self.array(venues.json).contains { Self.string($0, "venueKey") == "licence:\(licence)" }
            }
            #expect(listed, "the venue of an accepted finding is not in GET /v1/venues")
        }
    }

    // MARK: One student, named three ways

    @Test("a student named by identity and student number, then by student number, then by identity number alone is one subject")
    func oneStudentThreeWays() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let schoolCode = Self.schoolCode()
            let school = try Agency("sch", kind: "school", unit: schoolCode, intakePort: suite.ports["intake"]!)
            let police = try Agency("psb", kind: "police", intakePort: suite.ports["intake"]!)
            let id = Self.idNumber()
            try await school.send("report.incident.v1", """
                {"externalId":"\(Self.ext())","category":"bullying","immediateDanger":false,"occurredAt":"\(Self.now())",
                 "schoolCode":"\(schoolCode)","people":[{"role":"victim","idNumber":"\(id)","studentNumber":"S-1"}]}
                """)
            try await school.send("attendance.signal.v1", """
                {"externalId":"\(Self.ext())","schoolCode":"\(schoolCode)","student":{"studentNumber":"S-1"},"kind":"dropped_out",
                 "since":"\(String(Self.now().prefix(10)))"}
                """)
            try await police.send("report.incident.v1", """
                {"externalId":"\(Self.ext())","category":"violence","immediateDanger":false,"occurredAt":"\(Self.now())",
                 "people":[{"role":"victim","idNumber":"\(id)"}]}
                """)
            // The school sees the subjects it reported: one.
            var subject = ""
            #expect(try await eventually {
                let page = try await suite.call("assessment", "/v1/ledgers/victims_needing_aid", as: school.identity)
                let entries = Self.array(page.json, "entries")
                subject = entries.first.flatMap { Self.string($0, "subjectId") } ?? ""
                return entries.count == 1
            })
            // What all three said counts for that one subject.
            var factors: [String] = []
            let whole = try await eventually {
                let risk = try await suite.call("assessment", "/v1/subjects/\(subject)/risk", as: Self.taskForce)
                factors = Self.array(risk.json, "factors").compactMap { Self.string($0, "id") }
                return Set(["bullying_victim", "chronic_absence", "victim_of_harm"]).isSubset(of: factors)
            }
            #expect(whole, "factors of \(subject): \(factors)")
            let identities = try await suite.call("intake", "/v1/subjects/\(subject)/identities?reason=scenario%20test", as: Self.taskForce)
            #expect(Self.array(identities.json, "entries").count == 3, "\(identities.text)")
            // The police report, which names no school, joined the same subject: no second subject anywhere.
            let dropout = try await suite.call("assessment", "/v1/ledgers/dropout_risk?school=\(schoolCode)", as: Self.taskForce)
            #expect(Self.array(dropout.json, "entries").map { Self.string($0, "subjectId") } == [subject])
        }
    }

    // MARK: A school is one identity

    @Test("a school registered with its school code reads its own inbox and tasks, answers its task, and hears of feedback refused")
    func schoolIsOneUnit() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let schoolCode = Self.schoolCode()
            let school = try Agency("school", kind: "school", unit: schoolCode, intakePort: suite.ports["intake"]!)
            let report = try await school.send("report.incident.v1", """
                {"externalId":"\(Self.ext())","category":"bullying","immediateDanger":false,"occurredAt":"\(Self.now())",
                 "schoolCode":"\(schoolCode)","people":[{"role":"victim","studentNumber":"S-7"}]}
                """)
            // The school's own token, as the operator's tool issues it: the unit comes from intake's registry.
            let issued = try huhangAdmin(
                ["token", "--agency", school.code, "--role", "agency", "--hours", "1"],
                environment: ["INTAKE_URL": "http://127.0.0.1:\(suite.ports["intake"]!)"])
            #expect(issued.status == 0, "\(issued.output)")
            let token = issued.output.trimmingCharacters(in: .whitespacesAndNewlines)
            let verified = try await APITokens(secret: APITokens.developmentSecret).verify(token)
            #expect(verified.unit == schoolCode && verified.agency == school.code)

            var tasks: [JSONValue] = []
            #expect(try await eventually {
                let answer = try await suite.call("intervention", "/v1/units/\(schoolCode)/tasks", as: verified)
                tasks = Self.array(answer.json)
                return answer.status == 200 && !tasks.isEmpty
            })
            #expect(try await eventually {
                let inbox = try await suite.call("notification", "/v1/inbox/\(schoolCode)", as: verified)
                return inbox.status == 200 && inbox.text.contains(report.eventID)
            })
            // Its feedback over the bus moves its own task.
            let taskID = try #require(tasks.first.flatMap { Self.string($0, "taskId") })
            try await school.send("task.feedback.v1", """
                {"externalId":"\(Self.ext())","taskId":"\(taskID)","status":"accepted","reportedAt":"\(Self.now())","note":"head teacher on it"}
                """)
            #expect(try await eventually {
                let answer = try await suite.call("intervention", "/v1/units/\(schoolCode)/tasks", as: verified)
                return Self.array(answer.json).contains { Self.string($0, "taskId") == taskID && Self.string($0, "status") == "accepted" }
            })
            // Feedback on the education bureau's task of the same case: intake accepts it, intervention refuses it,
            // and the school hears why in a second receipt and from GET /v1/events/{id}.
            let caseID = try #require(Self.string(tasks[0], "caseId"))
            let caseRead = try await suite.call("intervention", "/v1/cases/\(caseID)", as: Self.taskForce)
            let other = try #require(Self.array(caseRead.json, "tasks").first { Self.string($0, "unit") != schoolCode }.flatMap { Self.string($0, "taskId") },
                                     "\(caseRead.text)")
            let feedbackID = try await school.publish("task.feedback.v1", """
                {"externalId":"\(Self.ext())","taskId":"\(other)","status":"completed","reportedAt":"\(Self.now())"}
                """)
            let receipts = try await school.receipts(for: feedbackID, count: 2)
            #expect(receipts.map(\.status) == [.accepted, .rejected], "\(receipts)")
            #expect(receipts.last?.refusedBy == "intervention")
            #expect(receipts.last?.reasons.first?.field == "/taskId")
            let status = try await suite.call("intake", "/v1/events/\(feedbackID)", as: verified)
            #expect(Self.string(status.json, "status") == "rejected" && Self.string(status.json, "refusedBy") == "intervention", "\(status.text)")
        }
    }

    // MARK: Sealing

    @Test("a seal order, by a sealed case lead or by the task force, takes the minor out of every ledger, count and explanation")
    func sealedMinorsLeaveLedgers() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let procuratorate = try Agency("proc", kind: "procuratorate", intakePort: suite.ports["intake"]!)
            let court = try Agency("court", kind: "court", intakePort: suite.ports["intake"]!)
            let id = Self.idNumber()
            func delinquentCount() async throws -> Double {
                Self.number(try await suite.call("assessment", "/v1/stats", as: Self.taskForce).json, "byLedger", "delinquent") ?? 0
            }
            try await procuratorate.send("case.lead.v1", """
                {"externalId":"\(Self.ext())","minor":{"idNumber":"\(id)"},"kind":"conditional_non_prosecution",
                 "decidedAt":"\(Self.now())","offence":"theft","sealed":false}
                """)
            var subject = ""
            #expect(try await eventually {
                let page = try await suite.call("assessment", "/v1/ledgers/delinquent", as: procuratorate.identity)
                subject = Self.array(page.json, "entries").first.flatMap { Self.string($0, "subjectId") } ?? ""
                return !subject.isEmpty
            })
            let before = try await delinquentCount()

            // The court's seal order, as a case lead.
            try await court.send("case.lead.v1", """
                {"externalId":"\(Self.ext())","minor":{"idNumber":"\(id)"},"kind":"judgment","decidedAt":"\(Self.now())","sealed":true}
                """)
            let hidden = try await eventually {
                let mine = try await suite.call("assessment", "/v1/ledgers/delinquent", as: procuratorate.identity)
                return Self.array(mine.json, "entries").isEmpty
            }
            #expect(hidden, "the sending procuratorate still lists the sealed minor")
            let page = try await suite.call("assessment", "/v1/ledgers/delinquent?limit=500", as: Self.taskForce)
            let all = Self.array(page.json, "entries")
            let after = try await delinquentCount()
            #expect(!all.contains { Self.string($0, "subjectId") == subject }, "the task force's delinquent ledger lists the sealed minor")
            #expect(after == before - 1, "stats: delinquent \(before) before the seal, \(after) after")
            let risk = try await suite.call("assessment", "/v1/subjects/\(subject)/risk", as: Self.taskForce)
            #expect(!risk.text.contains("case lead") && !risk.text.contains("prior_offence") && !risk.text.contains("delinquent"),
                    "the risk explanation shows the sealed matter: \(risk.text)")
            // Break the glass: a stated reason opens it, for the task force only.
            let refused = try await suite.call("assessment", "/v1/subjects/\(subject)/risk?sealed=include&reason=review", as: procuratorate.identity)
            #expect(refused.status == 403)
            let person = "tf-\(UUID().uuidString.prefix(6).lowercased())"
            let reader = APIIdentity(agency: "district-task-force", role: .taskForce, person: person)
            let opened = try await suite.call("assessment", "/v1/subjects/\(subject)/risk?sealed=include&reason=court%20order%20review", as: reader)
            #expect(Self.array(opened.json, "sealedRecord").count >= 2, "\(opened.text)")
            // The audit names the person who broke the glass, and why.
            let audit = try await suite.call("assessment", "/v1/audit?person=\(person)", as: Self.taskForce)
            #expect(Self.array(audit.json).contains {
                Self.string($0, "action") == "break-the-glass" && Self.string($0, "reason") == "court order review"
                    && Self.string($0, "resource") == "subject/\(subject)/risk"
            }, "\(audit.text)")

            // The task force's seal of a case (POST /v1/cases/{id}/seal) hides what the minor is said to have done.
            let schoolCode = Self.schoolCode()
            let school = try Agency("sch", kind: "school", unit: schoolCode, intakePort: suite.ports["intake"]!)
            try await school.send("report.incident.v1", """
                {"externalId":"\(Self.ext())","category":"violence","immediateDanger":false,"occurredAt":"\(Self.now())",
                 "schoolCode":"\(schoolCode)","people":[{"role":"alleged_perpetrator","studentNumber":"S-9"}]}
                """)
            var caseID = ""
            var perpetrator = ""
            #expect(try await eventually {
                let cases = try await suite.call("intervention", "/v1/cases?school=\(schoolCode)", as: Self.taskForce)
                let first = Self.array(cases.json).first
                caseID = first.flatMap { Self.string($0, "caseId") } ?? ""
                perpetrator = first.flatMap { Self.string($0, "subjectId") } ?? ""
                let prone = try await suite.call("assessment", "/v1/ledgers/bully_prone?school=\(schoolCode)", as: Self.taskForce)
                return !caseID.isEmpty && Self.array(prone.json, "entries").count == 1
            })
            let sealed = try await suite.call(method: "POST", "intervention", "/v1/cases/\(caseID)/seal", as: Self.taskForce, body: #"{"order":"(2026)鲁0102刑初1号"}"#)
            #expect(sealed.status == 204, "\(sealed.text)")
            #expect(try await eventually {
                let prone = try await suite.call("assessment", "/v1/ledgers/bully_prone?school=\(schoolCode)", as: Self.taskForce)
                return Self.array(prone.json, "entries").isEmpty
            }, "the sealed case's minor stays on the bully-prone ledger")
            let sealedRisk = try await suite.call("assessment", "/v1/subjects/\(perpetrator)/risk", as: Self.taskForce)
            #expect(!sealedRisk.text.contains("aggression"), "\(sealedRisk.text)")
        }
    }

    // MARK: What bent

    @Test("a returned student completes the persuade-to-return task; the case records the return")
    func returnCompletesPersuasion() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let schoolCode = Self.schoolCode()
            let school = try Agency("sch", kind: "school", unit: schoolCode, intakePort: suite.ports["intake"]!)
            let today = String(Self.now().prefix(10))
            try await school.send("attendance.signal.v1", """
                {"externalId":"\(Self.ext())","schoolCode":"\(schoolCode)","student":{"studentNumber":"D-1"},"kind":"dropped_out","since":"\(today)"}
                """)
            var caseID = ""
            #expect(try await eventually {
                let cases = try await suite.call("intervention", "/v1/cases?school=\(schoolCode)", as: Self.taskForce)
                caseID = Self.array(cases.json).first.flatMap { Self.string($0, "caseId") } ?? ""
                return !caseID.isEmpty
            })
            let plan = try await suite.call(method: "POST", "intervention", "/v1/cases/\(caseID)/plan", as: Self.taskForce,
                                            body: #"{"measures":[{"measure":"persuade_return","unit":"\#(schoolCode)"}]}"#)
            #expect(plan.status == 201, "\(plan.text)")
            try await school.send("attendance.signal.v1", """
                {"externalId":"\(Self.ext())","schoolCode":"\(schoolCode)","student":{"studentNumber":"D-1"},"kind":"returned","since":"\(today)"}
                """)
            #expect(try await eventually {
                let detail = try await suite.call("intervention", "/v1/cases/\(caseID)", as: Self.taskForce)
                let persuade = Self.array(detail.json, "tasks").filter { Self.string($0, "measure") == "persuade_return" }
                return persuade.count == 1 && Self.string(persuade[0], "status") == "completed" && detail.text.contains("returned_to_school")
            })
            // The school completes its first response through the API, and the task force closes the case with its review.
            let detail = try await suite.call("intervention", "/v1/cases/\(caseID)", as: Self.taskForce)
            for task in Self.array(detail.json, "tasks") where Self.string(task, "status") != "completed" {
                let id = try #require(Self.string(task, "taskId"))
                let done = try await suite.call(method: "POST", "intervention", "/v1/tasks/\(id)/feedback", as: school.identity,
                                                body: #"{"status":"completed","note":"visited the family"}"#)
                #expect(done.status == 204, "\(done.text)")
            }
            let closed = try await suite.call(method: "POST", "intervention", "/v1/cases/\(caseID)/close", as: Self.taskForce,
                                              body: #"{"review":"back at school, attending"}"#)
            #expect(closed.status == 200 || closed.status == 204, "\(closed.text)")
            let after = try await suite.call("intervention", "/v1/cases/\(caseID)", as: Self.taskForce)
            #expect(Self.string(after.json, "status") == "closed", "\(after.text)")
        }
    }

    @Test("a bullying report tasks the school's police officer and legal vice-principal the registry names")
    func bullyingTasksSchoolOfficers() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let schoolCode = Self.schoolCode()
            // Units of this test's own (a district has only so many codes, and the test database outlives a run).
            let district = String(schoolCode.prefix(6)) + "-" + String(schoolCode.suffix(6)).lowercased()
            let school = try Agency("sch", kind: "school", unit: schoolCode, intakePort: suite.ports["intake"]!)
            let registry = try await suite.call(method: "PUT", "inspection", "/v1/schools/\(schoolCode)", as: Self.taskForce, body: """
                {"name":"Test school","type":"middle","policeUnit":"psb-\(district)-lx","legalVicePrincipalUnit":"proc-\(district)"}
                """)
            #expect(registry.status == 204, "\(registry.text)")
            let misspelt = try await suite.call(method: "PUT", "inspection", "/v1/schools/\(schoolCode)", as: Self.taskForce, body: #"{"polceUnit":"x"}"#)
            #expect(misspelt.status == 400 && misspelt.text.contains("/polceUnit"), "\(misspelt.text)")
            // The registry's word reaches intervention before the report does.
            try await Task.sleep(for: .seconds(1))
            try await school.send("report.incident.v1", """
                {"externalId":"\(Self.ext())","category":"bullying","immediateDanger":false,"occurredAt":"\(Self.now())","channel":"qr_code",
                 "schoolCode":"\(schoolCode)","people":[{"role":"victim","studentNumber":"B-1"}]}
                """)
            #expect(try await eventually {
                let police = try await suite.call("intervention", "/v1/units/psb-\(district)-lx/tasks", as: Self.taskForce)
                let vice = try await suite.call("intervention", "/v1/units/proc-\(district)/tasks", as: Self.taskForce)
                return Self.array(police.json).count == 1 && Self.array(vice.json).count == 1
            }, "the school's police officer and legal vice-principal have no task")
        }
    }

    @Test("a 12355 call about a guardian's violence counts domestic violence and the guardian factor")
    func hotlineGuardianViolence() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let hotline = try Agency("hotline", kind: "youth_league_hotline", intakePort: suite.ports["intake"]!)
            try await hotline.send("hotline.call.v1", """
                {"externalId":"\(Self.ext())","receivedAt":"\(Self.now())","callerRole":"minor","topic":"family",
                 "riskFlags":["violence"],"harmedBy":"guardian","immediateDanger":false,"cityMatter":false,
                 "minor":{"idNumber":"\(Self.idNumber())"}}
                """)
            var factors: [String] = []
            #expect(try await eventually {
                let page = try await suite.call("assessment", "/v1/ledgers/children_in_hardship", as: hotline.identity)
                guard let subject = Self.array(page.json, "entries").first.flatMap({ Self.string($0, "subjectId") }) else { return false }
                let risk = try await suite.call("assessment", "/v1/subjects/\(subject)/risk", as: hotline.identity)
                factors = Self.array(risk.json, "factors").compactMap { Self.string($0, "id") }
                return Set(["domestic_violence", "guardian_absent_or_unfit"]).isSubset(of: factors)
            }, "factors: \(factors)")
        }
    }

    @Test("reports say how they came in, and intake counts them by channel")
    func reportChannels() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let police = try Agency("psb", kind: "police", intakePort: suite.ports["intake"]!)
            func qr() async throws -> Double {
                Self.number(try await suite.call("intake", "/v1/stats", as: Self.taskForce).json, "reportsByChannel", "qr_code") ?? 0
            }
            let before = try await qr()
            try await police.send("report.incident.v1", """
                {"externalId":"\(Self.ext())","category":"theft","immediateDanger":false,"occurredAt":"\(Self.now())","channel":"qr_code",
                 "people":[{"role":"victim","idNumber":"\(Self.idNumber())"}]}
                """)
            #expect(try await qr() == before + 1)
            let refused = try await police.publish("report.incident.v1", """
                {"externalId":"\(Self.ext())","category":"theft","immediateDanger":false,"occurredAt":"\(Self.now())","channel":"pigeon",
                 "people":[{"role":"victim","idNumber":"\(Self.idNumber())"}]}
                """)
            let receipt = try await police.receipts(for: refused).first
            #expect(receipt?.status == .rejected && receipt?.reasons.first?.field == "/channel", "\(String(describing: receipt))")
        }
    }

    @Test("minors in an internet café: the venue is flagged at once, its regulator tasked, the schools told; a repeat goes to the task force")
    func venueInBreach() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let police = try Agency("psb", kind: "police", intakePort: suite.ports["intake"]!)
            let schoolCode = Self.schoolCode()
            let district = String(schoolCode.prefix(6))
            let licence = "\(district)-KTV-" + String(UUID().uuidString.prefix(6))
            func finding() -> String {
                """
                {"externalId":"\(Self.ext())","foundAt":"\(Self.now())","activities":["present","drinking"],"actionTaken":"rectification_order",
                 "venue":{"kind":"ktv","name":"金嗓子KTV","licence":"\(licence)","district":"\(district)"},
                 "minors":[{"studentNumber":"V-1","schoolCode":"\(schoolCode)"},{"idNumber":"\(Self.idNumber())"}]}
                """
            }
            try await police.send("venue.finding.v1", finding())
            #expect(try await eventually {
                let venues = try await suite.call("inspection", "/v1/venues?flagged=true", as: police.identity)
                return Self.array(venues.json).contains { Self.string($0, "venueKey") == "licence:\(licence)" }
            }, "a KTV that admitted minors is not flagged at the first finding")
            #expect(try await eventually {
                let regulator = try await suite.call("intervention", "/v1/units/culture-\(district)/tasks", as: Self.taskForce)
                let school = try await suite.call("intervention", "/v1/units/\(schoolCode)/tasks", as: Self.taskForce)
                return Self.array(regulator.json).contains { Self.string($0, "measure") == "venue_rectification" }
                    && Self.array(school.json).contains { Self.string($0, "measure") == "joint_follow_up" }
            }, "no rectification task for the regulator, or no follow-up for the school")
            try await police.send("venue.finding.v1", finding())
            #expect(try await eventually {
                let force = try await suite.call("intervention", "/v1/units/district-task-force/tasks", as: Self.taskForce)
                return Self.array(force.json).contains { Self.string($0, "measure") == "venue_rectification" && (Self.string($0, "note") ?? "").contains(licence) }
            }, "a repeated breach did not reach the task force")
        }
    }

    @Test("a 2,000-row screening: the receipt says how many rows were accepted and left out, assessment how many it applied")
    func screeningBatch() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let schoolCode = Self.schoolCode()
            let school = try Agency("sch", kind: "school", unit: schoolCode, intakePort: suite.ports["intake"]!)
            let rows = (0..<2000).map { index in
                // Every 500th row names nobody; every 100th screens positive.
                index % 500 == 7 ? #"{"student":{},"score":50,"threshold":65}"#
                    : #"{"student":{"studentNumber":"M-\#(index)"},"score":\#(index % 100 == 0 ? 80 : 30),"threshold":65}"#
            }
            let id = try await school.publish("screening.batch.v1", """
                {"externalId":"\(Self.ext())","schoolCode":"\(schoolCode)","scale":"MHT","screenedAt":"\(Self.now())","results":[\(rows.joined(separator: ","))]}
                """)
            let receipt = try #require(try await school.receipts(for: id, timeout: .seconds(60)).first)
            #expect(receipt.status == .accepted && receipt.acceptedRows == 1996 && receipt.rejectedRows == 4, "\(receipt)")
            #expect(receipt.reasons.map(\.field).allSatisfy { $0.hasPrefix("/results/") } && receipt.reasons.count == 4)
            let reportID = try #require(receipt.reportID)
            var applied: JSONValue = .null
            #expect(try await eventually(timeout: .seconds(60)) {
                applied = try await suite.call("assessment", "/v1/screenings/\(reportID)", as: school.identity).json
                return Self.number(applied, "appliedRows") == 1996
            }, "\(applied)")
            #expect(Self.number(applied, "positive") == 20 && Self.number(applied, "rejectedRows") == 4)
            let page = try await suite.call("assessment", "/v1/ledgers/psychological_risk?school=\(schoolCode)&limit=500", as: Self.taskForce)
            #expect(Self.array(page.json, "entries").count == 20)
        }
    }

    @Test("a broken one-key alarm becomes a hazard with a deadline and a task for the school; a passing re-inspection closes it")
    func brokenAlarm() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let schoolCode = Self.schoolCode()
            let school = try Agency("sch", kind: "school", unit: schoolCode, intakePort: suite.ports["intake"]!)
            func inspect(_ passed: Bool) async throws {
                try await school.send("inspection.report.v1", """
                    {"externalId":"\(Self.ext())","schoolCode":"\(schoolCode)","kind":"daily_check","inspectedAt":"\(Self.now())",
                     "checks":[{"item":"one_key_alarm","passed":\(passed)\(passed ? "" : #","note":"alarm not linked to 110""#)}]}
                    """)
            }
            try await inspect(false)
            #expect(try await eventually {
                let hazards = try await suite.call("inspection", "/v1/hazards?school=\(schoolCode)&state=open", as: school.identity)
                let tasks = try await suite.call("intervention", "/v1/units/\(schoolCode)/tasks", as: school.identity)
                return Self.array(hazards.json).contains { Self.string($0, "item") == "one_key_alarm" && Self.string($0, "severity") == "critical" }
                    && Self.array(tasks.json).contains { Self.string($0, "measure") == "hazard_rectification" }
            })
            try await inspect(true)
            #expect(try await eventually {
                let hazards = try await suite.call("inspection", "/v1/hazards?school=\(schoolCode)&state=open", as: school.identity)
                return Self.array(hazards.json).isEmpty
            })
            // An inspection reported eight days late: its fire-facilities hazard (7 days to rectify) is late at once,
            // announced once, and the school and the fire department are told.
            let eightDaysAgo = ContractCoding.formatTime(Date().addingTimeInterval(-8 * 86_400))
            try await school.send("inspection.report.v1", """
                {"externalId":"\(Self.ext())","schoolCode":"\(schoolCode)","kind":"supervisory_patrol","inspectedAt":"\(eightDaysAgo)",
                 "checks":[{"item":"fire_facilities","passed":false}]}
                """)
            #expect(try await eventually {
                let late = try await suite.call("inspection", "/v1/hazards?school=\(schoolCode)&state=late", as: school.identity)
                let inbox = try await suite.call("notification", "/v1/inbox/\(schoolCode)", as: school.identity)
                return Self.array(late.json).contains { Self.string($0, "item") == "fire_facilities" }
                    && Self.array(inbox.json, "items").contains { Self.string($0, "eventType") == "hazard.overdue.v1" }
            }, "a late hazard is not listed as late, or the school was not told")
        }
    }

    @Test("a 12355 call with danger now: a 110 referral at once, listed by its target with the call it came from")
    func hotlineDangerNow() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let hotline = try Agency("hotline", kind: "youth_league_hotline", intakePort: suite.ports["intake"]!)
            let call = try await hotline.send("hotline.call.v1", """
                {"externalId":"\(Self.ext())","receivedAt":"\(Self.now())","callerRole":"parent","topic":"family",
                 "riskFlags":["self_harm"],"immediateDanger":true,"cityMatter":false,"minor":{"idNumber":"\(Self.idNumber())"}}
                """)
            var referral: JSONValue = .null
            #expect(try await eventually {
                let list = try await suite.call("intervention", "/v1/referrals?target=police_110", as: Self.taskForce)
                referral = Self.array(list.json).first { Self.string($0, "fromIntakeId") == call.reportID } ?? .null
                return referral != .null
            })
            #expect(Self.string(referral, "target") == "police_110" && Self.string(referral, "fromEventType") == "hotline.call.v1", "\(referral)")
            // The task force hears of the child at critical risk; its inbox says the notice awaits acknowledgement.
            #expect(try await eventually {
                let inbox = try await suite.call("notification", "/v1/inbox/district-task-force", as: Self.taskForce)
                return Self.array(inbox.json, "items").contains {
                    Self.string($0, "correlationId") == call.eventID && Self.string($0, "state") == "awaiting_acknowledgement"
                        && Self.string($0, "ackDueAt") != nil
                }
            })
        }
    }

    @Test("civil affairs reports a left-behind child in hardship: the child is on the hardship ledger, explained")
    func familySituation() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let civil = try Agency("civil", kind: "civil_affairs", intakePort: suite.ports["intake"]!)
            try await civil.send("family.situation.v1", """
                {"externalId":"\(Self.ext())","child":{"idNumber":"\(Self.idNumber())"},"flags":["left_behind","hardship"],"notedAt":"\(Self.now())"}
                """)
            var reason = ""
            #expect(try await eventually {
                let page = try await suite.call("assessment", "/v1/ledgers/children_in_hardship", as: civil.identity)
                reason = Self.array(page.json, "entries").first.flatMap { Self.string($0, "reason") } ?? ""
                return reason.contains("left_behind") && reason.contains("economic_hardship")
            }, "ledger reason: \(reason)")
        }
    }

    @Test("the quarter's rating: a school never inspected is non-compliant, with the reason in the bulletin")
    func quarterlyRating() async throws {
        let suite = try Suite()
        try await withServices(suite.all) { () async throws in
            let schoolCode = Self.schoolCode()
            let registry = try await suite.call(method: "PUT", "inspection", "/v1/schools/\(schoolCode)", as: Self.taskForce, body: #"{"name":"未检学校","type":"primary"}"#)
            #expect(registry.status == 204)
            let quarter = Quarter.of(Date())
            let computed = try await suite.call(method: "POST", "inspection", "/v1/ratings/\(quarter)/compute", as: Self.taskForce)
            #expect(computed.status == 200, "\(computed.text)")
            let ratings = try await suite.call("inspection", "/v1/ratings/\(quarter)?district=\(schoolCode.prefix(6))", as: Self.taskForce)
            let mine = Self.array(ratings.json).first { Self.string($0, "schoolCode") == schoolCode }
            #expect(mine.flatMap { Self.string($0, "rating") } == "non_compliant", "\(ratings.text)")
            let bulletin = try await suite.call("inspection", "/v1/ratings/\(quarter)/bulletin?district=\(schoolCode.prefix(6))", as: Self.taskForce)
            #expect(bulletin.text.contains(schoolCode) && bulletin.text.contains("未检学校"), "\(bulletin.text)")
        }
    }

    @Test("a first response left undone: the school is reminded, its superior and then the task force are told; a follow-up falls due")
    func lateTaskEscalates() async throws {
        // Real time shortened by configuration: deadlines, escalation steps and follow-ups of seconds.
        let shortened = [
            "FIRST_RESPONSE_HOURS": "0.0005,0.0005,0.0005", "ESCALATE_SUPERIOR_AFTER_HOURS": "0.0005",
            "ESCALATE_TASK_FORCE_AFTER_HOURS": "0.001", "FOLLOW_UP_DAYS": "0.00005,0.00005,0.00005", "ESCALATION_POLL_MS": "200",
        ]
        let suite = try Suite(settings: shortened)
        try await withServices(suite.all) { () async throws in
            try await Self.lateTask(in: suite)
        }
    }

    static func lateTask(in suite: Suite) async throws {
        let schoolCode = Self.schoolCode()
        let school = try Agency("sch", kind: "school", unit: schoolCode, intakePort: suite.ports["intake"]!)
        try await school.send("report.incident.v1", """
            {"externalId":"\(Self.ext())","category":"bullying","immediateDanger":false,"occurredAt":"\(Self.now())",
             "schoolCode":"\(schoolCode)","people":[{"role":"victim","studentNumber":"L-1"}]}
            """)
        let opened = try await eventually {
            let cases = try await suite.call("intervention", "/v1/cases?school=\(schoolCode)", as: Self.taskForce)
            return !Self.array(cases.json).isEmpty
        }
        #expect(opened)
        let cases = try await suite.call("intervention", "/v1/cases?school=\(schoolCode)", as: Self.taskForce)
        let caseID = try #require(Self.array(cases.json).first.flatMap { Self.string($0, "caseId") })
        let escalated = try await eventually(timeout: .seconds(40)) {
            let chronology = try await Self.chronology(caseID, in: suite)
            return chronology.contains("task_overdue") && chronology.contains("escalated:task_force") && chronology.contains("followup_due")
        }
        let chronology = try await Self.chronology(caseID, in: suite)
        #expect(escalated, "chronology: \(chronology)")
        let told = try await eventually {
            let inbox = try await suite.call("notification", "/v1/inbox/\(schoolCode)", as: school.identity)
            let types = Set(Self.array(inbox.json, "items").compactMap { Self.string($0, "eventType") })
            return types.isSuperset(of: ["task.assigned.v1", "task.overdue.v1", "followup.due.v1"])
        }
        #expect(told, "the school's inbox lacks the reminder or the follow-up")
    }

    /// A case's chronology as the task force reads it: each entry's kind, and `escalated:<level>` for escalations.
    static func chronology(_ caseID: String, in suite: Suite) async throws -> [String] {
        let detail = try await suite.call("intervention", "/v1/cases/\(caseID)", as: taskForce)
        return array(detail.json, "chronology").map { entry in
            let kind = string(entry, "kind") ?? ""
            guard kind == "escalated" else { return kind }
            return (string(entry, "detail") ?? "").contains("task_force") ? "escalated:task_force" : "escalated:superior"
        }
    }

    /// The event types a service's handlers are bound to.
    static func consumed(_ service: some HuhangService) -> [String] {
        var registry = HandlerRegistry()
        service.register(&registry)
        return registry.types
    }

    /// Whether every scenario so far ran; the coverage check below reads what they made the services apply.
    static let started = Mutex<Date?>(nil)

    @Test("every event type a service consumes went through that service in these scenarios (run with the whole suite)")
    func everyConsumedTypeExercised() async throws {
        guard let start = Self.started.withLock({ $0 }) else {
            Issue.record("no scenario ran before this check: run the whole suite (scripts/test, or --filter ScenarioTests)")
            return
        }
        // Consumed, but not yet reached from an agency's event through the published contract in these scenarios.
        let notYet: [String: Set<String>] = [
            // The previous day's digest goes out once a day at DAILY_DIGEST_HOUR; a care team's contacts are only
            // visible as SMS or e-mail to a provider gateway, which NotificationCareTeamTests covers.
            "notification": ["daily.digest.v1", "careteam.changed.v1"],
        ]
        let suite = try Suite()
        let services: [(String, [String])] = [
            ("intake", Self.consumed(suite.intake.service)), ("assessment", Self.consumed(suite.assessment.service)),
            ("intervention", Self.consumed(suite.intervention.service)), ("inspection", Self.consumed(suite.inspection.service)),
            ("notification", Self.consumed(suite.notification.service)),
        ]
        for (name, types) in services {
            try await withDatabase(schema: name) { connection in
                let rows = try await connection.query("""
                    SELECT DISTINCT event_type FROM \(unescaped: name).inbox WHERE received_at >= \(start)
                    """, logger: connection.logger)
                var applied: Set<String> = []
                for try await type in rows.decode(String.self) { applied.insert(type) }
                let missing = Set(types).subtracting(applied).subtracting(notYet[name] ?? [])
                #expect(missing.isEmpty, "\(name) consumes \(missing.sorted()) but no scenario made it apply one")
            }
        }
    }
}

