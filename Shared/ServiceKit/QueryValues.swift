import Contracts
import Foundation
import Hummingbird

/// Values of a query string that several services read the same way.
public enum QueryValues {
    /// A `YYYY-MM-DD` day (midnight, China Standard Time) or a full RFC 3339 time.
    /// - Parameters:
    ///   - text: The parameter's value; nil or empty when not given.
    ///   - field: The parameter's name, for the error.
    /// - Returns: The time, or nil when not given.
    /// - Throws: `HTTPError(.badRequest)` naming the field when it is neither.
    public static func day(_ text: String?, field: String) throws -> Date? {
        guard let text, !text.isEmpty else { return nil }
        if let time = ContractCoding.parseTime(text) { return time }
        if let day = ContractCoding.parseTime(text + "T00:00:00+08:00") { return day }
        throw HTTPError(.badRequest, message: "\(field) is a day (YYYY-MM-DD) or a time (RFC 3339)")
    }
}
