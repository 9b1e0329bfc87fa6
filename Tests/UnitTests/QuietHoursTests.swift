import Foundation
@testable import Notification
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
