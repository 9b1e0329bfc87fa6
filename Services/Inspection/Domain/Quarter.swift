import Foundation

/// Quarters, `YYYY-Qn`, in China Standard Time.
enum Quarter {
    static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar
    }

    static func of(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month], from: date)
        return "\(parts.year!)-Q\((parts.month! - 1) / 3 + 1)"
    }

    /// The quarter's first instant and the next quarter's.
    static func bounds(_ quarter: String) -> (start: Date, end: Date)? {
        let parts = quarter.split(separator: "-Q")
        guard parts.count == 2, let year = Int(parts[0]), let q = Int(parts[1]), (1...4).contains(q),
              let start = calendar.date(from: DateComponents(year: year, month: (q - 1) * 3 + 1, day: 1)),
              let end = calendar.date(byAdding: .month, value: 3, to: start) else { return nil }
        return (start, end)
    }

    static func previous(_ quarter: String) -> String? {
        guard let (start, _) = bounds(quarter) else { return nil }
        return of(start.addingTimeInterval(-1))
    }
}
