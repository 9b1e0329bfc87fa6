import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// The quarterly safety ratings (`inspection.ratings`): the facts of each school's quarter, read from the
/// registry, inspections, hazards and incidents; the rating the rules give them; and the ratings as listed.
struct RatingStore: Sendable {
    let database: Database
    let rules: RatingRules

    /// The facts of each known school's quarter.
    /// - Parameters:
    ///   - quarter: `YYYY-Qn`.
    ///   - connection: The caller's transaction.
    static func facts(_ quarter: String, on connection: PostgresConnection, logger: Logger) async throws -> [String: QuarterFacts] {
        guard let (start, end) = Quarter.bounds(quarter) else { throw InspectionError("quarter is YYYY-Qn, e.g. 2026-Q4") }
        let rows = try await connection.query(prepared: """
            SELECT s.code,
              (SELECT count(*)::int FROM inspection.inspections i WHERE i.school_code = s.code AND i.inspected_at >= \(start) AND i.inspected_at < \(end)),
              (SELECT count(*)::int FROM inspection.hazards h WHERE h.school_code = s.code AND h.reported_at < \(end) AND h.due_at < \(end)
                 AND (h.closed_at IS NULL OR h.closed_at > h.due_at) AND (h.closed_at IS NULL OR h.closed_at >= \(start))),
              (SELECT count(*)::int FROM inspection.hazards h WHERE h.school_code = s.code AND h.severity = 'critical' AND h.reported_at < \(end)
                 AND h.due_at < \(end) AND (h.closed_at IS NULL OR h.closed_at > h.due_at) AND (h.closed_at IS NULL OR h.closed_at >= \(start))),
              (SELECT count(*)::int FROM inspection.hazards h WHERE h.school_code = s.code AND h.reported_at < \(end) AND (h.closed_at IS NULL OR h.closed_at >= \(end))),
              coalesce((SELECT incidents FROM inspection.school_incidents x WHERE x.school_code = s.code AND x.quarter = \(quarter)), 0),
              coalesce(s.police_officer, '') <> '' AND coalesce(s.legal_vice_principal, '') <> ''
                AND coalesce((SELECT c.passed FROM inspection.checks c JOIN inspection.inspections i USING (inspection_id)
                              WHERE i.school_code = s.code AND c.item = 'one_key_alarm' AND i.inspected_at < \(end) ORDER BY i.inspected_at DESC LIMIT 1), false)
                AND coalesce((SELECT c.passed FROM inspection.checks c JOIN inspection.inspections i USING (inspection_id)
                              WHERE i.school_code = s.code AND c.item = 'guard_post_staffed' AND i.inspected_at < \(end) ORDER BY i.inspected_at DESC LIMIT 1), false)
            FROM inspection.schools s ORDER BY s.code
            """, logger: logger)
        var facts: [String: QuarterFacts] = [:]
        for try await (code, inspections, late, lateCritical, open, incidents, covered) in rows.decode((String, Int, Int, Int, Int, Int, Bool).self) {
            facts[code] = QuarterFacts(
                inspections: inspections, lateHazards: late, lateCriticalHazards: lateCritical, openHazards: open, incidents: incidents,
                fullCoverage: covered)
        }
        return facts
    }

