@testable import Assessment
import Contracts
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import Inspection
@testable import Intake
@testable import Intervention
import Messaging
@testable import Notification
import PostgresNIO
import ServiceKit
import Storage
import Testing

/// The walking skeleton: an agency's report through all five services.
@Suite("End to end", .serialized)
struct EndToEndTests {
    /// Registers the demo agency with intake, as an operator would.
    func registerDemoAgency(_ intake: RunningService<IntakeService>, eventTypes: [String] = [IncidentReportV1.eventType.name]) async throws {
        try await AgencyStore(database: intake.database).upsert(Agency(
            code: "agency-demo", name: "Demo school", kind: .school, eventTypes: eventTypes, active: true))
    }

    func agencyPublish(_ report: IncidentReportV1, id: String, trace: TraceContext) async throws -> PublishOutcome {
        let agency = try AMQPConfiguration(url: TestEnvironment.agencyAMQPURL, connectionName: "agency-demo")
        let connection = try await AMQPConnection.connect(agency, logger: TestEnvironment.logger)
        defer { Task { await connection.close() } }
        var envelope = EventEnvelope(
            id: id, type: IncidentReportV1.eventType.name, source: "agency-demo",
            dataschema: IncidentReportV1.eventType.dataschema, traceparent: trace.traceparent)
        envelope.sender = agency.user
        return try await connection.publish(try OutgoingMessage(report, envelope: envelope, exchange: ExchangeName.intake))
    }

    func agencyPublishRaw(_ body: String, id: String) async throws -> PublishOutcome {
        let agency = try AMQPConfiguration(url: TestEnvironment.agencyAMQPURL, connectionName: "agency-demo")
        let connection = try await AMQPConnection.connect(agency, logger: TestEnvironment.logger)
        defer { Task { await connection.close() } }
        var envelope = EventEnvelope(id: id, type: IncidentReportV1.eventType.name, source: "agency-demo")
        envelope.sender = agency.user
        return try await connection.publish(OutgoingMessage(envelope: envelope, body: Array(body.utf8), exchange: ExchangeName.intake))
    }

