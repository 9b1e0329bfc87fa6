import Foundation

/// Hours (China Standard Time) in which SMS and e-mail that are not critical wait, e.g. 22 to 7.
struct QuietHours: Sendable, Hashable {
    /// The hour they begin, 0–23.
    var start: Int
    /// The hour they end, 0–23; before `start` when they span midnight.
    var end: Int

    /// When a notice that is not critical may go out by SMS or e-mail: at once, or at the end of quiet hours.
    /// - Parameter now: The time it would go.
    func notBefore(_ now: Date) -> Date {
        guard start != end else { return now }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let hour = calendar.component(.hour, from: now)
        let quiet = start < end ? (start..<end).contains(hour) : (hour >= start || hour < end)
        guard quiet else { return now }
        let today = calendar.startOfDay(for: now)
        let endToday = calendar.date(byAdding: .hour, value: end, to: today)!
        return endToday > now ? endToday : calendar.date(byAdding: .day, value: 1, to: endToday)!
    }
}