    /// Rates every known school for a quarter, in one statement. Idempotent: a school's row is written only where its
    /// rating, reasons or facts differ from those stored, and only a new or changed rating emits `rating.changed.v1`,
    /// with `fell` when below the quarter before.
    /// - Parameters:
    ///   - quarter: `YYYY-Qn`.
    ///   - now: When the ratings are computed.
    ///   - connection: The caller's transaction.
    /// - Returns: How many schools were rated, and the events of the ratings that changed.
    func compute(_ quarter: String, at now: Date, on connection: PostgresConnection) async throws -> (ratings: Int, emissions: [Emission]) {
        let facts = try await Self.facts(quarter, on: connection, logger: database.logger)
        var stored: [String: RatingChangedV1.Rating] = [:]
        var before: [String: RatingChangedV1.Rating] = [:]
        let previousQuarter = Quarter.previous(quarter) ?? ""
        let rows = try await connection.query(prepared: """
            SELECT school_code, quarter, rating FROM inspection.ratings WHERE quarter IN (\(quarter), \(previousQuarter)) FOR UPDATE
            """, logger: database.logger)
        for try await (school, q, rating) in rows.decode((String, String, String).self) {
            if q == quarter { stored[school] = RatingChangedV1.Rating(rawValue: rating) } else { before[school] = RatingChangedV1.Rating(rawValue: rating) }
        }
        var emissions: [Emission] = []
        let encoder = ContractCoding.encoder()
        var written: (schools: [String], ratings: [String], reasons: [String], facts: [String]) = ([], [], [], [])
        for (school, fact) in facts.sorted(by: { $0.key < $1.key }) {
            let (rating, reasons) = rules.rate(fact)
            written.schools.append(school)
            written.ratings.append(rating.rawValue)
            written.reasons.append(String(decoding: try encoder.encode(reasons), as: UTF8.self))
            written.facts.append(String(decoding: try encoder.encode(fact), as: UTF8.self))
            guard RatingRules.changed(stored: stored[school], computed: rating) else { continue }
            emissions.append(Emission(RatingChangedV1(
                schoolCode: school, quarter: quarter, rating: rating, previousRating: before[school],
                fell: RatingRules.fell(previous: before[school], now: rating), reasons: reasons, at: now), subject: school))
        }
        // The reasons and facts are brought up to date whenever they differ (a third incident while the rating holds
        // is named in the bulletin); the rating is news only when it changes.
        if !written.schools.isEmpty {
            try await connection.query(prepared: """
                INSERT INTO inspection.ratings AS r (school_code, quarter, rating, reasons, facts, computed_at)
                SELECT s, \(quarter), g, x::jsonb, f::jsonb, \(now)
                FROM unnest(\(written.schools)::text[], \(written.ratings)::text[], \(written.reasons)::text[], \(written.facts)::text[]) AS t(s, g, x, f)
                ON CONFLICT (school_code, quarter) DO UPDATE SET rating = EXCLUDED.rating, reasons = EXCLUDED.reasons, facts = EXCLUDED.facts,
                                                               computed_at = EXCLUDED.computed_at
                WHERE (r.rating, r.reasons, r.facts) IS DISTINCT FROM (EXCLUDED.rating, EXCLUDED.reasons, EXCLUDED.facts)
                """, logger: database.logger)
        }
        return (facts.count, emissions)
    }

    /// Rates every known school for a quarter, as ``compute(_:at:on:)``, in one transaction with `alongside`.
    /// - Parameters:
    ///   - quarter: `YYYY-Qn`.
    ///   - now: When the ratings are computed.
    ///   - alongside: Work on the same transaction, given the events of the ratings that changed: putting them in
    ///     the outbox, and the audit entry.
    /// - Returns: How many schools were rated, and how many ratings changed.
    func compute(
        _ quarter: String, at now: Date, alongside: ([Emission], PostgresConnection) async throws -> Void
    ) async throws -> (ratings: Int, changed: Int) {
        try await database.withTransaction { connection in
            let (count, emissions) = try await compute(quarter, at: now, on: connection)
            try await alongside(emissions, connection)
            return (count, emissions.count)
        }
    }

    /// The ratings, lowest first.
    static let lowestFirst = ["non_compliant", "compliant", "model"]

