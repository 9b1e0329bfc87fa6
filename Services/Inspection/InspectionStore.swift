import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// Inspection's records, each operation in the caller's transaction, returning the events to emit.
struct InspectionStore: Sendable {
    let rules: RatingRules
    let logger: Logger

    /// A school named in an event is known from then on; the registry fills in the rest.
    func knowSchool(_ code: String, on connection: PostgresConnection) async throws {
        let district = code.count >= 6 && code.prefix(6).allSatisfy(\.isNumber) ? String(code.prefix(6)) : nil
        try await connection.query("""
            INSERT INTO inspection.schools (code, district) VALUES (\(code), \(district)) ON CONFLICT (code) DO NOTHING
            """, logger: logger)
    }

    /// Records an inspection: each failed item is a hazard (unless one is open for it already) with the
    /// checklist's severity, responsible unit and deadline; each passed item closes an open hazard.
    func record(_ report: InspectionReportAcceptedV1, at now: Date, on connection: PostgresConnection) async throws -> [Emission] {
        try await knowSchool(report.schoolCode, on: connection)
        let inserted = try await connection.query("""
            INSERT INTO inspection.inspections (inspection_id, school_code, kind, unit, inspected_at, passed, failed)
            VALUES (\(report.intakeID), \(report.schoolCode), \(report.kind.rawValue), \(report.unit), \(report.inspectedAt),
                    \(report.checks.filter(\.passed).count), \(report.checks.filter { !$0.passed }.count))
            ON CONFLICT (inspection_id) DO NOTHING RETURNING 1
            """, logger: logger)
        var isNew = false
        for try await _ in inserted { isNew = true }
        guard isNew else { return [] }
        try await connection.query("""
            INSERT INTO inspection.checks (inspection_id, item, passed, note)
            SELECT \(report.intakeID), i, p, NULLIF(n, '')
            FROM unnest(\(report.checks.map(\.item.rawValue))::text[], \(report.checks.map(\.passed))::boolean[], \(report.checks.map { $0.note ?? "" })::text[]) AS t(i, p, n)
            ON CONFLICT DO NOTHING
            """, logger: logger)
        let district = String(report.schoolCode.prefix(6))
        var emissions: [Emission] = []
        for check in report.checks {
            if check.passed {
                try await connection.query("""
                    UPDATE inspection.hazards SET closed_at = \(report.inspectedAt), closed_by = \(report.intakeID)
                    WHERE school_code = \(report.schoolCode) AND item = \(check.item.rawValue) AND closed_at IS NULL AND reported_at <= \(report.inspectedAt)
                    """, logger: logger)
                continue
            }
            let hazardID = UUID().uuidString.lowercased()
            let rows = try await connection.query("""
                INSERT INTO inspection.hazards (hazard_id, school_code, item, severity, unit, due_at, inspection_id, inspected_by, note, reported_at)
                SELECT \(hazardID)::uuid, \(report.schoolCode), c.item, c.severity,
                       replace(replace(c.unit, '{school}', \(report.schoolCode)), '{district}', \(district)),
                       \(report.inspectedAt) + make_interval(days => c.rectify_days), \(report.intakeID), \(report.unit), \(check.note), \(report.inspectedAt)
                FROM inspection.checklist c WHERE c.item = \(check.item.rawValue)
                ON CONFLICT (school_code, item) WHERE closed_at IS NULL DO NOTHING
                RETURNING severity, unit, due_at
                """, logger: logger)
            for try await (severity, unit, due) in rows.decode((String, String, Date).self) {
                emissions.append(Emission(HazardReportedV1(
                    hazardID: hazardID, schoolCode: report.schoolCode, item: check.item.rawValue,
                    severity: HazardReportedV1.Severity(rawValue: severity) ?? .major, unit: unit, dueAt: due, inspectionID: report.intakeID,
                    inspectedBy: report.unit, note: check.note, at: now), subject: hazardID))
            }
        }
        return emissions
    }

    /// Hazards past their deadline, each announced once.
    func overdue(at now: Date, limit: Int, on connection: PostgresConnection) async throws -> [Emission] {
        let rows = try await connection.query("""
            SELECT hazard_id::text, school_code, item, severity, unit, due_at FROM inspection.hazards
            WHERE closed_at IS NULL AND overdue_at IS NULL AND due_at <= \(now)
            ORDER BY due_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """, logger: logger)
        var emissions: [Emission] = []
        var ids: [String] = []
        for try await (id, school, item, severity, unit, due) in rows.decode((String, String, String, String, String, Date).self) {
            ids.append(id)
            emissions.append(Emission(HazardOverdueV1(
                hazardID: id, schoolCode: school, item: item, severity: HazardReportedV1.Severity(rawValue: severity) ?? .major, unit: unit,
                dueAt: due, at: now), subject: id))
        }
        if !ids.isEmpty {
            try await connection.query("UPDATE inspection.hazards SET overdue_at = \(now) WHERE hazard_id::text = ANY(\(ids)::text[])", logger: logger)
        }
        return emissions
    }

