import Contracts
import Foundation
import Hummingbird
import Logging
import Messaging
@testable import Notification
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage
import Synchronization
import Testing

extension NotificationTests {
    @Test("a case's care team is told by SMS and e-mail from sealed contacts; a guardian only what asks something of the family, in few words; forgotten on closing")
    func careTeam() async throws {
        let providerPort = try freePort()
        let seen = Mutex<[(channel: String, body: String)]>([])
        let router = Router()
        for channel in ["sms", "email"] {
            router.post(RouterPath(channel)) { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 16)
                seen.withLock { $0.append((channel, String(buffer: body))) }
                return Response(status: .ok)
            }
        }
        let provider = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: providerPort)), logger: Logger(label: "provider"))
        let providerGroup = ServiceGroup(configuration: .init(services: [provider], logger: Logger(label: "provider")))
        setenv("SMS_PROVIDER_URL", "http://127.0.0.1:\(providerPort)/sms", 1)
        setenv("EMAIL_PROVIDER_URL", "http://127.0.0.1:\(providerPort)/email", 1)
        setenv("QUIET_HOURS", "", 1)  // the test runs at any hour
        defer {
            unsetenv("SMS_PROVIDER_URL")
            unsetenv("EMAIL_PROVIDER_URL")
            unsetenv("QUIET_HOURS")
        }
        let notification = try RunningService<NotificationService>(
            configuration: try TestEnvironment.serviceConfiguration("notification"), logger: TestEnvironment.logger)
        let cipher = try PersonalDataCipher.fromEnvironment(logger: TestEnvironment.logger)
        func sealed(_ contact: String) throws -> String { Data(try cipher.seal(bytes: Data(contact.utf8))).base64EncodedString() }
        let caseID = UUID().uuidString.lowercased(), subject = "s-00000000000000000000000000000007"
        let unit = TestEnvironment.unique("school")
        let guardianPhone = "+86 138 0000 4321", teacherMail = "head.teacher@school.example", policePhone = "0531-8888 0007"
        let now = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await providerGroup.run() }
            try await withServices([notification]) { () async throws in
                let publisher = Publisher(configuration: try TestEnvironment.amqp("notification-care-team"), logger: TestEnvironment.logger)
                func publish(_ payload: some EventPayload) async throws {
                    let envelope = EventEnvelope(type: type(of: payload).eventType.name, source: "intervention")
                    #expect(try await publisher.publish(try OutgoingMessage(payload, envelope: envelope)) == .confirmed)
                }
                func deliveries(_ role: String) async throws -> Int {
                    try await count(notification.database, """
                        SELECT count(*)::int FROM notification.deliveries WHERE recipient = \("care-team:\(caseID):\(role)") AND status = 'delivered'
                        """)
                }
                func unitInbox() async throws -> Int {
                    try await count(notification.database, "SELECT count(*)::int FROM notification.deliveries WHERE recipient = \(unit) AND channel = 'inbox'")
                }
                func team() async throws -> Int {
                    try await count(notification.database, "SELECT count(*)::int FROM notification.care_teams WHERE case_id = \(caseID)")
                }
                try await publish(CareTeamChangedV1(caseID: caseID, subjectID: subject, members: [
                    .init(role: .guardian, unit: nil, contact: try sealed(guardianPhone)),
                    .init(role: .headTeacher, unit: unit, contact: try sealed(teacherMail)),
                    .init(role: .communityPolice, unit: "psb-370102", contact: try sealed(policePhone)),
                ], at: now))
                // An older announcement arriving late changes nothing.
                try await publish(CareTeamChangedV1(caseID: caseID, subjectID: subject, members: [
                    .init(role: .guardian, unit: nil, contact: try sealed("+86 139 9999 9999")),
                ], at: now.addingTimeInterval(-60)))
                #expect(try await eventually { try await team() == 3 })

                // Family education asks something of the family: the guardian hears of it by SMS, in few words.
                try await publish(TaskAssignedV1(
                    taskID: UUID().uuidString, caseID: caseID, subjectID: subject, unit: unit, measure: "family_education", tier: .high,
                    dueAt: now.addingTimeInterval(86_400), urgent: false))
                #expect(try await eventually { try await deliveries("guardian") == 1 })
                // Legal education does not; nor is the head teacher told of tasks (the rule names the guardian only).
                try await publish(TaskAssignedV1(
                    taskID: UUID().uuidString, caseID: caseID, subjectID: subject, unit: unit, measure: "legal_education", tier: .high,
                    dueAt: now.addingTimeInterval(86_400), urgent: false))
                // A follow-up visit: the whole team, each by the contact they were named with.
                try await publish(FollowUpDueV1(caseID: caseID, subjectID: subject, tier: .high, unit: unit, dueAt: now, at: now))
                #expect(try await eventually {
                    let guardian = try await deliveries("guardian"), teacher = try await deliveries("head_teacher")
                    let police = try await deliveries("community_police")
                    return guardian == 2 && teacher == 1 && police == 1
                })
                #expect(try await eventually { try await unitInbox() == 3 })
                #expect(try await deliveries("guardian") == 2)
                let sent = seen.withLock { $0 }
                let toGuardian = sent.filter { $0.channel == "sms" && $0.body.contains(guardianPhone) }
                #expect(toGuardian.count == 2)
                #expect(toGuardian.contains { $0.body.contains("亲职教育") } && toGuardian.contains { $0.body.contains("回访") })
                // The least that serves: no tier, no unit, no measure code, no subject.
                #expect(toGuardian.allSatisfy {
                    !$0.body.contains("风险") && !$0.body.contains(unit) && !$0.body.contains("family_education") && !$0.body.contains(subject)
                })
                #expect(sent.contains { $0.channel == "email" && $0.body.contains(teacherMail) && $0.body.contains("回访到期") })
                #expect(sent.contains { $0.channel == "sms" && $0.body.contains(policePhone) })
                #expect(!sent.contains { $0.body.contains("9999 9999") })
                // No contact in clear at rest.
                #expect(try await count(notification.database, """
                    SELECT count(*)::int FROM notification.deliveries WHERE recipient LIKE \("care-team:\(caseID):%")
                    AND (position('4321' in coalesce(address, '') || body) > 0 OR position(convert_to('0000 4321', 'UTF8') in sealed_address) > 0)
                    """) == 0)
                #expect(try await count(notification.database, """
                    SELECT count(*)::int FROM notification.care_teams WHERE case_id = \(caseID) AND position(convert_to('0000 4321', 'UTF8') in contact) = 0
                    """) == 3)

                // Closing forgets the contacts; an announcement from before the closing is ignored; a later visit reaches no one of the team.
                try await publish(CaseClosedV1(
                    caseID: caseID, subjectID: subject, closedBy: "district-task-force", tasksCompleted: 2, tasksCancelled: 0, at: now.addingTimeInterval(60)))
                #expect(try await eventually { try await team() == 0 })
                try await publish(CareTeamChangedV1(caseID: caseID, subjectID: subject, members: [
                    .init(role: .guardian, unit: nil, contact: try sealed(guardianPhone)),
                ], at: now.addingTimeInterval(30)))
                try await publish(FollowUpDueV1(
                    caseID: caseID, subjectID: subject, tier: .high, unit: unit, dueAt: now.addingTimeInterval(120), at: now.addingTimeInterval(120)))
                #expect(try await eventually { try await unitInbox() == 4 })
                #expect(try await team() == 0)
                #expect(try await deliveries("guardian") == 2)
                await publisher.close()
            }
            await providerGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