    /// A quarter's ratings with the quarter before's.
    /// - Parameters:
    ///   - quarter: `YYYY-Qn`.
    ///   - district: Only this district's schools, when given.
    ///   - attention: Those that fell first, then those rated for the first time, then the rest; within each the
    ///     lowest rated first; by school code last. By school code alone otherwise.
    ///   - limit: At most this many (all when nil), after skipping `offset`.
    func ratings(_ quarter: String, district: String? = nil, attention: Bool = false, limit: Int? = nil, offset: Int = 0) async throws -> [RatedSchool] {
        let previous = Quarter.previous(quarter) ?? ""
        let rows = try await database.query("""
            SELECT r.school_code, s.name, r.rating, p.rating, r.reasons::text
            FROM inspection.ratings r LEFT JOIN inspection.schools s ON s.code = r.school_code
            LEFT JOIN inspection.ratings p ON p.school_code = r.school_code AND p.quarter = \(previous)
            WHERE r.quarter = \(quarter) AND (\(district)::text IS NULL OR s.district = \(district))
            ORDER BY CASE WHEN NOT \(attention) THEN 0
                          WHEN p.rating IS NULL THEN 2
                          WHEN array_position(\(Self.lowestFirst), r.rating) < array_position(\(Self.lowestFirst), p.rating) THEN 0
                          WHEN r.rating = p.rating THEN 3 ELSE 4 END,
                     CASE WHEN \(attention) THEN array_position(\(Self.lowestFirst), r.rating) ELSE 0 END, r.school_code
            LIMIT \(limit ?? Int(Int32.max)) OFFSET \(max(offset, 0))
            """, logger: database.logger)
        var rated: [RatedSchool] = []
        for try await (school, name, rating, before, reasons) in rows.decode((String, String?, String, String?, String).self) {
            rated.append(RatedSchool(
                schoolCode: school, name: name, rating: rating, previousRating: before,
                movement: RatedSchool.movement(rating: rating, previous: before),
                reasons: (try? JSONDecoder().decode([String].self, from: Data(reasons.utf8))) ?? []))
        }
        return rated
    }

    /// How many schools had each rating, quarter by quarter, and how many fell or rose against the quarter before.
    struct QuarterCounts: Codable, Sendable {
        var quarter: String
        var model = 0
        var compliant = 0
        var nonCompliant = 0
        var fell = 0
        var rose = 0
    }

    /// The number of schools at each rating in each of `quarters`, in their order, with those that fell and rose.
    /// - Parameters:
    ///   - quarters: `YYYY-Qn` each.
    ///   - district: Only this district's schools, when given.
    func trend(_ quarters: [String], district: String? = nil) async throws -> [QuarterCounts] {
        let rows = try await database.query("""
            SELECT x.q, r.rating, p.rating, count(*)::int
            FROM unnest(\(quarters)::text[], \(quarters.map { Quarter.previous($0) ?? "" })::text[]) AS x(q, before)
            JOIN inspection.ratings r ON r.quarter = x.q
            LEFT JOIN inspection.schools s ON s.code = r.school_code
            LEFT JOIN inspection.ratings p ON p.school_code = r.school_code AND p.quarter = x.before
            WHERE \(district)::text IS NULL OR s.district = \(district)
            GROUP BY x.q, r.rating, p.rating
            """, logger: database.logger)
        var counts = Dictionary(uniqueKeysWithValues: quarters.map { ($0, QuarterCounts(quarter: $0)) })
        for try await (quarter, rating, before, count) in rows.decode((String, String, String?, Int).self) {
            guard let now = RatingChangedV1.Rating(rawValue: rating) else { continue }
            switch now {
            case .model: counts[quarter]?.model += count
            case .compliant: counts[quarter]?.compliant += count
            case .nonCompliant: counts[quarter]?.nonCompliant += count
            }
            if let then = before.flatMap(RatingChangedV1.Rating.init(rawValue:)) {
                if now < then { counts[quarter]?.fell += count }
                if now > then { counts[quarter]?.rose += count }
            }
        }
        return quarters.compactMap { counts[$0] }
    }

    /// A school's rating in every quarter it was rated, oldest first, each as `quarter` and `rating`.
    func history(of school: String) async throws -> [[String: String]] {
        let rows = try await database.query(
            "SELECT quarter, rating FROM inspection.ratings WHERE school_code = \(school) ORDER BY quarter", logger: database.logger)
        var history: [[String: String]] = []
        for try await (quarter, rating) in rows.decode((String, String).self) { history.append(["quarter": quarter, "rating": rating]) }
        return history
    }
}

/// A request inspection cannot carry out as asked.
struct InspectionError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