    @Test("an agency's incident report ends as a recorded notification to the responsible unit, in one trace")
    func reportToNotification() async throws {
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake"), logger: TestEnvironment.logger)
        let assessment = try RunningService<AssessmentService>(configuration: try TestEnvironment.serviceConfiguration("assessment"), logger: TestEnvironment.logger)
        let intervention = try RunningService<InterventionService>(configuration: try TestEnvironment.serviceConfiguration("intervention"), logger: TestEnvironment.logger)
        let inspection = try RunningService<InspectionService>(configuration: try TestEnvironment.serviceConfiguration("inspection"), logger: TestEnvironment.logger)
        let port = try freePort()
        let notification = try RunningService<NotificationService>(configuration: try TestEnvironment.serviceConfiguration("notification", port: port), logger: TestEnvironment.logger)

        let school = TestEnvironment.unique("school")
        let reportID = UUID().uuidString.lowercased()
        let trace = TraceContext.random()
        let report = IncidentReportV1(
            externalID: TestEnvironment.unique("ext"), category: .bullying, immediateDanger: true, occurredAt: Date(),
            schoolCode: school, place: "playground", narrative: "reported by the head teacher",
            people: [.init(role: .victim, studentNumber: "S-001"), .init(role: .reporter, name: "Teacher")])

        try await withServices([intake, assessment, intervention, inspection, notification]) { () async throws in
            try await registerDemoAgency(intake)
            #expect(try await agencyPublish(report, id: reportID, trace: trace) == .confirmed)

            // The unit (the school) has a notice in its inbox, correlated with the report.
            let delivered = try await eventually(timeout: .seconds(30)) {
                try await count(notification.database, """
                    SELECT count(*)::int FROM notification.deliveries
                    WHERE recipient = \(school) AND correlation_id = \(reportID) AND channel = 'inbox' AND delivered_at IS NOT NULL
                    """) == 1
            }
            #expect(delivered)

            // Each step happened once.
            #expect(try await count(intake.database, "SELECT count(*)::int FROM intake.accepted WHERE event_id = \(reportID) AND agency = 'agency-demo'") == 1)
            #expect(try await count(assessment.database, """
                SELECT count(*)::int FROM assessment.subjects s JOIN assessment.assessments a USING (subject_id)
                WHERE s.school_code = \(school) AND s.tier = 'critical'
                """) == 1)
            #expect(try await count(intervention.database, """
                SELECT count(*)::int FROM intervention.tasks WHERE unit = \(school) AND due_at < now() + interval '61 minutes'
                """) == 1)
            #expect(try await eventually {
                try await count(inspection.database, "SELECT coalesce(sum(incidents), 0)::int FROM inspection.school_incidents WHERE school_code = \(school)") == 1
            })
            // No raw identity reached intake's tables: only subject ids.
            #expect(try await count(intake.database, """
                SELECT count(*)::int FROM intake.subject_links rs JOIN intake.accepted r USING (intake_id)
                WHERE r.event_id = \(reportID) AND rs.subject_id LIKE 's-%' AND rs.subject_id NOT LIKE '%S-001%'
                """) == 2)

            // One trace: the notification service's own events — the school told of its first response, the education
            // bureau of the incident the school reported, the task force of a child at critical risk — carry the
            // agency's trace id and the report's correlation id.
            let traced = try await eventually {
                try await count(notification.database, """
                    SELECT count(*)::int FROM notification.outbox
                    WHERE properties->>'correlationID' = \(reportID)
                      AND split_part(properties->'headers'->>'traceparent', '-', 2) = \(trace.traceID)
                    """) == 3
            }
            #expect(traced)
            #expect(try await count(notification.database, "SELECT count(*)::int FROM notification.outbox WHERE properties->>'correlationID' = \(reportID)") == 3)
            #expect(try await count(notification.database, """
                SELECT count(*)::int FROM notification.deliveries WHERE correlation_id = \(reportID) AND channel = 'inbox'
                AND recipient IN (\(school), \("education-" + school), 'district-task-force')
                """) == 3)

            // The case's chronology records that the unit was told.
            #expect(try await eventually {
                try await count(intervention.database, """
                    SELECT count(*)::int FROM intervention.chronology c JOIN intervention.tasks t USING (case_id)
                    WHERE t.unit = \(school) AND c.kind = 'unit_notified'
                    """) == 1
            })

            // The inbox API shows it to the unit, and only with a valid token.
            let tokens = try APITokens(secret: APITokens.developmentSecret)
            func get(_ token: String?) async throws -> (Int, String) {
                try await httpGet("http://127.0.0.1:\(port)/v1/inbox/\(school)", headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
            }
            let (status, body) = try await get(try await tokens.issue(APIIdentity(agency: school, role: .caseworker), lifetime: .seconds(60)))
            #expect(status == 200)
            #expect(body.contains(reportID))
            #expect(try await get(nil).0 == 401)
            #expect(try await get("not.a.token").0 == 401)
            #expect(try await get(try await tokens.issue(APIIdentity(agency: "another-school", role: .caseworker), lifetime: .seconds(60))).0 == 403)
        }
    }

    @Test("the same report sent twice is accepted once; a malformed one is set aside and intake keeps going")
    func duplicateAndMalformedReports() async throws {
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake"), logger: TestEnvironment.logger)
        let school = TestEnvironment.unique("school")
        let externalID = TestEnvironment.unique("ext")
        let report = IncidentReportV1(
            externalID: externalID, category: .theft, immediateDanger: false, occurredAt: Date(), schoolCode: school,
            people: [.init(role: .victim, idNumber: "11010520100101123X")])
        try await withServices([intake]) { () async throws in
            try await registerDemoAgency(intake)
            let replies = try await AgencyReplies.open(agency: "agency-demo")
            // Same external id twice under different message ids: the agency retried.
            let firstID = UUID().uuidString
            let againID = UUID().uuidString
            #expect(try await agencyPublish(report, id: firstID, trace: .random()) == .confirmed)
            #expect(try await agencyPublish(report, id: againID, trace: .random()) == .confirmed)
            // Same external id, different content: a conflict, kept for review.
            var changed = report
            changed.category = .violence
            let conflictID = UUID().uuidString
            #expect(try await agencyPublish(changed, id: conflictID, trace: .random()) == .confirmed)
            // A report naming nobody.
            var empty = report
            empty.externalID = TestEnvironment.unique("ext")
            empty.people = []
            let emptyID = UUID().uuidString
            #expect(try await agencyPublish(empty, id: emptyID, trace: .random()) == .confirmed)

            #expect(try await eventually {
                try await count(intake.database, "SELECT count(*)::int FROM intake.rejections WHERE event_id IN (\(conflictID), \(emptyID))") == 2
            })
            #expect(try await count(intake.database, "SELECT count(*)::int FROM intake.accepted WHERE external_id = \(externalID)") == 1)
            #expect(try await count(intake.database, "SELECT count(*)::int FROM intake.rejections WHERE event_id = \(emptyID) AND reasons @> '[{\"field\": \"/people\"}]'") == 1)
            // A body with a wrong value gets the field, the problem and what is allowed.
            let wrong = UUID().uuidString
            let body = #"{"externalId":"x-1","category":"fighting","immediateDanger":false,"occurredAt":"2026-11-18T08:00:00Z","people":[{"role":"victim","studentNumber":"1"}]}"#
            #expect(try await agencyPublishRaw(body, id: wrong) == .confirmed)
            #expect(try await eventually {
                try await count(intake.database, """
                    SELECT count(*)::int FROM intake.rejections WHERE event_id = \(wrong)
                    AND reasons @> '[{"field": "/category", "problem": "not one of the allowed values"}]'
                    AND reasons::text LIKE '%sexual_abuse%'
                    """) == 1
            })
            // The agency hears back about each one, in its own reply queue.
            let receipts = try await replies.receipts(for: [firstID, againID, conflictID, emptyID, wrong])
            // Handled at once by concurrent handlers, either copy may be the one accepted; the other is the duplicate.
            #expect(Set([receipts[firstID]?.status, receipts[againID]?.status]) == [.accepted, .duplicate])
            #expect((receipts[firstID]?.reportID ?? receipts[againID]?.reportID) != nil)
            #expect(receipts[conflictID]?.status == .conflict)
            #expect(receipts[emptyID]?.status == .rejected && receipts[emptyID]?.reasons.first?.field == "/people")
            #expect(receipts[wrong]?.status == .rejected && receipts[wrong]?.externalID == "x-1")
            #expect(receipts[wrong]?.reasons.first { $0.field == "/category" }?.allowed?.contains("bullying") == true)
            await replies.close()
            // The identity number is nowhere in intake's schema.
            #expect(try await count(intake.database, "SELECT count(*)::int FROM intake.subject_links WHERE subject_id LIKE '%11010520100101123X%'") == 0)
        }
    }

    @Test("an agency sends only the event types it is registered for; operators register agencies through the API")
    func agencyRegistry() async throws {
        let port = try freePort()
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake", port: port), logger: TestEnvironment.logger)
        let report = IncidentReportV1(
            externalID: TestEnvironment.unique("ext"), category: .theft, immediateDanger: false, occurredAt: Date(),
            schoolCode: "S", people: [.init(role: .victim, studentNumber: "9")])
        try await withServices([intake]) { () async throws in
            let tokens = try APITokens(secret: APITokens.developmentSecret)
            let operatorToken = try await tokens.issue(APIIdentity(agency: "district-ops", role: .operator), lifetime: .seconds(60))
            let caseworkerToken = try await tokens.issue(APIIdentity(agency: "agency-demo", role: .caseworker), lifetime: .seconds(60))
            func register(_ body: String, token: String) async throws -> Int {
                try await httpPost("http://127.0.0.1:\(port)/v1/agencies", body: body, headers: ["Authorization": "Bearer \(token)"]).status
            }
            // The hotline only: an incident report from it is refused with the reason.
            #expect(try await register(#"{"code":"agency-demo","name":"Demo","kind":"youth_league_hotline","eventTypes":["hotline.call.v1"]}"#, token: operatorToken) == 201)
            #expect(try await register(#"{"code":"agency-demo","name":"Demo","kind":"school","unit":"DEMO-01"}"#, token: caseworkerToken) == 403)
            // A school without its school code as unit, or with a key the registry does not know, is refused with the field.
            #expect(try await register(#"{"code":"agency-demo","name":"Demo","kind":"school"}"#, token: operatorToken) == 400)
            let misspelt = try await httpPost(
                "http://127.0.0.1:\(port)/v1/agencies", body: #"{"code":"agency-demo","name":"Demo","kind":"school","unit":"DEMO-01","evenTypes":[]}"#,
                headers: ["Authorization": "Bearer \(operatorToken)"])
            #expect(misspelt.status == 400 && misspelt.body.contains("/evenTypes: is not a field of this request"), "\(misspelt.body)")
            let missing = try await httpPost(
                "http://127.0.0.1:\(port)/v1/agencies", body: #"{"code":"agency-demo","kind":"school","unit":"DEMO-01"}"#,
                headers: ["Authorization": "Bearer \(operatorToken)"])
            #expect(missing.status == 400 && missing.body.contains("/name: is required"), "\(missing.body)")
            #expect(try await register(#"{"code":"agency-demo","name":"Demo","kind":"spaceport"}"#, token: operatorToken) == 400)
            #expect(try await register(#"{"code":"agency-demo","name":"Demo","kind":"school","eventTypes":["report.weather.v1"]}"#, token: operatorToken) == 400)
            let refusedID = UUID().uuidString
            #expect(try await agencyPublish(report, id: refusedID, trace: .random()) == .confirmed)
            #expect(try await eventually {
                try await count(intake.database, """
                    SELECT count(*)::int FROM intake.rejections WHERE event_id = \(refusedID) AND kind = 'forbidden'
                    AND reasons::text LIKE '%may not send report.incident.v1%'
                    """) == 1
            })
            // As a school (the default list includes incident reports) the same report is accepted.
            #expect(try await register(#"{"code":"agency-demo","name":"Demo","kind":"school","unit":"DEMO-01"}"#, token: operatorToken) == 201)
            let acceptedID = UUID().uuidString
            #expect(try await agencyPublish(report, id: acceptedID, trace: .random()) == .confirmed)
            #expect(try await eventually {
                try await count(intake.database, "SELECT count(*)::int FROM intake.accepted WHERE event_id = \(acceptedID)") == 1
            })
            let listing = try await httpGet("http://127.0.0.1:\(port)/v1/agencies", headers: ["Authorization": "Bearer \(operatorToken)"])
            #expect(listing.status == 200 && listing.body.contains("screening.batch.v1"))
        }
    }
}

/// Intake's HTTP gateway, for agencies that cannot speak AMQP.
@Suite("HTTP gateway", .serialized)
struct GatewayTests {
    @Test("POST /v1/events answers with the receipt: 202, 200 duplicate, 409 conflict, 400 with reasons, 403, 401")
    func gateway() async throws {
        let port = try freePort()
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake", port: port), logger: TestEnvironment.logger)
        let tokens = try APITokens(secret: APITokens.developmentSecret)
        let agencyToken = try await tokens.issue(APIIdentity(agency: "agency-demo", role: .agency), lifetime: .seconds(120))
        let otherToken = try await tokens.issue(APIIdentity(agency: "another-agency", role: .agency), lifetime: .seconds(120))
        let caseworkerToken = try await tokens.issue(APIIdentity(agency: "agency-demo", role: .caseworker), lifetime: .seconds(120))
        let url = "http://127.0.0.1:\(port)/v1/events"
        func post(_ body: String, id: String, type: String = "report.incident.v1", token: String?) async throws -> (status: Int, body: String) {
            var headers = ["ce-type": type, "ce-id": id]
            if let token { headers["Authorization"] = "Bearer \(token)" }
            return try await httpPost(url, body: body, headers: headers)
        }
        func receipt(_ text: String) throws -> IntakeReceiptV1 {
            try ContractCoding.decoder().decode(IntakeReceiptV1.self, from: Data(text.utf8))
        }
        let externalID = TestEnvironment.unique("http")
        let report = #"{"externalId":"\#(externalID)","category":"bullying","immediateDanger":false,"occurredAt":"2026-11-18T08:00:00Z","schoolCode":"S-1","people":[{"role":"victim","studentNumber":"12"}]}"#

        try await withServices([intake]) { () async throws in
            try await AgencyStore(database: intake.database).upsert(Agency(
                code: "agency-demo", name: "Demo school", kind: .school, eventTypes: [IncidentReportV1.eventType.name], active: true))
            let id = UUID().uuidString
            let accepted = try await post(report, id: id, token: agencyToken)
            #expect(accepted.status == 202)
            let first = try receipt(accepted.body)
            #expect(first.status == .accepted && first.reportID != nil)
            // The same request again (a retry after a lost response) gets the same answer and changes nothing.
            let retried = try await post(report, id: id, token: agencyToken)
            #expect(retried.status == 202)
            #expect(try receipt(retried.body).reportID == first.reportID)
            // The same report under a new id: duplicate.
            #expect(try await post(report, id: UUID().uuidString, token: agencyToken).status == 200)
            // Same external id, other content: conflict.
            let changed = report.replacingOccurrences(of: "bullying", with: "violence")
            #expect(try await post(changed, id: UUID().uuidString, token: agencyToken).status == 409)
            // Broken: 400 with the field and what is allowed.
            let broken = try await post(report.replacingOccurrences(of: "bullying", with: "fighting"), id: UUID().uuidString, token: agencyToken)
            #expect(broken.status == 400)
            #expect(try receipt(broken.body).reasons.contains { $0.field == "/category" && $0.allowed?.contains("bullying") == true })
            // A type the agency may not send: 403 forbidden.
            #expect(try await post("{}", id: UUID().uuidString, type: "hotline.call.v1", token: agencyToken).status == 403)
            // Unknown type: 403 too (nobody may send it); no token: 401; not an agency token: 403.
            #expect(try await post(report, id: UUID().uuidString, type: "report.weather.v1", token: agencyToken).status == 403)
            #expect(try await post(report, id: UUID().uuidString, token: nil).status == 401)
            #expect(try await post(report, id: UUID().uuidString, token: caseworkerToken).status == 403)
            // The status, to the sender only.
            let status = try await httpGet("\(url)/\(id)", headers: ["Authorization": "Bearer \(agencyToken)"])
            #expect(status.status == 200)
            #expect(try receipt(status.body).status == .accepted)
            #expect(try await httpGet("\(url)/\(id)", headers: ["Authorization": "Bearer \(otherToken)"]).status == 404)
            #expect(try await count(intake.database, "SELECT count(*)::int FROM intake.accepted WHERE external_id = \(externalID)") == 1)
        }
    }
}

/// An agency's reply queue, read as the agency would.
struct AgencyReplies {
    let connection: AMQPConnection
    let stream: AsyncThrowingStream<Delivery, any Error>

    static func open(agency: String) async throws -> AgencyReplies {
        let setup = try await AMQPConnection.connect(try TestEnvironment.amqp(), logger: TestEnvironment.logger)
        let queue = ExchangeName.agencyReplyQueue(agency)
        try await setup.declare(Topology(
            exchanges: Topology.exchanges.exchanges,
            queues: Topology.exchanges.queues + [.init(name: queue, arguments: ["x-queue-type": .string("quorum")])],
            bindings: Topology.exchanges.bindings + [.init(queue: queue, exchange: ExchangeName.replies, routingKey: agency)]))
        await setup.close()
        let connection = try await AMQPConnection.connect(
            try AMQPConfiguration(url: TestEnvironment.agencyAMQPURL, connectionName: "agency-replies"), confirms: false, logger: TestEnvironment.logger)
        return AgencyReplies(connection: connection, stream: try await connection.consume(queue: queue, prefetch: 100))
    }

    /// Reads receipts until one has come for every id (older ones are acknowledged and skipped).
    func receipts(for ids: [String], timeout: Duration = .seconds(20)) async throws -> [String: IntakeReceiptV1] {
        let wanted = Set(ids)
        let connection = self.connection
        let stream = self.stream
        return try await withThrowingTaskGroup(of: [String: IntakeReceiptV1].self) { group in
            group.addTask {
                var found: [String: IntakeReceiptV1] = [:]
                for try await delivery in stream {
                    await connection.ack(delivery)
                    let receipt = try ContractCoding.decoder().decode(IntakeReceiptV1.self, from: Data(delivery.body))
                    #expect(delivery.properties.type == IntakeReceiptV1.eventType.name)
                    if wanted.contains(receipt.eventID) { found[receipt.eventID] = receipt }
                    if found.count == wanted.count { break }
                }
                return found
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return [:]
            }
            let first = try await group.next() ?? [:]
            group.cancelAll()
            return first
        }
    }

    func close() async { await connection.close() }
}

/// Onboarding an agency with huhang-admin, then talking to Huhang as that agency.
@Suite("Agency onboarding", .serialized)
struct OnboardingTests {
    func admin(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        try huhangAdmin(arguments, environment: environment)
    }

    func onboard(code: String, port: Int) throws -> String {
        try onboardAgency(code: code, kind: "school", unit: code, intakePort: port)
    }

    @Test("a stock pika client, as an onboarded agency: accepted, rejected with field reasons, duplicate, impersonation refused")
    func pikaClient() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = root.appendingPathComponent(".dev/venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            Issue.record("\(python.path) is missing: scripts/test installs pika into .dev/venv")
            return
        }
        let port = try freePort()
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake", port: port), logger: TestEnvironment.logger)
        let code = "pika-" + String(UUID().uuidString.lowercased().prefix(8))
        try await withServices([intake]) { () async throws in
            let agencyURL = try onboard(code: code, port: port)
            let (status, output) = try runPython(python, script: "Tests/AgencyClients/pika_agency.py", environment: [
                "AGENCY_AMQP_URL": agencyURL, "AGENCY_CODE": code, "OTHER_AGENCY": "agency-demo",
            ])
            print("pika client: \(output)")
            #expect(status == 0, "\(output)")
        }
    }

    @Test("an onboarded agency publishes as itself, hears back in its reply queue, and cannot pose as another agency")
    func onboardAndPublish() async throws {
        let port = try freePort()
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake", port: port), logger: TestEnvironment.logger)
        let code = "school-" + String(UUID().uuidString.lowercased().prefix(8))
        try await withServices([intake]) { () async throws in
            let agencyURL = try onboard(code: code, port: port)
            let agency = try AMQPConfiguration(url: agencyURL, connectionName: code)
            let connection = try await AMQPConnection.connect(agency, logger: TestEnvironment.logger)
            let report = IncidentReportV1(
                externalID: TestEnvironment.unique("ext"), category: .bullying, immediateDanger: false, occurredAt: Date(),
                schoolCode: code, people: [.init(role: .victim, studentNumber: "7")])
            let id = UUID().uuidString
            var envelope = EventEnvelope(id: id, type: IncidentReportV1.eventType.name, source: code)
            envelope.sender = code
            #expect(try await connection.publish(try OutgoingMessage(report, envelope: envelope, exchange: ExchangeName.intake)) == .confirmed)

            // The receipt, read as the agency from its own queue.
            let reader = try await AMQPConnection.connect(agency, confirms: false, logger: TestEnvironment.logger)
            var receipts = try await reader.consume(queue: ExchangeName.agencyReplyQueue(code), prefetch: 10).makeAsyncIterator()
            let delivery = try #require(try await receipts.next())
            let receipt = try ContractCoding.decoder().decode(IntakeReceiptV1.self, from: Data(delivery.body))
            #expect(receipt.eventID == id && receipt.status == .accepted)
            await reader.ack(delivery)
            await reader.close()

            // Posing as another agency: the broker refuses the publish and closes the channel.
            envelope.id = UUID().uuidString
            envelope.sender = "agency-demo"
            await #expect(throws: AMQPError.self) {
                _ = try await connection.publish(try OutgoingMessage(report, envelope: envelope, exchange: ExchangeName.intake))
            }
            // Nor may it read another agency's replies or declare queues.
            let snoop = try await AMQPConnection.connect(agency, confirms: false, logger: TestEnvironment.logger)
            await #expect(throws: AMQPError.self) {
                _ = try await snoop.consume(queue: ExchangeName.agencyReplyQueue("agency-demo"), prefetch: 1)
            }
            await connection.close()
        }
    }
}
