import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
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

/// Every agency event type through a real intake: accepted and passed on as
/// its domain event with subject ids, referrals from the hotline, screening
/// batches accepted in part, identities kept only sealed.
@Suite("Agency events", .serialized)
struct AgencyEventTests {
    static let everyType = Contracts.agencyPayloads.map { $0.eventType.name }

    /// The domain event intake passes on for an agency event type.
    static func passedOn(_ type: String) -> String {
        type == IncidentReportV1.eventType.name ? ReportAcceptedV1.eventType.name : type.replacingOccurrences(of: ".v1", with: ".accepted.v1")
    }

    /// A queue bound to every event intake passes on, read until `done` says enough.
    struct PassedOn {
        let connection: AMQPConnection
        let stream: AsyncThrowingStream<Delivery, any Error>

        static func open() async throws -> PassedOn {
            let connection = try await AMQPConnection.connect(try TestEnvironment.amqp("passed-on"), confirms: false, logger: TestEnvironment.logger)
            let queue = TestEnvironment.unique("test.passed-on")
            let keys = Contracts.intakePayloads.map { $0.eventType }
            try await connection.declare(Topology(
                exchanges: Topology.exchanges.exchanges,
                queues: [.init(name: queue, arguments: ["x-queue-type": .string("quorum"), "x-expires": .int(60_000)])],
                bindings: keys.map { .init(queue: queue, exchange: ExchangeName.events, routingKey: $0.routingKey) }))
            return PassedOn(connection: connection, stream: try await connection.consume(queue: queue, prefetch: 200))
        }

