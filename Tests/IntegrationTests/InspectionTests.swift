import Contracts
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import Inspection
@testable import Intake
import Messaging
import PostgresNIO
import ServiceKit
import Storage
import Testing

/// Inspection against the real broker and database, with a clock the test moves.
@Suite("Inspection", .serialized)
struct InspectionTests {
    static func outbox(_ database: Database, type: String, containing text: String) async throws -> Int {
        try await count(database, """
            SELECT count(*)::int FROM inspection.outbox WHERE routing_key = \(type) AND convert_from(body, 'UTF8') LIKE \("%\(text)%")
            """)
    }

    @Test("an inspection report with failed items, through intake: a hazard and a hazard.reported.v1 each; with the clock moved, one hazard.overdue.v1 each; re-inspection closes them")
    func hazards() async throws {
        let clock = ManualWallClock()
        let port = try freePort()
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake"), logger: TestEnvironment.logger)
        let inspection = try RunningService<InspectionService>(
            configuration: try TestEnvironment.serviceConfiguration("inspection", port: port), logger: TestEnvironment.logger, clock: clock)
        let school = "370102-" + TestEnvironment.unique("H")
        func report(_ checks: [InspectionReportV1.Check], at: Date) -> InspectionReportV1 {
            InspectionReportV1(externalID: TestEnvironment.unique("insp"), schoolCode: school, kind: .supervisoryPatrol, inspectedAt: at, checks: checks)
        }
        try await withServices([intake, inspection]) { () async throws in
            try await AgencyStore(database: intake.database).upsert(Agency(
                code: "agency-demo", name: "Demo police station", kind: .police, eventTypes: [InspectionReportV1.eventType.name], active: true))
            let agency = try AMQPConfiguration(url: TestEnvironment.agencyAMQPURL, connectionName: "agency-demo")
            func send(_ report: InspectionReportV1) async throws {
                let connection = try await AMQPConnection.connect(agency, logger: TestEnvironment.logger)
                var envelope = EventEnvelope(type: InspectionReportV1.eventType.name, source: "agency-demo")
                envelope.sender = agency.user
                #expect(try await connection.publish(try OutgoingMessage(report, envelope: envelope, exchange: ExchangeName.intake)) == .confirmed)
                await connection.close()
            }
            try await send(report([
                .init(item: .oneKeyAlarm, passed: true),
                .init(item: .guardPostStaffed, passed: false, note: "No guard at dismissal."),
                .init(item: .fireFacilities, passed: false, note: "Extinguishers expired."),
            ], at: clock.now()))
            #expect(try await eventually {
                try await count(inspection.database, "SELECT count(*)::int FROM inspection.hazards WHERE school_code = \(school)") == 2
            })
            // Each hazard is announced with the checklist's severity, responsible unit and deadline.
            #expect(try await Self.outbox(inspection.database, type: "hazard.reported.v1", containing: school) == 2)
            #expect(try await count(inspection.database, """
                SELECT count(*)::int FROM inspection.hazards WHERE school_code = \(school)
                AND ((item = 'guard_post_staffed' AND unit = 'psb-370102' AND severity = 'major')
                  OR (item = 'fire_facilities' AND unit = 'fire-370102' AND severity = 'critical'))
                AND due_at = reported_at + interval '7 days'
                """) == 2)
            // The same failure found again while the hazard is open is the same hazard.
            try await send(report([.init(item: .guardPostStaffed, passed: false)], at: clock.now().addingTimeInterval(3600)))
            try await Task.sleep(for: .seconds(2))
            #expect(try await count(inspection.database, "SELECT count(*)::int FROM inspection.hazards WHERE school_code = \(school)") == 2)

            // Not yet late: nothing; a day past the deadline: one hazard.overdue.v1 each, and no more.
            clock.advance(by: 6 * 86_400)
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await Self.outbox(inspection.database, type: "hazard.overdue.v1", containing: school) == 0)
            clock.advance(by: 2 * 86_400)
            #expect(try await eventually { try await Self.outbox(inspection.database, type: "hazard.overdue.v1", containing: school) == 2 })
            clock.advance(by: 86_400)
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await Self.outbox(inspection.database, type: "hazard.overdue.v1", containing: school) == 2)

            // The API lists them as late, by unit; a re-inspection that passes closes them.
            let tokens = try APITokens(secret: APITokens.developmentSecret)
            let token = try await tokens.issue(APIIdentity(agency: "fire-370102", role: .caseworker), lifetime: .seconds(60))
            #expect(try await eventually {
                try await httpGet("http://127.0.0.1:\(port)/v1/hazards?unit=fire-370102&state=late", headers: ["Authorization": "Bearer \(token)"]).body.contains(school)
            })
            // (Intake takes no inspection dated ahead of the real clock, so the re-inspection carries today's date.)
            try await send(report([.init(item: .guardPostStaffed, passed: true), .init(item: .fireFacilities, passed: true)], at: Date()))
            #expect(try await eventually {
                try await count(inspection.database, "SELECT count(*)::int FROM inspection.hazards WHERE school_code = \(school) AND closed_at IS NOT NULL") == 2
            })
        }
    }

    @Test("a batch's reports at schools: each counts toward its school's quarter once, each school known, in one call")
    func incidentsCountedTogether() async throws {
        let inspection = try RunningService<InspectionService>(
            configuration: try TestEnvironment.serviceConfiguration("inspection"), logger: TestEnvironment.logger)
        let district = String(Int.random(in: 900_000...999_999))
        let (x, y) = ("\(district)-X01", "\(district)-Y02")
        let (q3, _) = Quarter.bounds("2026-Q3")!
        let (q2, _) = Quarter.bounds("2026-Q2")!
        func report(_ school: String?, at: Date) throws -> EventDispatcher.Incoming {
            let envelope = EventEnvelope(type: ReportAcceptedV1.eventType.name, source: "intake", subject: UUID().uuidString.lowercased())
            let event = ReportAcceptedV1(
                reportID: envelope.subject!, agency: "agency-demo", externalID: envelope.id, category: .bullying, immediateDanger: false,
                occurredAt: at.addingTimeInterval(86_400), schoolCode: school, subjects: [])
            return EventDispatcher.Incoming(envelope: envelope, body: try OutgoingMessage(event, envelope: envelope).body)
        }
        try await withServices([inspection]) { () async throws in
            let batch = try [report(x, at: q3), report(y, at: q3), report(nil, at: q3), report(x, at: q3), report(x, at: q2)]
            #expect(await inspection.dispatcher.dispatch(batch, holdWhileUnavailable: false) == Array(repeating: .applied, count: 5))
            // The same batch again: duplicates, nothing counted twice.
            #expect(await inspection.dispatcher.dispatch(batch, holdWhileUnavailable: false) == Array(repeating: .duplicate, count: 5))
            func incidents(_ school: String, _ quarter: String) async throws -> Int {
                try await count(inspection.database, """
                    SELECT coalesce(sum(incidents), 0)::int FROM inspection.school_incidents WHERE school_code = \(school) AND quarter = \(quarter)
                    """)
            }
            #expect(try await [incidents(x, "2026-Q3"), incidents(x, "2026-Q2"), incidents(y, "2026-Q3"), incidents(y, "2026-Q2")] == [2, 1, 1, 0])
            #expect(try await count(inspection.database, "SELECT count(*)::int FROM inspection.schools WHERE code = ANY(\([x, y])) AND district = \(district)") == 2)
        }
    }

    @Test("reports at schools published together on huhang.events: the quarter's rating counts each school's incidents of that quarter, and names a later one while the rating holds")
    func incidentsThroughTheContract() async throws {
        let port = try freePort()
        let inspection = try RunningService<InspectionService>(
            configuration: try TestEnvironment.serviceConfiguration("inspection", port: port), logger: TestEnvironment.logger)
        let district = String(Int.random(in: 900_000...999_999))
        let (x, y) = ("\(district)-X01", "\(district)-Y02")
        let (q3, _) = Quarter.bounds("2026-Q3")!
        let (q2, _) = Quarter.bounds("2026-Q2")!
        let tokens = try APITokens(secret: APITokens.developmentSecret)
        let token = try await tokens.issue(APIIdentity(agency: "district-task-force", role: .taskForce), lifetime: .seconds(300))
        func call(_ method: String, _ path: String) async throws -> (status: Int, body: String) {
            try await http(method, "http://127.0.0.1:\(port)\(path)", body: nil, headers: ["Authorization": "Bearer \(token)"])
        }
        func inspected(_ school: String) throws -> OutgoingMessage {
            try OutgoingMessage(InspectionReportAcceptedV1(
                intakeID: UUID().uuidString, unit: "psb-\(district)", externalID: UUID().uuidString, schoolCode: school, kind: .jointPatrol,
                inspectedAt: q3.addingTimeInterval(10 * 86_400), checks: InspectionReportV1.Item.allCases.map { .init(item: $0, passed: true) }),
                envelope: EventEnvelope(type: InspectionReportAcceptedV1.eventType.name, source: "intake"))
        }
        func report(_ school: String, at: Date) throws -> OutgoingMessage {
            let id = UUID().uuidString.lowercased()
            return try OutgoingMessage(ReportAcceptedV1(
                reportID: id, agency: "agency-demo", externalID: id, category: .bullying, immediateDanger: false,
                occurredAt: at.addingTimeInterval(20 * 86_400), schoolCode: school, subjects: []),
                envelope: EventEnvelope(type: ReportAcceptedV1.eventType.name, source: "intake", subject: id))
        }
        try await withServices([inspection]) { () async throws in
            let publisher = Publisher(configuration: try TestEnvironment.amqp("inspection-incidents"), logger: TestEnvironment.logger)
            // Each school inspected once in Q3 (so its rating lists its incidents); x three reports in Q3 and one in Q2, y two in Q3.
            let inspections = try [inspected(x), inspected(y)]
            #expect(try await publisher.publish(inspections).allSatisfy { $0 == .confirmed })
            let reports = try [report(x, at: q3), report(y, at: q3), report(x, at: q2), report(x, at: q3), report(y, at: q3), report(x, at: q3)]
            #expect(try await publisher.publish(reports).allSatisfy { $0 == .confirmed })
            await publisher.close()
            // Once all eight are applied, rate Q3.
            #expect(try await eventually {
                try await count(inspection.database, "SELECT count(*)::int FROM inspection.inbox WHERE message_id = ANY(\((inspections + reports).compactMap(\.properties.messageID)))") == 8
            })
            #expect(try await call("POST", "/v1/ratings/2026-Q3/compute").status == 200)
            let rated = try JSONDecoder().decode([RatedSchool].self, from: Data(try await call("GET", "/v1/ratings/2026-Q3?district=\(district)").body.utf8))
            let reasons = Dictionary(uniqueKeysWithValues: rated.map { ($0.schoolCode, $0.reasons.joined(separator: "; ")) })
            #expect(reasons[x]?.contains("3 incidents") == true && reasons[y]?.contains("2 incidents") == true, "\(reasons)")
            // A fourth incident at x while its rating holds: computed again, the bulletin names it; no rating changed.
            let later = Publisher(configuration: try TestEnvironment.amqp("inspection-incidents"), logger: TestEnvironment.logger)
            let fourth = try report(x, at: q3)
            #expect(try await later.publish(fourth) == .confirmed)
            await later.close()
            #expect(try await eventually {
                try await count(inspection.database, "SELECT count(*)::int FROM inspection.inbox WHERE message_id = \(fourth.properties.messageID)") == 1
            })
            #expect(try await call("POST", "/v1/ratings/2026-Q3/compute").status == 200)
            let again = try JSONDecoder().decode([RatedSchool].self, from: Data(try await call("GET", "/v1/ratings/2026-Q3?district=\(district)").body.utf8))
            let x4 = again.first { $0.schoolCode == x }
            #expect(x4?.reasons.joined().contains("4 incidents") == true && x4?.rating == rated.first { $0.schoolCode == x }?.rating, "\(again)")
            #expect(try await count(inspection.database, """
                SELECT count(*)::int FROM inspection.outbox WHERE routing_key = 'rating.changed.v1'
                  AND convert_from(body, 'UTF8') LIKE \("%\"schoolCode\":\"\(x)\"%") AND convert_from(body, 'UTF8') LIKE '%"quarter":"2026-Q3"%'
                """) == 1)
        }
    }

    @Test("a seeded quarter's ratings and bulletin: model, compliant and non-compliant schools with their reasons; computing twice changes nothing")
    func bulletin() async throws {
        let port = try freePort()
        let inspection = try RunningService<InspectionService>(
            configuration: try TestEnvironment.serviceConfiguration("inspection", port: port), logger: TestEnvironment.logger)
        // A district of its own, so the bulletin holds only the schools seeded here.
        let district = String(Int.random(in: 900_000...999_999))
        let quarter = "2026-Q3"
        let (start, _) = Quarter.bounds(quarter)!
        let tokens = try APITokens(secret: APITokens.developmentSecret)
        let token = try await tokens.issue(APIIdentity(agency: "district-task-force", role: .taskForce), lifetime: .seconds(300))
        func call(_ method: String, _ path: String, _ body: String? = nil) async throws -> (status: Int, body: String) {
            try await http(method, "http://127.0.0.1:\(port)\(path)", body: body, headers: ["Authorization": "Bearer \(token)"])
        }
        let every = InspectionReportV1.Item.allCases
        func inspected(_ school: String, day: Int, failing: [InspectionReportV1.Item] = []) throws -> OutgoingMessage {
            let checks = every.map { InspectionReportV1.Check(item: $0, passed: !failing.contains($0)) }
            return try OutgoingMessage(InspectionReportAcceptedV1(
                intakeID: UUID().uuidString, unit: "psb-\(district)", externalID: UUID().uuidString, schoolCode: school, kind: .jointPatrol,
                inspectedAt: start.addingTimeInterval(Double(day) * 86_400), checks: checks),
                envelope: EventEnvelope(type: InspectionReportAcceptedV1.eventType.name, source: "intake"))
        }
        let model = "\(district)-M01", compliant = "\(district)-P02", failing = "\(district)-M03"
        try await withServices([inspection]) { () async throws in
            for (code, name, type) in [(model, "实验中学 Experimental Middle School", "middle"), (compliant, "东关小学 Dongguan Primary", "primary"),
                                       (failing, "第三中学 No. 3 Middle School", "middle")] {
                #expect(try await call("PUT", "/v1/schools/\(code)", #"{"name":"\#(name)","type":"\#(type)","policeOfficer":"officer-\#(code)","legalVicePrincipal":"lvp-\#(code)","guardPosts":2}"#).status == 204)
            }
            let publisher = Publisher(configuration: try TestEnvironment.amqp("inspection-bulletin"), logger: TestEnvironment.logger)
            // Q3: the model school, three clean inspections; the compliant one, two; the failing one, two hazards never fixed.
            // Q2 before it: the first had none (non-compliant), the second two (compliant), the third three clean ones (model).
            let events = try [
                inspected(model, day: 5), inspected(model, day: 35), inspected(model, day: 65),
                inspected(compliant, day: 10), inspected(compliant, day: 40),
                inspected(failing, day: 20, failing: [.videoSurveillance, .closedCampus]),
                inspected(compliant, day: -70), inspected(compliant, day: -40),
                inspected(failing, day: -80), inspected(failing, day: -50), inspected(failing, day: -20),
            ]
            #expect(try await publisher.publish(events).allSatisfy { $0 == .confirmed })
            await publisher.close()
            #expect(try await eventually {
                try await count(inspection.database, "SELECT count(*)::int FROM inspection.inspections WHERE school_code LIKE \(district + "-%")") == 11
            })
            #expect(try await call("POST", "/v1/ratings/2026-Q2/compute").status == 200)
            let first = try await call("POST", "/v1/ratings/\(quarter)/compute")
            #expect(first.status == 200)
            let again = try await call("POST", "/v1/ratings/\(quarter)/compute")
            #expect(again.body.contains(#""changed":"0""#))
            // Who changed the registry and computed the ratings is in inspection's audit.
            #expect(try await count(inspection.database, "SELECT count(*)::int FROM inspection.audit WHERE action = 'school' AND resource = \("school/\(model)")") == 1)
            #expect(try await count(inspection.database, "SELECT count(*)::int FROM inspection.audit WHERE action = 'compute-rating' AND resource = \("rating/\(quarter)")") >= 2)
            let rated = try JSONDecoder().decode([RatedSchool].self, from: Data(try await call("GET", "/v1/ratings/\(quarter)?district=\(district)").body.utf8))
            #expect(Dictionary(uniqueKeysWithValues: rated.map { ($0.schoolCode, $0.rating) }) == [model: "model", compliant: "compliant", failing: "non_compliant"])
            #expect(try await count(inspection.database, """
                SELECT count(*)::int FROM inspection.outbox WHERE routing_key = 'rating.changed.v1' AND convert_from(body, 'UTF8') LIKE \("%\(district)-%")
                """) == 6)
            // The school that fell is flagged for supervision; the others not.
            #expect(try await count(inspection.database, """
                SELECT count(*)::int FROM inspection.outbox WHERE routing_key = 'rating.changed.v1' AND convert_from(body, 'UTF8') LIKE '%"fell":true%'
                AND convert_from(body, 'UTF8') LIKE \("%\(district)-%")
                """) == 1)
            #expect(Dictionary(uniqueKeysWithValues: rated.map { ($0.schoolCode, $0.movement) }) == [model: "up", compliant: "same", failing: "down"])
            let bulletin = try await call("GET", "/v1/ratings/\(quarter)/bulletin?district=\(district)")
            #expect(bulletin.status == 200)
            #expect(bulletin.body.contains("3 schools rated: 1 model, 1 compliant, 1 non-compliant; 1 fell"))
            print("bulletin, produced by GET /v1/ratings/\(quarter)/bulletin?district=\(district):\n\(bulletin.body)")
            let coverage = try await call("GET", "/v1/coverage")
            #expect(coverage.status == 200 && coverage.body.contains("alarmLinked"))
        }
    }
}
