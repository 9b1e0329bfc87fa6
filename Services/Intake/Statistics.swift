import Contracts
import Foundation
import Hummingbird
import PostgresNIO
import ServiceKit
import Storage

/// What reached Huhang over a period, for the task force and operators: accepted events by type,
/// incident reports by the channel they came through (QR code, 110 mailbox, hotline, patrol, walk-in…),
/// refusals by kind, and candidate matches waiting for the task force. Counts only; no one is named.
///
///     GET /v1/stats?since=2026-11-01&until=2026-12-01     (roles task-force, operator; default the last 30 days)
enum IntakeStatisticsRoutes {
    struct Stats: Codable {
        var since: Date
        var until: Date
        /// Accepted events by type.
        var accepted: [String: Int]
        /// Accepted incident reports by channel; `unspecified` where the agency did not say.
        var reportsByChannel: [String: Int]
        /// Refused events by kind: `invalid`, `forbidden`, `conflict`.
        var refused: [String: Int]
        /// Candidate matches of two subjects the task force has not decided yet (`GET /v1/matches`).
        var openMatches: Int
    }

    static func add(to v1: RouterGroup<HuhangRequestContext>, database: Database, clock: any WallClock) {
        v1.get("stats") { request, context in
            let identity = try context.requireIdentity()
            guard ["task-force", "operator"].contains(identity.role) else { throw HTTPError(.forbidden, message: "the task force and operators only") }
            let query = request.uri.queryParameters
            let until = try day(query["until"].map(String.init), field: "until") ?? clock.now()
            let since = try day(query["since"].map(String.init), field: "since") ?? until.addingTimeInterval(-30 * 86_400)
            guard since < until else { throw HTTPError(.badRequest, message: "since must be before until") }
            func counts(_ query: PostgresQuery) async throws -> [String: Int] {
                var result: [String: Int] = [:]
                for try await (key, count) in try await database.query(query, logger: database.logger).decode((String, Int).self) {
                    result[key] = count
                }
                return result
            }
            let stats = Stats(
                since: since, until: until,
                accepted: try await counts("""
                    SELECT event_type, count(*)::int FROM intake.accepted WHERE received_at >= \(since) AND received_at < \(until) GROUP BY 1
                    """),
                reportsByChannel: try await counts("""
                    SELECT coalesce(channel, 'unspecified'), count(*)::int FROM intake.accepted
                    WHERE event_type = 'report.incident.v1' AND received_at >= \(since) AND received_at < \(until) GROUP BY 1
                    """),
                refused: try await counts("""
                    SELECT kind, count(*)::int FROM intake.rejections WHERE received_at >= \(since) AND received_at < \(until) GROUP BY 1
                    """),
                openMatches: try await counts("SELECT 'open', count(*)::int FROM intake.match_candidates WHERE decision IS NULL")["open"] ?? 0)
            return try JSONResponse.make(stats)
        }
    }

    /// A `YYYY-MM-DD` day (midnight, China Standard Time) or a full RFC 3339 time.
    static func day(_ text: String?, field: String) throws -> Date? {
        guard let text, !text.isEmpty else { return nil }
        if let time = ContractCoding.parseTime(text) { return time }
        if let day = ContractCoding.parseTime(text + "T00:00:00+08:00") { return day }
        throw HTTPError(.badRequest, message: "\(field) is a day (YYYY-MM-DD) or a time (RFC 3339)")
    }
}