        /// Reads events (type and JSON body) until `done` returns true or the time is up; returns what was read.
        func read(timeout: Duration = .seconds(20), until done: @escaping @Sendable ([(String, JSONValue)]) -> Bool) async throws -> [(String, JSONValue)] {
            let connection = self.connection
            let stream = self.stream
            final class Seen: Sendable { let events = Mutex<[(String, JSONValue)]>([]) }
            let seen = Seen()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await delivery in stream {
                        await connection.ack(delivery)
                        let event = (delivery.properties.type ?? "", try JSONValue.parse(delivery.body))
                        if seen.events.withLock({ $0.append(event); return done($0) }) { break }
                    }
                }
                group.addTask { try await Task.sleep(for: timeout) }
                try await group.next()
                group.cancelAll()
            }
            return seen.events.withLock { $0 }
        }

        func close() async { await connection.close() }
    }

    func register(_ intake: RunningService<IntakeService>) async throws {
        try await AgencyStore(database: intake.database).upsert(Agency(
            code: "agency-demo", name: "Demo agency", kind: .school, eventTypes: Self.everyType, active: true))
    }

    /// Publishes a JSON body as agency-demo; returns the message id.
    @discardableResult
    func publish(_ body: JSONValue, type: String) async throws -> String {
        let agency = try AMQPConfiguration(url: TestEnvironment.agencyAMQPURL, connectionName: "agency-demo")
        let connection = try await AMQPConnection.connect(agency, logger: TestEnvironment.logger)
        defer { Task { await connection.close() } }
        let id = UUID().uuidString.lowercased()
        var envelope = EventEnvelope(id: id, type: type, source: "agency-demo")
        envelope.sender = agency.user
        let outcome = try await connection.publish(OutgoingMessage(
            envelope: envelope, body: Array(try JSONEncoder().encode(body)), exchange: ExchangeName.intake))
        #expect(outcome == .confirmed)
        return id
    }

    /// The shipped example of an event type, under a fresh external id.
    static func example(_ type: String) throws -> JSONValue {
        let payload = ContractExamples.valid.first { Swift.type(of: $0).eventType.name == type }!
        guard case .object(var object) = try JSONValue.parse(Array(try ContractCoding.encoder().encode(payload))) else {
            throw TestFailure("example is not an object")
        }
        object["externalId"] = .string(TestEnvironment.unique("ext"))
        return .object(object)
    }

    static func string(_ value: JSONValue, _ key: String) -> String? {
        if case .object(let object) = value, case .string(let text)? = object[key] { return text }
        return nil
    }

    @Test("every agency event type is accepted and passed on as its domain event, with subject ids and nothing that identifies a child")
    func everyTypePassedOn() async throws {
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake"), logger: TestEnvironment.logger)
        try await withServices([intake]) { () async throws in
            try await register(intake)
            let replies = try await AgencyReplies.open(agency: "agency-demo")
            let passedOn = try await PassedOn.open()
            var sent: [String: String] = [:]  // message id → type
            for type in Self.everyType {
                sent[try await publish(try Self.example(type), type: type)] = type
            }
            let receipts = try await replies.receipts(for: Array(sent.keys))
            #expect(receipts.count == sent.count)
            var intakeIDs: [String: String] = [:]  // intake id → agency event type
            for (id, type) in sent {
                let receipt = receipts[id]
                #expect(receipt?.status == .accepted, "\(type): \(receipt?.reasons ?? [])")
                if let intakeID = receipt?.reportID { intakeIDs[intakeID] = type }
            }
            let wanted = intakeIDs
            // Each type's domain event, and the hotline example's referral to 110 (it reports danger now).
            let events = try await passedOn.read { seen in
                let ids = Set(seen.compactMap { Self.string($0.1, "intakeId") ?? Self.string($0.1, "reportId") })
                let referred = seen.contains { $0.0 == ReferralRequestedV1.eventType.name && wanted[Self.string($0.1, "fromIntakeId") ?? ""] != nil }
                return ids.isSuperset(of: wanted.keys) && referred
            }
            await passedOn.close()
            await replies.close()
            for (intakeID, type) in intakeIDs {
                let event = events.first { (Self.string($0.1, "intakeId") ?? Self.string($0.1, "reportId")) == intakeID }
                #expect(event?.0 == Self.passedOn(type), "\(type) was not passed on as \(Self.passedOn(type))")
                if let (eventType, body) = event, let payload = Contracts.allPayloads.first(where: { $0.eventType.name == eventType }) {
                    #expect(try ContractSchemas.schema(for: payload.eventType)?.validate(body).isEmpty == true, "\(eventType) breaks its schema")
                }
            }
            let referral = events.first { $0.0 == ReferralRequestedV1.eventType.name }?.1
            #expect(referral.flatMap { Self.string($0, "target") } == "police_110")
            #expect(referral.flatMap { Self.string($0, "fromEventType") } == HotlineCallV1.eventType.name)
            // Nothing that identifies a child leaves intake: no identity number, name or birth date.
            let everything = String(decoding: try JSONEncoder().encode(events.map(\.1)), as: UTF8.self)
            for secret in ["11010520120504123X", "张小明", "李华", "2012-05-04"] {
                #expect(!everything.contains(secret), "\(secret) was passed on")
            }
            #expect(everything.contains("\"s-"), "no subject ids were passed on")
        }
    }

    @Test("a body over the contract's limit is refused by the broker: the sender's channel is closed with the reason, intake never reads it, the next publish goes through")
    func oversizedRefusedByBroker() async throws {
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake"), logger: TestEnvironment.logger)
        try await withServices([intake]) { () async throws in
            try await register(intake)
            let agency = try AMQPConfiguration(url: TestEnvironment.agencyAMQPURL, connectionName: "agency-demo")
            let oversizedID = UUID().uuidString.lowercased()
            var envelope = EventEnvelope(id: oversizedID, type: IncidentReportV1.eventType.name, source: "agency-demo")
            envelope.sender = agency.user
            let body = Array("{\"note\":\"".utf8) + Array(repeating: UInt8(ascii: "x"), count: AgencyEventReader.maximumBodySize) + Array("\"}".utf8)
            let connection = try await AMQPConnection.connect(agency, logger: TestEnvironment.logger)
            do {
                let outcome = try await connection.publish(OutgoingMessage(envelope: envelope, body: body, exchange: ExchangeName.intake))
                Issue.record("a \(body.count)-byte body was \(outcome)")
            } catch let error as AMQPError {
                #expect(error.message.contains("PRECONDITION_FAILED"), "\(error.message)")
                #expect(error.message.contains("larger than configured max size"), "\(error.message)")
            }
            await connection.close()

            // The broker is up and takes the agency's next event, on a new connection.
            let id = try await publish(try Self.example(IncidentReportV1.eventType.name), type: IncidentReportV1.eventType.name)
            #expect(try await eventually {
                try await count(intake.database, "SELECT count(*)::int FROM intake.event_status WHERE event_id = \(id)") == 1
            })
            // Intake never read the oversized one: no record of it, nothing in intake.dead.
            #expect(try await count(intake.database, "SELECT count(*)::int FROM intake.event_status WHERE event_id = \(oversizedID)") == 0)
            #expect(try await count(intake.database, "SELECT count(*)::int FROM intake.rejections WHERE event_id = \(oversizedID)") == 0)
            // Read without acknowledging: what is there goes back to the queue.
            let found = try await firstDelivery(on: "intake.dead", within: .seconds(2), acknowledge: false) {
                $0.properties.messageID == oversizedID
            } != nil
            #expect(!found, "the oversized body reached intake.dead")
        }
    }

    @Test("over HTTP, a body declared larger than the limit is refused 413 before it is read, and one that grows past it while streaming too")
    func oversizedOverHTTP() async throws {
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake"), logger: TestEnvironment.logger)
        try await withServices([intake]) { () async throws in
            try await register(intake)
            let token = try await APITokens(secret: APITokens.developmentSecret)
                .issue(APIIdentity(agency: "agency-demo", role: .agency), lifetime: .seconds(300))
            let app = Application(responder: intake.responder)
            try await app.test(.live) { client in
                let headers: HTTPFields = [
                    .authorization: "Bearer \(token)", HTTPField.Name("ce-type")!: IncidentReportV1.eventType.name,
                    .contentType: "application/json",
                ]
                // Declared: the answer comes from the header alone, while not a byte of the body has been sent.
                let head = "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
                    + "ce-type: \(IncidentReportV1.eventType.name)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(AgencyEventReader.maximumBodySize + 1)\r\n\r\n"
                let answer = try rawExchange(port: try #require(client.port), send: head)
                #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(200))")
                #expect(answer.contains("the limit is \(AgencyEventReader.maximumBodySize)"))
                // Not declared (as a chunked upload): refused once it passes the limit.
                let big = ByteBuffer(repeating: UInt8(ascii: "x"), count: AgencyEventReader.maximumBodySize + 1)
                try await client.execute(uri: "/v1/events", method: .post, headers: headers, body: big) { response in
                    #expect(response.status == .contentTooLarge)
                }
            }
        }
    }

    @Test("a hotline call routes danger now to 110 at once and a city matter to 12345; a plain call refers nowhere")
    func hotlineRouting() async throws {
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake"), logger: TestEnvironment.logger)
        try await withServices([intake]) { () async throws in
            try await register(intake)
            let replies = try await AgencyReplies.open(agency: "agency-demo")
            let passedOn = try await PassedOn.open()
            func call(danger: Bool, city: Bool) throws -> JSONValue {
                guard case .object(var object) = try Self.example(HotlineCallV1.eventType.name) else { throw TestFailure("not an object") }
                object["immediateDanger"] = .bool(danger)
                object["cityMatter"] = .bool(city)
                return .object(object)
            }
            let danger = try await publish(try call(danger: true, city: false), type: HotlineCallV1.eventType.name)
            let city = try await publish(try call(danger: false, city: true), type: HotlineCallV1.eventType.name)
            let plain = try await publish(try call(danger: false, city: false), type: HotlineCallV1.eventType.name)
            let receipts = try await replies.receipts(for: [danger, city, plain])
            let ids = [danger, city, plain].map { receipts[$0]?.reportID ?? "?" }
            let calls = Set(ids)
            // Read until all three calls are passed on, then a little longer for any stray referral.
            let events = try await passedOn.read(timeout: .seconds(5)) { _ in false }
            await passedOn.close()
            await replies.close()
            #expect(Set(events.filter { $0.0 == HotlineCallAcceptedV1.eventType.name }.compactMap { Self.string($0.1, "intakeId") }).isSuperset(of: calls))
            let referrals = events.filter { $0.0 == ReferralRequestedV1.eventType.name && calls.contains(Self.string($0.1, "fromIntakeId") ?? "") }
            func targets(_ intakeID: String) -> [String] {
                referrals.filter { Self.string($0.1, "fromIntakeId") == intakeID }.compactMap { Self.string($0.1, "target") }
            }
            #expect(targets(ids[0]) == ["police_110"])
            #expect(targets(ids[1]) == ["city_12345"])
            #expect(targets(ids[2]).isEmpty)
            let urgent = referrals.first { Self.string($0.1, "target") == "police_110" }.map { body -> Bool in
                if case .object(let object) = body.1, case .bool(let value)? = object["urgent"] { return value }
                return false
            }
            #expect(urgent == true)
        }
    }

    @Test("a screening batch applies its valid rows and lists each invalid row with its reason; a batch with no valid row is rejected")
    func screeningInPart() async throws {
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake"), logger: TestEnvironment.logger)
        try await withServices([intake]) { () async throws in
            try await register(intake)
            let replies = try await AgencyReplies.open(agency: "agency-demo")
            let passedOn = try await PassedOn.open()
            func row(_ student: JSONValue, score: JSONValue = .number(70)) -> JSONValue {
                .object(["student": student, "score": score, "threshold": .number(65)])
            }
            func batch(_ rows: [JSONValue]) throws -> JSONValue {
                guard case .object(var object) = try Self.example(ScreeningBatchV1.eventType.name) else { throw TestFailure("not an object") }
                object["results"] = .array(rows)
                return .object(object)
            }
            let mixed = try await publish(try batch([
                row(.object(["studentNumber": .string("A-1")])),
                row(.object(["studentNumber": .string("A-2")]), score: .string("high")),  // the schema refuses it
                row(.object(["birthDate": .string("2012-01-02")])),                        // names nobody
                row(.object(["studentNumber": .string("A-4")]), score: .number(12)),
                row(.object(["studentNumber": .string("A-1")])),                           // the same student again
            ]), type: ScreeningBatchV1.eventType.name)
            let hopeless = try await publish(try batch([row(.object([:]))]), type: ScreeningBatchV1.eventType.name)
            let receipts = try await replies.receipts(for: [mixed, hopeless])
            #expect(receipts[mixed]?.status == .accepted)
            #expect(Set(receipts[mixed]?.reasons.map { String($0.field.prefix(11)) } ?? []) == ["/results/1/", "/results/2/", "/results/4/"])
            #expect(receipts[hopeless]?.status == .rejected)
            #expect(receipts[hopeless]?.reasons.contains { $0.field == "/results" && $0.problem == "has no valid row" } == true)
            let intakeID = receipts[mixed]?.reportID ?? "?"
            let events = try await passedOn.read { seen in seen.contains { Self.string($0.1, "intakeId") == intakeID } }
            await passedOn.close()
            await replies.close()
            let accepted = try events.first { Self.string($0.1, "intakeId") == intakeID }.map {
                try ContractCoding.decoder().decode(ScreeningBatchAcceptedV1.self, from: Data(try JSONEncoder().encode($0.1)))
            }
            #expect(accepted?.results.count == 2)
            #expect(accepted?.rejectedRows == 3)
            #expect(accepted?.results.map(\.positive) == [true, false])
        }
    }

    @Test("a batch takes its agency events in together: a minor named by two of them is one subject; a refused or repeated one sends the batch one by one, each answered as alone")
    func batchTogether() async throws {
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake"), logger: TestEnvironment.logger)
        try await withServices([intake]) { () async throws in
            try await register(intake)
            let student = String(Int.random(in: 1_000_000...9_999_999))
            func report(people: [JSONValue]) throws -> (JSONValue, String) {
                guard case .object(var report) = try Self.example(IncidentReportV1.eventType.name) else { throw TestFailure("not an object") }
                report["people"] = .array(people)
                return (.object(report), Self.string(.object(report), "externalId") ?? "")
            }
            func incoming(_ body: JSONValue) throws -> EventDispatcher.Incoming {
                var envelope = EventEnvelope(id: UUID().uuidString.lowercased(), type: IncidentReportV1.eventType.name, source: "agency-demo")
                envelope.sender = "agency-demo"
                return EventDispatcher.Incoming(envelope: envelope, body: Array(try JSONEncoder().encode(body)))
            }
            func subjects(_ eventID: String) async throws -> [String] {
                var found: [String] = []
                for try await subject in try await intake.database.query("""
                    SELECT l.subject_id FROM intake.subject_links l JOIN intake.accepted a USING (intake_id) WHERE a.event_id = \(eventID)
                    """).decode(String.self) { found.append(subject) }
                return found
            }
            // Two reports naming the same new pupil, in one batch: the first by identity and student number, the second by
            // the student number alone, which only the first taught the registry — one subject, as one by one.
            let identity = PrivacyTests.identityNumber()
            let (first, _) = try report(people: [.object([
                "role": .string("victim"), "idNumber": .string(identity), "studentNumber": .string(student)])])
            let (second, _) = try report(people: [.object(["role": .string("witness"), "studentNumber": .string(student)])])
            let batch = [try incoming(first), try incoming(second)]
            #expect(await intake.dispatcher.dispatch(batch, holdWhileUnavailable: false) == [.applied, .applied])
            let (a, b) = (try await subjects(batch[0].envelope.id), try await subjects(batch[1].envelope.id))
            #expect(a.count == 1 && a == b, "one subject for the pupil both name: \(a) \(b)")
            // A report with no people (refused), the first again (a duplicate) and a new one, in one batch: each as alone —
            // the refusal set aside with its reason, the duplicate answered without a second claim, the new one taken in.
            let (empty, _) = try report(people: [])
            let (third, _) = try report(people: [.object(["role": .string("victim"), "studentNumber": .string(student)])])
            let again = EventDispatcher.Incoming(envelope: {
                var envelope = batch[0].envelope
                envelope.id = UUID().uuidString.lowercased()
                return envelope
            }(), body: batch[0].body)
            let mixed = [try incoming(empty), again, try incoming(third)]
            let outcomes = await intake.dispatcher.dispatch(mixed, holdWhileUnavailable: false)
            guard case .setAside(let reason) = outcomes[0] else { Issue.record("the empty report was not set aside: \(outcomes)"); return }
            #expect(reason.contains("/people"))
            #expect(outcomes[1...] == [.applied, .applied])
            #expect(try await subjects(again.envelope.id).isEmpty)
            #expect(try await subjects(mixed[2].envelope.id) == a)
            #expect(try await count(intake.database, """
                SELECT count(*)::int FROM intake.event_status WHERE event_id = \(again.envelope.id) AND status = 'duplicate'
                """) == 1)
            #expect(try await count(intake.database, """
                SELECT count(*)::int FROM intake.accepted WHERE event_id IN (\(batch[0].envelope.id), \(batch[1].envelope.id), \(mixed[2].envelope.id))
                """) == 3)
        }
    }

    @Test("names are kept only sealed; the task force reads them back with a stated reason, audited; others may not")
    func sealedIdentities() async throws {
        let port = try freePort()
        let intake = try RunningService<IntakeService>(configuration: try TestEnvironment.serviceConfiguration("intake", port: port), logger: TestEnvironment.logger)
        try await withServices([intake]) { () async throws in
            try await register(intake)
            let replies = try await AgencyReplies.open(agency: "agency-demo")
            let name = "封存测试" + String(Int.random(in: 1000...9999))
            guard case .object(var finding) = try Self.example(VenueFindingV1.eventType.name) else { throw TestFailure("not an object") }
            finding["minors"] = .array([.object(["name": .string(name), "birthDate": .string("2011-07-08")])])
            let id = try await publish(.object(finding), type: VenueFindingV1.eventType.name)
            let receipt = try await replies.receipts(for: [id])[id]
            await replies.close()
            #expect(receipt?.status == .accepted)
            let rows = try await intake.database.query("""
                SELECT l.subject_id, l.match_kind, encode(l.identity, 'escape') FROM intake.subject_links l
                WHERE l.intake_id = \(receipt?.reportID ?? "00000000-0000-0000-0000-000000000000")::uuid
                """)
            var subjectID = ""
            for try await (subject, kind, stored) in rows.decode((String, String, String).self) {
                subjectID = subject
                #expect(kind == "candidate")
                #expect(!stored.contains(name), "the name is stored in clear")
                #expect(stored.hasPrefix("hk1"))
            }
            #expect(!subjectID.isEmpty)

            let tokens = try APITokens(secret: APITokens.developmentSecret)
            func get(_ role: String, reason: String?) async throws -> (status: Int, body: String) {
                let token = try await tokens.issue(APIIdentity(agency: "district-task-force", role: Role(role)), lifetime: .seconds(60))
                let query = reason.map { "?reason=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!)" } ?? ""
                return try await httpGet("http://127.0.0.1:\(port)/v1/subjects/\(subjectID)/identities\(query)",
                                         headers: ["Authorization": "Bearer \(token)"])
            }
            let audited = try await count(intake.database, "SELECT count(*)::int FROM intake.audit WHERE resource = \("subject/\(subjectID)/identities")")
            #expect(try await get("caseworker", reason: "curious").status == 403)
            #expect(try await get("task-force", reason: nil).status == 400)
            let (status, body) = try await get("task-force", reason: "confirm a candidate match")
            #expect(status == 200)
            #expect(body.contains(name))
            #expect(body.contains("2011-07-08"))
            #expect(try await count(intake.database, """
                SELECT count(*)::int FROM intake.audit WHERE resource = \("subject/\(subjectID)/identities")
                AND reason = 'confirm a candidate match' AND role = 'task-force'
                """) == audited + 1)
        }
    }
}

/// Sends raw bytes to a local HTTP server and reads what it answers within five seconds.
func rawExchange(port: Int, send request: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var address = loopback(port: port)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    guard connected else { throw TestFailure("connect failed") }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let bytes = Array(request.utf8)
    guard write(fd, bytes, bytes.count) == bytes.count else { throw TestFailure("write failed") }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        answer += buffer[0..<n]
        if String(decoding: answer, as: UTF8.self).contains("\r\n\r\n"), answer.count > 100, String(decoding: answer, as: UTF8.self).contains("}") { break }
    }
    return String(decoding: answer, as: UTF8.self)
}
