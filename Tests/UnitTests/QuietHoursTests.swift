import Contracts
import Foundation
import Messaging
@testable import Notification
import ServiceKit
import Testing

@Suite("Quiet hours")
struct QuietHoursTests {
    /// 2026-11-23 at `hour`:30, China Standard Time.
    static func at(_ hour: Int) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar.date(from: DateComponents(year: 2026, month: 11, day: 23, hour: hour, minute: 30))!
    }

    @Test("what is not critical waits out the night (22–7): sent at 07:00; outside it, at once")
    func quiet() throws {
        let configuration = try NotificationConfiguration(environment: [:])
        #expect(configuration.notBefore(Self.at(12)) == Self.at(12))
        #expect(configuration.notBefore(Self.at(21)) == Self.at(21))
        // 22:30 waits for 07:00 the next day; 03:30 for 07:00 the same day.
        #expect(configuration.notBefore(Self.at(22)) == Self.at(6).addingTimeInterval(30 * 60 + 86_400))
        #expect(configuration.notBefore(Self.at(3)) == Self.at(6).addingTimeInterval(30 * 60))
        #expect(configuration.notBefore(Self.at(7)) == Self.at(7))
        // A daytime window, and none at all.
        let lunch = try NotificationConfiguration(environment: ["QUIET_HOURS": "12-14"])
        #expect(lunch.notBefore(Self.at(12)) == Self.at(13).addingTimeInterval(30 * 60))
        #expect(try NotificationConfiguration(environment: ["QUIET_HOURS": ""]).notBefore(Self.at(23)) == Self.at(23))
        #expect(throws: (any Error).self) { try NotificationConfiguration(environment: ["QUIET_HOURS": "25-7"]) }
    }

    @Test("retries double from the base, with up to 20 % jitter, at most ten minutes")
    func backoff() throws {
        let configuration = try NotificationConfiguration(environment: ["NOTIFY_RETRY_BASE_MS": "1000"])
        for attempt in 1...4 {
            let delay = configuration.retryDelay(after: attempt)
            let base = pow(2, Double(attempt - 1))
            #expect(delay >= base && delay <= base * 1.2)
        }
        #expect(configuration.retryDelay(after: 30) <= 720)
        #expect(Set((0..<20).map { _ in configuration.retryDelay(after: 3) }).count > 1, "no jitter")
    }
}

@Suite("Notification templates")
struct TemplateTests {
    @Test("Chinese by default, English on request; ids and fixed words only, times in China Standard Time")
    func languages() throws {
        let due = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18 19:06:40 in Beijing
        let task = TaskAssignedV1(
            taskID: "t", caseID: "2a7d9c1e-3f4b-4e8a", subjectID: "s-00000000000000000000000000000006", unit: "school-1",
            measure: "counselling", tier: .high, dueAt: due, urgent: false)
        let body = Array(try ContractCoding.encoder().encode(task))
        let notice = Notices.notice(for: try ContractCoding.decoder().decode(TaskAssignedV1.self, from: Data(body)), taskForce: "tf")
        #expect(notice.text("zh") == "新任务：心理辅导（counselling），案件 2a7d9c1e，风险高，请于 2026-11-18 19:06 前完成")
        #expect(notice.text("en") == "Task counselling for case 2a7d9c1e (tier high) due 2026-11-18 19:06 CST")
        #expect(notice.text("fr") == notice.chinese)
        #expect(notice.roles["unit"] == "school-1")
        // Every routed type has words in both languages.
        let handlers = NotificationHandlers(
            configuration: try NotificationConfiguration(environment: [:]), clock: SystemWallClock(),
            cipher: try PersonalDataCipher(secret: String(repeating: "k", count: 32)))
        // One typed handler per consumed event, all bound from huhang.events.
        var registry = HandlerRegistry()
        handlers.register(&registry)
        #expect(registry.bindings.allSatisfy { $0.exchange == ExchangeName.events })
        let told = [
            TaskAssignedV1.eventType, TaskOverdueV1.eventType, CaseEscalatedV1.eventType, ReferralRequestedV1.eventType,
            HazardOverdueV1.eventType, RatingChangedV1.eventType, FollowUpDueV1.eventType, DailyDigestV1.eventType, RiskAssessedV1.eventType,
        ]
        #expect(handlers.noticeTypes == told)
        // Assessments only at critical (and, from a version before tiered keys, under the plain name).
        #expect(Set(registry.bindings.map(\.routingKey))
            == Set((told + [CareTeamChangedV1.eventType, CaseClosedV1.eventType]).map(\.name) + [RiskAssessedV1.routingKey(.critical)]))
        // What is not routed, or not critical enough, makes no notice.
        let low = RiskAssessedV1(
            subjectID: "s-00000000000000000000000000000006", tier: .high, previousTier: nil, score: 40, reasons: [], modelVersion: "m",
            provisional: false, urgent: false, schoolCode: nil, assessedAt: due)
        #expect(Notices.notice(for: low, taskForce: "tf") == nil)
    }
}
