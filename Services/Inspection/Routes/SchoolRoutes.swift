import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO
import ServiceKit
import Storage

/// Inspection's API. Schools, inspections, hazards, ratings and coverage hold
/// no personal data; any valid token reads them. Changing the registry, the
/// checklist or computing a quarter's ratings is for the task force and
/// operators (the registry also the education bureau's role `education`).
///
/// | route | |
/// |---|---|
/// | `GET /v1/schools`, `GET /v1/schools/{code}` (with its rating history), `PUT /v1/schools/{code}` | the registry |
/// | `GET /v1/inspections?school=` | inspections, newest first |
/// | `GET /v1/hazards?school=&unit=&state=open\|late\|all` | hazards |
/// | `POST /v1/ratings/{quarter}/compute`, `GET /v1/ratings/{quarter}?district=`, `GET /v1/ratings/{quarter}/bulletin?district=` | the quarterly rating and its bulletin (Markdown) |
/// | `GET /v1/coverage` | alarm, police officer, legal vice-principal, guard post |
/// | `GET /v1/venues?flagged=true` | venues and their findings |
/// | `GET /v1/checklist`, `PUT /v1/checklist/{item}` | the checklist's severities, deadlines and responsible units |
struct InspectionRoutes: Sendable {
    let store: InspectionStore
    let database: Database
    let clock: any WallClock

    struct School: Codable {
        /// From the path when writing.
        var code: String?
        var name: String?
        var type: String?
        var district: String?
        var policeOfficer: String?
        var legalVicePrincipal: String?
        var guardPosts: Int?
        /// The unit of the school's police officer (一校一警), put on every bullying and violence case.
        var policeUnit: String?
        /// The unit of the school's legal vice-principal (法治副校长), put on every bullying and violence case.
        var legalVicePrincipalUnit: String?
    }

    struct Hazard: Codable {
        var hazardID: String
        var schoolCode: String
        var item: String
        var severity: String
        var unit: String
        var dueAt: Date
        var reportedAt: Date
        var closedAt: Date?
        var late: Bool
        enum CodingKeys: String, CodingKey { case hazardID = "hazardId", schoolCode, item, severity, unit, dueAt, reportedAt, closedAt, late }
    }

    struct Rated: Codable {
        var schoolCode: String
        var name: String?
        var rating: String
        var previousRating: String?
        /// `up`, `down`, `same` or `new` against the quarter before.
        var movement: String
        var reasons: [String]
    }

    struct ChecklistItem: Codable {
        var item: String
        var severity: String
        var rectifyDays: Int
        var unit: String
    }

    static func manage(_ identity: APIIdentity, also: [String] = []) throws {
        guard (["task-force", "operator"] + also).contains(identity.role) else {
            throw HTTPError(.forbidden, message: "the task force and operators\(also.isEmpty ? "" : " and " + also.joined(separator: ", ")) only")
        }
    }

