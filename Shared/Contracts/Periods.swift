import Foundation

/// Days, weeks (from Monday), months and quarters as the task force counts them: in China Standard Time.
public enum Periods {
    /// A period that cannot be read; `message` says what is expected.
    public struct Invalid: Error, Sendable {
        public let message: String
    }

    /// China Standard Time, in which days, weeks, months and quarters are counted.
    public static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        calendar.firstWeekday = 2
        return calendar
    }

    /// A day as `YYYY-MM-DD` in China Standard Time.
    public static func day(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    /// The day, week (from Monday), month or quarter holding `date` (today when absent), in China Standard Time.
    /// - Parameters:
    ///   - kind: `day`, `week`, `month` or `quarter`.
    ///   - date: A day as `YYYY-MM-DD`; nil for today.
    ///   - now: Today, when no date is given.
    /// - Returns: The period as `[start, end)`.
    public static func period(_ kind: String, _ date: String?, now: Date) throws(Invalid) -> (Date, Date) {
        let calendar = calendar
        let anchor: Date
        if let date {
            let parts = date.split(separator: "-").compactMap { Int($0) }
            // A day that exists: the calendar would carry 2026-13-45 over into the next year.
            guard parts.count == 3, let day = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
                  Self.day(day) == String(format: "%04d-%02d-%02d", parts[0], parts[1], parts[2]) else {
                throw Invalid(message: "date is YYYY-MM-DD")
            }
            anchor = day
        } else {
            anchor = now
        }
        let component: Calendar.Component
        switch kind {
        case "day": component = .day
        case "week": component = .weekOfYear
        case "month": component = .month
        case "quarter":
            let month = calendar.component(.month, from: anchor)
            let start = calendar.date(from: DateComponents(year: calendar.component(.year, from: anchor), month: (month - 1) / 3 * 3 + 1, day: 1))!
            return (start, calendar.date(byAdding: .month, value: 3, to: start)!)
        default: throw Invalid(message: "period is day, week, month or quarter")
        }
        guard let interval = calendar.dateInterval(of: component, for: anchor) else { throw Invalid(message: "no such period") }
        return (interval.start, interval.end)
    }
}