    /// Records a venue finding. A venue that admitted minors where the law forbids it (``VenueFindingV1/Venue/isBreach(minors:)``)
    /// is flagged at the first finding; any venue with `flagAfter` findings within `days` is flagged too.
    /// - Returns: `venue.flagged.v1` for a breach, or for a venue flagged now by its count; nothing for a finding seen before.
    func record(
        _ finding: VenueFindingAcceptedV1, flagAfter: Int, within days: Int, rectifyDays: Int, at now: Date, on connection: PostgresConnection
    ) async throws -> [Emission] {
        let venue = finding.venue
        let key = venue.licence.map { "licence:\($0)" } ?? "\(venue.kind.rawValue):\(venue.name.lowercased())"
        let breach = venue.isBreach(minors: finding.subjectIDs.count)
        try await connection.query("""
            INSERT INTO inspection.venues (venue_key, kind, name, address, licence, district) VALUES
            (\(key), \(venue.kind.rawValue), \(venue.name), \(venue.address), \(venue.licence), \(venue.district))
            ON CONFLICT (venue_key) DO UPDATE SET address = coalesce(EXCLUDED.address, inspection.venues.address),
                district = coalesce(EXCLUDED.district, inspection.venues.district)
            """, logger: logger)
        let inserted = try await connection.query("""
            INSERT INTO inspection.venue_findings (intake_id, venue_key, found_at, minors, activities, action, agency, breach)
            VALUES (\(finding.intakeID), \(key), \(finding.foundAt), \(finding.subjectIDs.count), \(finding.activities.map(\.rawValue)),
                    \(finding.actionTaken.rawValue), \(finding.agency), \(breach))
            ON CONFLICT (intake_id) DO NOTHING RETURNING 1
            """, logger: logger)
        var isNew = false
        for try await _ in inserted { isNew = true }
        guard isNew else { return [] }
        let rows = try await connection.query("""
            WITH window_findings AS (
                SELECT count(*)::int AS findings, count(*) FILTER (WHERE breach)::int AS breaches FROM inspection.venue_findings f
                WHERE f.venue_key = \(key) AND f.found_at > \(finding.foundAt) - make_interval(days => \(days)::int) AND f.found_at <= \(finding.foundAt)),
            before AS (SELECT flagged_at FROM inspection.venues WHERE venue_key = \(key))
            UPDATE inspection.venues v SET flagged_at = coalesce(v.flagged_at, \(finding.foundAt))
            FROM window_findings w, before b
            WHERE v.venue_key = \(key) AND (\(breach) OR w.findings >= \(flagAfter))
            RETURNING b.flagged_at IS NULL, w.findings, w.breaches, v.district
            """, logger: logger)
        var emissions: [Emission] = []
        for try await (newlyFlagged, findings, breaches, district) in rows.decode((Bool, Int, Int, String?).self) where breach || newlyFlagged {
            let regulator: String? = district.map { district in
                switch venue.kind {
                case .hotel, .shortLet: "psb-\(district)"
                default: "culture-\(district)"
                }
            }
            let reason = breach
                ? (venue.kind == .hotel || venue.kind == .shortLet ? "took in minors without the checks for minors" : "admitted minors")
                : "\(findings) findings of minors within \(days) days (\(venue.kind.rawValue))"
            emissions.append(Emission(VenueFlaggedV1(
                venueKey: key, kind: venue.kind, name: venue.name, district: district, regulatorUnit: regulator,
                dueAt: now.addingTimeInterval(Double(rectifyDays) * 86_400), reason: reason, findingID: finding.intakeID,
                breaches: max(breaches, 1), schoolCodes: finding.schoolCodes ?? [], at: now), subject: key))
        }
        return emissions
    }

    /// The facts of each known school's quarter.
    func facts(_ quarter: String, on connection: PostgresConnection) async throws -> [String: QuarterFacts] {
        guard let (start, end) = Quarter.bounds(quarter) else { throw InspectionError("quarter is YYYY-Qn, e.g. 2026-Q4") }
        let rows = try await connection.query("""
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

    /// Rates every known school for a quarter. Idempotent: a rating that did not change is not stored again and
    /// emits nothing; a new or changed one emits `rating.changed.v1`, with `fell` when below the quarter before.
    func computeRatings(_ quarter: String, at now: Date, on connection: PostgresConnection) async throws -> (ratings: Int, emissions: [Emission]) {
        let facts = try await facts(quarter, on: connection)
        var stored: [String: RatingChangedV1.Rating] = [:]
        var before: [String: RatingChangedV1.Rating] = [:]
        let previousQuarter = Quarter.previous(quarter) ?? ""
        let rows = try await connection.query("""
            SELECT school_code, quarter, rating FROM inspection.ratings WHERE quarter IN (\(quarter), \(previousQuarter)) FOR UPDATE
            """, logger: logger)
        for try await (school, q, rating) in rows.decode((String, String, String).self) {
            if q == quarter { stored[school] = RatingChangedV1.Rating(rawValue: rating) } else { before[school] = RatingChangedV1.Rating(rawValue: rating) }
        }
        var emissions: [Emission] = []
        let encoder = ContractCoding.encoder()
        for (school, fact) in facts.sorted(by: { $0.key < $1.key }) {
            let (rating, reasons) = rules.rate(fact)
            guard RatingRules.changed(stored: stored[school], computed: rating) else { continue }
            try await connection.query("""
                INSERT INTO inspection.ratings (school_code, quarter, rating, reasons, facts, computed_at)
                VALUES (\(school), \(quarter), \(rating.rawValue), \(String(decoding: try encoder.encode(reasons), as: UTF8.self))::jsonb,
                        \(String(decoding: try encoder.encode(fact), as: UTF8.self))::jsonb, \(now))
                ON CONFLICT (school_code, quarter) DO UPDATE SET rating = EXCLUDED.rating, reasons = EXCLUDED.reasons, facts = EXCLUDED.facts,
                                                               computed_at = EXCLUDED.computed_at
                """, logger: logger)
            emissions.append(Emission(RatingChangedV1(
                schoolCode: school, quarter: quarter, rating: rating, previousRating: before[school],
                fell: RatingRules.fell(previous: before[school], now: rating), reasons: reasons, at: now), subject: school))
        }
        return (facts.count, emissions)
    }
}

struct InspectionError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