    func add(to v1: RouterGroup<HuhangRequestContext>) {
        v1.put("schools/:code") { request, context in
            let identity = try context.requireIdentity()
            try Self.manage(identity, also: ["education"])
            let code = try context.parameters.require("code")
            let school = try await request.decodeJSON(School.self)
            if let type = school.type, !["kindergarten", "primary", "middle", "vocational"].contains(type) {
                throw HTTPError(.badRequest, message: "type is kindergarten, primary, middle or vocational")
            }
            for (field, unit) in [("policeUnit", school.policeUnit), ("legalVicePrincipalUnit", school.legalVicePrincipalUnit)] {
                if let unit, unit.range(of: #"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"#, options: .regularExpression) == nil {
                    throw HTTPError(.badRequest, message: "/\(field): is a unit code, e.g. psb-370102-lx")
                }
            }
            let district = school.district ?? (code.prefix(6).allSatisfy(\.isNumber) ? String(code.prefix(6)) : nil)
            try await database.withTransaction { connection in
                try await connection.query("""
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
                let updated = SchoolUpdatedV1(
                    schoolCode: code, district: district, policeUnit: school.policeUnit, legalVicePrincipalUnit: school.legalVicePrincipalUnit,
                    at: clock.now())
                try await Origination.enqueue(
                    [Emission(updated, subject: code)], source: InspectionService.name, on: connection, schema: database.schema, logger: database.logger)
                try await Audit.record(identity, action: "school", resource: "school/\(code)", on: connection, in: database)
            }
            return Response(status: .noContent)
        }
        v1.get("schools") { _, context in
            _ = try context.requireIdentity()
            return try JSONResponse.make(try await schools(nil))
        }
        v1.get("schools/:code") { _, context in
            _ = try context.requireIdentity()
            let code = try context.parameters.require("code")
            guard let school = try await schools(code).first else { throw HTTPError(.notFound, message: "no school \(code)") }
            let rows = try await database.query(
                "SELECT quarter, rating FROM inspection.ratings WHERE school_code = \(code) ORDER BY quarter", logger: database.logger)
            var history: [[String: String]] = []
            for try await (quarter, rating) in rows.decode((String, String).self) { history.append(["quarter": quarter, "rating": rating]) }
            struct Answer: Codable { var school: School; var ratings: [[String: String]] }
            return try JSONResponse.make(Answer(school: school, ratings: history))
        }
        v1.get("inspections") { request, context in
            _ = try context.requireIdentity()
            let school = request.uri.queryParameters["school"].map(String.init)
            let rows = try await database.query("""
                SELECT inspection_id, school_code, kind, unit, inspected_at, passed, failed FROM inspection.inspections
                WHERE (\(school)::text IS NULL OR school_code = \(school)) ORDER BY inspected_at DESC LIMIT 500
                """, logger: database.logger)
            struct Line: Codable { var inspectionId: String; var schoolCode: String; var kind: String; var unit: String; var inspectedAt: Date; var passed: Int; var failed: Int }
            var lines: [Line] = []
            for try await (id, school, kind, unit, at, passed, failed) in rows.decode((String, String, String, String, Date, Int, Int).self) {
                lines.append(Line(inspectionId: id, schoolCode: school, kind: kind, unit: unit, inspectedAt: at, passed: passed, failed: failed))
            }
            return try JSONResponse.make(lines)
        }
        v1.get("hazards") { request, context in
            _ = try context.requireIdentity()
            let query = request.uri.queryParameters
            let school = query["school"].map(String.init), unit = query["unit"].map(String.init)
            let state = query["state"].map(String.init) ?? "open"
            guard ["open", "late", "all"].contains(state) else { throw HTTPError(.badRequest, message: "state is open, late or all") }
            let now = clock.now()
            let rows = try await database.query("""
                SELECT hazard_id::text, school_code, item, severity, unit, due_at, reported_at, closed_at FROM inspection.hazards
                WHERE (\(school)::text IS NULL OR school_code = \(school)) AND (\(unit)::text IS NULL OR unit = \(unit))
                  AND (\(state) = 'all' OR (closed_at IS NULL AND (\(state) = 'open' OR due_at < \(now))))
                ORDER BY due_at LIMIT 1000
                """, logger: database.logger)
            var hazards: [Hazard] = []
            for try await (id, school, item, severity, unit, due, reported, closed) in rows.decode((String, String, String, String, String, Date, Date, Date?).self) {
                hazards.append(Hazard(
                    hazardID: id, schoolCode: school, item: item, severity: severity, unit: unit, dueAt: due, reportedAt: reported, closedAt: closed,
                    late: closed.map { $0 > due } ?? (due < now)))
            }
            return try JSONResponse.make(hazards)
        }
        v1.post("ratings/:quarter/compute") { _, context in
            let identity = try context.requireIdentity()
            try Self.manage(identity)
            let quarter = try context.parameters.require("quarter")
            guard Quarter.bounds(quarter) != nil else { throw HTTPError(.badRequest, message: "quarter is YYYY-Qn, e.g. 2026-Q4") }
            let (rated, changed) = try await database.withTransaction { connection in
                let (count, emissions) = try await store.computeRatings(quarter, at: clock.now(), on: connection)
                try await Origination.enqueue(emissions, source: InspectionService.name, on: connection, schema: database.schema, logger: database.logger)
                try await Audit.record(identity, action: "compute-rating", resource: "rating/\(quarter)", on: connection, in: database)
                return (count, emissions.count)
            }
            return try JSONResponse.make(["quarter": "\(quarter)", "schools": "\(rated)", "changed": "\(changed)"])
        }
        v1.get("ratings/:quarter") { request, context in
            _ = try context.requireIdentity()
            let district = request.uri.queryParameters["district"].map(String.init)
            return try JSONResponse.make(try await ratings(try context.parameters.require("quarter"), district: district))
        }
        v1.get("ratings/:quarter/bulletin") { request, context in
            _ = try context.requireIdentity()
            let quarter = try context.parameters.require("quarter")
            let district = request.uri.queryParameters["district"].map(String.init)
            let text = Bulletin.markdown(quarter: quarter, district: district, ratings: try await ratings(quarter, district: district))
            return Response(
                status: .ok, headers: [.contentType: "text/markdown; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        v1.get("coverage") { _, context in
            _ = try context.requireIdentity()
            return try JSONResponse.make(try await coverage())
        }
        v1.get("venues") { request, context in
            _ = try context.requireIdentity()
            let flagged = request.uri.queryParameters["flagged"] == "true"
            let rows = try await database.query("""
                SELECT v.venue_key, v.kind, v.name, v.address, v.flagged_at, count(f.intake_id)::int, max(f.found_at)
                FROM inspection.venues v LEFT JOIN inspection.venue_findings f USING (venue_key)
                WHERE NOT \(flagged) OR v.flagged_at IS NOT NULL
                GROUP BY v.venue_key ORDER BY count(f.intake_id) DESC LIMIT 500
                """, logger: database.logger)
            struct Venue: Codable { var venueKey: String; var kind: String; var name: String; var address: String?; var flaggedAt: Date?; var findings: Int; var lastFoundAt: Date? }
            var venues: [Venue] = []
            for try await (key, kind, name, address, flagged, findings, last) in rows.decode((String, String, String, String?, Date?, Int, Date?).self) {
                venues.append(Venue(venueKey: key, kind: kind, name: name, address: address, flaggedAt: flagged, findings: findings, lastFoundAt: last))
            }
            return try JSONResponse.make(venues)
        }
        v1.get("checklist") { _, context in
            _ = try context.requireIdentity()
            let rows = try await database.query("SELECT item, severity, rectify_days, unit FROM inspection.checklist ORDER BY item", logger: database.logger)
            var items: [ChecklistItem] = []
            for try await (item, severity, days, unit) in rows.decode((String, String, Int, String).self) {
                items.append(ChecklistItem(item: item, severity: severity, rectifyDays: days, unit: unit))
            }
            return try JSONResponse.make(items)
        }
        v1.put("checklist/:item") { request, context in
            let identity = try context.requireIdentity()
            try Self.manage(identity)
            let item = try context.parameters.require("item")
            guard InspectionReportV1.Item(rawValue: item) != nil else { throw HTTPError(.notFound, message: "no checklist item \(item)") }
            let body = try await request.decodeJSON(ChecklistItem.self)
            guard HazardReportedV1.Severity(rawValue: body.severity) != nil, body.rectifyDays > 0, !body.unit.isEmpty else {
                throw HTTPError(.badRequest, message: "severity is minor, major or critical; rectifyDays positive; unit e.g. {school} or fire-{district}")
            }
            try await database.withTransaction { connection in
                try await connection.query("""
                    INSERT INTO inspection.checklist (item, severity, rectify_days, unit) VALUES (\(item), \(body.severity), \(body.rectifyDays), \(body.unit))
                    ON CONFLICT (item) DO UPDATE SET severity = EXCLUDED.severity, rectify_days = EXCLUDED.rectify_days, unit = EXCLUDED.unit
                    """, logger: database.logger)
                try await Audit.record(identity, action: "checklist", resource: "checklist/\(item)", on: connection, in: database)
            }
            return Response(status: .noContent)
        }
    }

    func schools(_ code: String?) async throws -> [School] {
        let rows = try await database.query("""
            SELECT code, name, type, district, police_officer, legal_vice_principal, guard_posts, police_unit, legal_vice_principal_unit
            FROM inspection.schools
            WHERE \(code)::text IS NULL OR code = \(code) ORDER BY code LIMIT 5000
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

    func ratings(_ quarter: String, district: String? = nil) async throws -> [Rated] {
        guard Quarter.bounds(quarter) != nil else { throw HTTPError(.badRequest, message: "quarter is YYYY-Qn, e.g. 2026-Q4") }
        let previous = Quarter.previous(quarter) ?? ""
        let rows = try await database.query("""
            SELECT r.school_code, s.name, r.rating, p.rating, r.reasons::text
            FROM inspection.ratings r LEFT JOIN inspection.schools s ON s.code = r.school_code
            LEFT JOIN inspection.ratings p ON p.school_code = r.school_code AND p.quarter = \(previous)
            WHERE r.quarter = \(quarter) AND (\(district)::text IS NULL OR s.district = \(district)) ORDER BY r.school_code
            """, logger: database.logger)
        var rated: [Rated] = []
        for try await (school, name, rating, before, reasons) in rows.decode((String, String?, String, String?, String).self) {
            let now = RatingChangedV1.Rating(rawValue: rating), then = before.flatMap(RatingChangedV1.Rating.init(rawValue:))
            let movement = then == nil ? "new" : now! > then! ? "up" : now! < then! ? "down" : "same"
            rated.append(Rated(
                schoolCode: school, name: name, rating: rating, previousRating: before, movement: movement,
                reasons: (try? JSONDecoder().decode([String].self, from: Data(reasons.utf8))) ?? []))
        }
        return rated
    }

    struct Coverage: Codable {
        var schools: Int
        var alarmLinked: Double
        var policeOfficer: Double
        var legalVicePrincipal: Double
        var guardPostStaffed: Double
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

/// The quarter's bulletin (通报) as a readable document.
enum Bulletin {
    static let names: [String: String] = ["model": "示范 model", "compliant": "达标 compliant", "non_compliant": "不合格 non-compliant"]
    static let arrows: [String: String] = ["up": "↑", "down": "↓", "same": "=", "new": "new"]

    static func markdown(quarter: String, district: String? = nil, ratings: [InspectionRoutes.Rated]) -> String {
        var lines = ["# School safety bulletin (校园安全通报), \(quarter)\(district.map { ", district \($0)" } ?? "")", ""]
        let counts = Dictionary(grouping: ratings, by: \.rating).mapValues(\.count)
        lines.append("\(ratings.count) schools rated: \(counts["model"] ?? 0) model, \(counts["compliant"] ?? 0) compliant, "
            + "\(counts["non_compliant"] ?? 0) non-compliant; \(ratings.filter { $0.movement == "down" }.count) fell and are put under focus.")
        lines += ["", "| school | rating | movement | why |", "|---|---|---|---|"]
        let rank = ["model": 0, "compliant": 1, "non_compliant": 2]
        for rated in ratings.sorted(by: { (rank[$0.rating] ?? 3, $0.schoolCode) < (rank[$1.rating] ?? 3, $1.schoolCode) }) {
            let school = rated.name.map { "\($0) (\(rated.schoolCode))" } ?? rated.schoolCode
            let movement = (arrows[rated.movement] ?? rated.movement) + (rated.previousRating.map { " from \(names[$0] ?? $0)" } ?? "")
            lines.append("| \(school) | \(names[rated.rating] ?? rated.rating) | \(movement) | \(rated.reasons.joined(separator: "; ")) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
