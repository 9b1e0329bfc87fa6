import Foundation

/// Quarters, `YYYY-Qn`, in China Standard Time: the rating's periods, and the period picker's.
public enum Quarter {
    static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar
    }

    /// The quarter holding `date`.
    public static func of(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month], from: date)
        return "\(parts.year!)-Q\((parts.month! - 1) / 3 + 1)"
    }

    /// The quarter's first instant and the next quarter's.
    public static func bounds(_ quarter: String) -> (start: Date, end: Date)? {
        let parts = quarter.split(separator: "-Q")
        guard parts.count == 2, let year = Int(parts[0]), let q = Int(parts[1]), (1...4).contains(q),
              let start = calendar.date(from: DateComponents(year: year, month: (q - 1) * 3 + 1, day: 1)),
              let end = calendar.date(byAdding: .month, value: 3, to: start),
              // Written as the quarter is always written: not 2026-Q04 or -2026-Q4.
              of(start) == quarter else { return nil }
        return (start, end)
    }

    public static func previous(_ quarter: String) -> String? {
        guard let (start, _) = bounds(quarter) else { return nil }
        return of(start.addingTimeInterval(-1))
    }

    /// The `count` quarters up to and including `quarter`, oldest first.
    public static func recent(_ count: Int, upTo quarter: String) -> [String] {
        var quarters = [quarter]
        while quarters.count < count, let before = previous(quarters[0]) { quarters.insert(before, at: 0) }
        return quarters
    }
}
