import Foundation
import Logging
import PostgresNIO
import Storage

/// The schools registry (`inspection.schools`): each school, its police officer and legal vice-principal
/// with their units, its guard posts; the incidents reported at each school per quarter
/// (`inspection.school_incidents`); and the share of schools that have each safeguard.
struct SchoolStore: Sendable {
    let database: Database

    /// Shares of schools with each safeguard, rounded to three places.
    struct Coverage: Codable, Sendable {
        var schools: Int
        var alarmLinked: Double
        var policeOfficer: Double
        var legalVicePrincipal: Double
        var guardPostStaffed: Double
    }

    /// A school named in an event is known from then on; the registry fills in the rest.
    /// - Parameters:
    ///   - code: The school code.
    ///   - connection: The handler's transaction.
    static func know(_ code: String, on connection: PostgresConnection, logger: Logger) async throws {
        let district = code.count >= 6 && code.prefix(6).allSatisfy(\.isNumber) ? String(code.prefix(6)) : nil
        try await connection.query(prepared: """
            INSERT INTO inspection.schools (code, district) VALUES (\(code), \(district)) ON CONFLICT (code) DO NOTHING
            """, logger: logger)
    }

    /// Counts incidents at schools by quarter, each school known from then on, in one statement: a batch's
    /// reports together, each (school, quarter) row written once.
    /// - Parameters:
    ///   - incidents: One per incident: the school code, and the quarter (`YYYY-Qn`) of when it happened.
    ///   - connection: The handler's transaction.
    static func countIncidents(_ incidents: [(school: String, quarter: String)], on connection: PostgresConnection, logger: Logger) async throws {
        guard !incidents.isEmpty else { return }
        let schools = incidents.map(\.school)
        let districts = schools.map { code in code.count >= 6 && code.prefix(6).allSatisfy(\.isNumber) ? String(code.prefix(6)) : "" }
        try await connection.query(prepared: """
            WITH known AS (
                INSERT INTO inspection.schools (code, district)
                SELECT DISTINCT s, NULLIF(d, '') FROM unnest(\(schools)::text[], \(districts)::text[]) AS x(s, d) ORDER BY s
                ON CONFLICT (code) DO NOTHING
            )
            INSERT INTO inspection.school_incidents (school_code, quarter, incidents)
            SELECT s, q, count(*)::int FROM unnest(\(schools)::text[], \(incidents.map(\.quarter))::text[]) AS x(s, q) GROUP BY s, q ORDER BY s, q
            ON CONFLICT (school_code, quarter) DO UPDATE SET incidents = inspection.school_incidents.incidents + EXCLUDED.incidents
            """, logger: logger)
    }

    /// Registers a school, or replaces what the registry holds of it, in one transaction with `alongside`.
    /// - Parameters:
    ///   - school: What the registry holds of it (its `code` is not used).
    ///   - code: The school code, from the path.
    ///   - district: Its six-digit division code, if known.
    ///   - alongside: Work on the same transaction: the event that tells of the change, and the audit entry.
    func save(
        _ school: School, code: String, district: String?, alongside: (PostgresConnection) async throws -> Void
    ) async throws {
        try await database.withTransaction { connection in
            try await connection.query(prepared: """
                INSERT INTO inspection.schools (code, name, type, district, police_officer, legal_vice_principal, guard_posts,
                                                police_unit, legal_vice_principal_unit, updated_at)
                VALUES (\(code), \(school.name), \(school.type), \(district),
                        \(school.policeOfficer), \(school.legalVicePrincipal), \(school.guardPosts ?? 0),
                        \(school.policeUnit), \(school.legalVicePrincipalUnit), now())
                ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type, district = EXCLUDED.district,
                    police_officer = EXCLUDED.police_officer, legal_vice_principal = EXCLUDED.legal_vice_principal,
                    guard_posts = EXCLUDED.guard_posts, police_unit = EXCLUDED.police_unit,
                    legal_vice_principal_unit = EXCLUDED.legal_vice_principal_unit, updated_at = now()
                """, logger: database.logger)
            try await alongside(connection)
        }
    }

    /// Up to 5000 schools, by code.
    /// - Parameter code: Only this school, when given.
    func schools(_ code: String?, district: String? = nil) async throws -> [School] {
        let rows = try await database.query("""
            SELECT code, name, type, district, police_officer, legal_vice_principal, guard_posts, police_unit, legal_vice_principal_unit
            FROM inspection.schools
            WHERE (\(code)::text IS NULL OR code = \(code)) AND (\(district)::text IS NULL OR district = \(district)) ORDER BY code LIMIT 5000
            """, logger: database.logger)
        var schools: [School] = []
        for try await (code, name, type, district, officer, vice, posts, policeUnit, viceUnit)
            in rows.decode((String, String?, String?, String?, String?, String?, Int, String?, String?).self) {
            schools.append(School(
                code: code, name: name, type: type, district: district, policeOfficer: officer, legalVicePrincipal: vice, guardPosts: posts,
                policeUnit: policeUnit, legalVicePrincipalUnit: viceUnit))
        }
        return schools
    }

    /// Shares of schools, from the registry and each school's latest check of the item.
    func coverage() async throws -> Coverage {
        let rows = try await database.query("""
            WITH latest AS (
                SELECT DISTINCT ON (i.school_code, c.item) i.school_code, c.item, c.passed
                FROM inspection.checks c JOIN inspection.inspections i USING (inspection_id)
                WHERE c.item IN ('one_key_alarm', 'guard_post_staffed') ORDER BY i.school_code, c.item, i.inspected_at DESC)
            SELECT count(*)::int,
                   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM latest l WHERE l.school_code = s.code AND l.item = 'one_key_alarm' AND l.passed))::int,
                   count(*) FILTER (WHERE coalesce(s.police_officer, '') <> '')::int,
                   count(*) FILTER (WHERE coalesce(s.legal_vice_principal, '') <> '')::int,
                   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM latest l WHERE l.school_code = s.code AND l.item = 'guard_post_staffed' AND l.passed))::int
            FROM inspection.schools s
            """, logger: database.logger)
        for try await (total, alarm, officer, vice, post) in rows.decode((Int, Int, Int, Int, Int).self) {
            func share(_ n: Int) -> Double { total == 0 ? 0 : (Double(n) / Double(total) * 1000).rounded() / 1000 }
            return Coverage(schools: total, alarmLinked: share(alarm), policeOfficer: share(officer), legalVicePrincipal: share(vice), guardPostStaffed: share(post))
        }
        return Coverage(schools: 0, alarmLinked: 0, policeOfficer: 0, legalVicePrincipal: 0, guardPostStaffed: 0)
    }
}
