import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO
import ServiceKit
import Storage

/// Assessment's API.
///
/// | route | who |
/// |---|---|
/// | `GET /v1/subjects/{id}/risk` | the district task force; an agency that sent an event about the subject |
/// | `GET /v1/ledgers/{name}?school=&district=&tier=&limit=&after=` | the task force (every entry); an agency (the subjects it reported) |
/// | `GET /v1/stats` | the task force, operators |
/// | `GET /v1/screenings/{intakeId}` | the agency that sent the batch, the task force: rows applied, positive, left out |
/// | `GET /v1/models`, `GET /v1/models/{version}`, `POST /v1/models`, `POST /v1/models/{version}/activate` | operators (reading also the task force) |
///
/// Every read of a subject's assessment or of a ledger writes an audit entry.
enum AssessmentRoutes {
    static func add(to v1: RouterGroup<HuhangRequestContext>, database: Database, model: ActiveModel) {
        v1.get("subjects/:id/risk") { request, context in
            let identity = try context.requireIdentity()
            let subjectID = try context.parameters.require("id")
            guard try await maySee(identity, subjectID: subjectID, database: database) else {
                throw HTTPError(.forbidden, message: "\(identity.agency) has sent nothing about \(subjectID)")
            }
            // Break the glass: the task force may see a sealed record on a stated reason, kept in the audit.
            let query = request.uri.queryParameters
            let includeSealed = query["sealed"].map(String.init) == "include"
            let reason = query["reason"].map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
            if includeSealed {
                guard identity.role == "task-force" else {
                    throw HTTPError(.forbidden, message: "a sealed record is opened by the district task force only")
                }
                guard !reason.isEmpty else {
                    throw HTTPError(.badRequest, message: "reason: state why the sealed record must be opened; it is kept in the audit trail")
                }
            }
            try await Audit.record(
                identity, action: includeSealed ? "break-the-glass" : "read", resource: "subject/\(subjectID)/risk",
                reason: includeSealed ? String(reason.prefix(500)) : nil, in: database)
            guard var risk = try await risk(subjectID, database: database) else {
                throw HTTPError(.notFound, message: "no assessment of \(subjectID)")
            }
            if includeSealed { risk.sealedRecord = try await sealedRecord(subjectID, database: database) }
            return try JSONResponse.make(risk)
        }
        v1.get("ledgers/:name") { request, context in
            let identity = try context.requireIdentity()
            let name = try context.parameters.require("name")
            guard LedgerChangedV1.Ledger(rawValue: name) != nil else {
                throw HTTPError(.notFound, message: "no ledger \(name); ledgers: \(LedgerChangedV1.Ledger.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let query = request.uri.queryParameters
            let limit = min(max(Int(query["limit"].map(String.init) ?? "") ?? 50, 1), 500)
            let after = Int64(query["after"].map(String.init) ?? "") ?? 0
            let tier = query["tier"].map(String.init)
            if let tier, RiskTier(rawValue: tier) == nil { throw HTTPError(.badRequest, message: "tier is one of low, medium, high, critical") }
            try await Audit.record(identity, action: "list", resource: "ledger/\(name)", in: database)
            let everyone = identity.role == "task-force"
            let rows = try await database.query("""
                SELECT e.id, e.subject_id, e.entered_at, e.reason, s.tier, s.score, e.school_code, e.district
                FROM assessment.ledger_entries e JOIN assessment.subjects s USING (subject_id)
                WHERE e.ledger = \(name) AND e.left_at IS NULL AND NOT e.sealed AND e.id > \(after)
                  AND (\(query["school"].map(String.init))::text IS NULL OR e.school_code = \(query["school"].map(String.init)))
                  AND (\(query["district"].map(String.init))::text IS NULL OR e.district = \(query["district"].map(String.init)))
                  AND (\(tier)::text IS NULL OR s.tier = \(tier))
                  AND (\(everyone) OR EXISTS (SELECT 1 FROM assessment.subject_agencies a WHERE a.subject_id = e.subject_id AND a.agency = \(identity.agency)))
                ORDER BY e.id LIMIT \(limit)
                """, logger: database.logger)
            var entries: [LedgerEntry] = []
            for try await (id, subject, entered, reason, tier, score, school, district)
                in rows.decode((Int64, String, Date, String, String, Double, String?, String?).self) {
                entries.append(LedgerEntry(
                    entryID: id, subjectID: subject, enteredAt: entered, reason: reason, tier: tier, score: score, schoolCode: school, district: district))
            }
            return try JSONResponse.make(LedgerPage(ledger: name, entries: entries, next: entries.count == limit ? entries.last?.entryID : nil))
        }
        // How much of a screening batch was applied: the sending agency (by intake's id, the receipt's reportId) or the task force.
        v1.get("screenings/:id") { _, context in
            let identity = try context.requireIdentity()
            let id = try context.parameters.require("id")
            let rows = try await database.query("""
                SELECT agency, school_code, scale, screened_at, rows, positive, rejected_rows, applied_at FROM assessment.screenings WHERE intake_id = \(id)
                """, logger: database.logger)
            for try await (agency, school, scale, screened, applied, positive, rejected, at)
                in rows.decode((String, String, String, Date, Int, Int, Int, Date).self) {
                guard identity.role == "task-force" || identity.agency == agency else {
                    throw HTTPError(.forbidden, message: "a screening is shown to the agency that sent it and the task force")
                }
                return try JSONResponse.make(Screening(
                    intakeID: id, schoolCode: school, scale: scale, screenedAt: screened, appliedRows: applied, positive: positive,
                    rejectedRows: rejected, appliedAt: at))
            }
            throw HTTPError(.notFound, message: "no screening \(id) applied (yet)")
        }
        v1.get("stats") { _, context in
            let identity = try context.requireIdentity()
            guard ["task-force", "operator"].contains(identity.role) else { throw HTTPError(.forbidden, message: "the task force and operators only") }
            return try JSONResponse.make(try await stats(database))
        }
        v1.get("models") { _, context in
            let identity = try context.requireIdentity()
            guard ["task-force", "operator"].contains(identity.role) else { throw HTTPError(.forbidden, message: "the task force and operators only") }
            let rows = try await database.query(
                "SELECT version, active, loaded_at, activated_at FROM assessment.models ORDER BY loaded_at", logger: database.logger)
            var models: [ModelVersion] = []
            for try await (version, active, loaded, activated) in rows.decode((String, Bool, Date, Date?).self) {
                models.append(ModelVersion(version: version, active: active, loadedAt: loaded, activatedAt: activated))
            }
            return try JSONResponse.make(models)
        }
        v1.get("models/:version") { _, context in
            let identity = try context.requireIdentity()
            guard ["task-force", "operator"].contains(identity.role) else { throw HTTPError(.forbidden, message: "the task force and operators only") }
            let version = try context.parameters.require("version")
            let rows = try await database.query(
                "SELECT definition::text FROM assessment.models WHERE version = \(version)", logger: database.logger)
            for try await definition in rows.decode(String.self) {
                // The model as loaded: factors with weights and days, thresholds, triggers, markers, ledgers.
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: definition)))
            }
            throw HTTPError(.notFound, message: "no model \(version); GET /v1/models lists them")
        }
        v1.post("models") { request, context in
            let identity = try context.requireIdentity()
            guard identity.role == "operator" else { throw HTTPError(.forbidden, message: "operators load models") }
            let body = try await request.body.collect(upTo: 1 << 20)
            let candidate: RiskModel
            do {
                candidate = try JSONDecoder().decode(RiskModel.self, from: Data(body.readableBytesView))
            } catch {
                throw HTTPError(.badRequest, message: "the body is not a risk model: \(RequestProblem.describe(error))")
            }
            let problems = candidate.problems()
            if !problems.isEmpty { return try JSONResponse.make(problems, status: .badRequest) }
            let json = String(decoding: try JSONEncoder().encode(candidate), as: UTF8.self)
            let rows = try await database.query("""
                INSERT INTO assessment.models (version, definition) VALUES (\(candidate.version), \(json)::jsonb)
                ON CONFLICT (version) DO NOTHING RETURNING 1
                """, logger: database.logger)
            var inserted = false
            for try await _ in rows { inserted = true }
            guard inserted else { throw HTTPError(.conflict, message: "model \(candidate.version) exists; a changed model is a new version") }
            try await Audit.record(identity, action: "load", resource: "model/\(candidate.version)", in: database)
            return try JSONResponse.make(ModelVersion(version: candidate.version, active: false, loadedAt: Date(), activatedAt: nil), status: .created)
        }
        v1.post("models/:version/activate") { _, context in
            let identity = try context.requireIdentity()
            guard identity.role == "operator" else { throw HTTPError(.forbidden, message: "operators activate models") }
            let version = try context.parameters.require("version")
            let due = try await activate(version, database: database)
            try await Audit.record(identity, action: "activate", resource: "model/\(version)", in: database)
            return try JSONResponse.make(Activation(version: version, subjectsToReassess: due))
        }
    }

    /// Makes a model the active one and marks every subject for re-assessment by the review sweep.
    /// - Returns: How many subjects will be re-assessed.
    static func activate(_ version: String, database: Database) async throws -> Int {
        try await database.withTransaction { connection in
            let exists = try await connection.query("SELECT 1 FROM assessment.models WHERE version = \(version)", logger: database.logger)
            var found = false
            for try await _ in exists { found = true }
            guard found else { throw HTTPError(.notFound, message: "no model \(version)") }
            try await connection.query("UPDATE assessment.models SET active = false WHERE active AND version <> \(version)", logger: database.logger)
            try await connection.query("""
                UPDATE assessment.models SET active = true, activated_at = now() WHERE version = \(version) AND NOT active
                """, logger: database.logger)
            let marked = try await connection.query("""
                WITH due AS (UPDATE assessment.subjects SET review_at = now() WHERE model_version IS DISTINCT FROM \(version) RETURNING 1)
                SELECT count(*)::int FROM due
                """, logger: database.logger)
            for try await count in marked.decode(Int.self) { return count }
            return 0
        }
    }

    static func maySee(_ identity: APIIdentity, subjectID: String, database: Database) async throws -> Bool {
        if identity.role == "task-force" { return true }
        let rows = try await database.query("""
            SELECT 1 FROM assessment.subject_agencies WHERE subject_id = \(subjectID) AND agency = \(identity.agency)
            """, logger: database.logger)
        for try await _ in rows { return true }
        return false
    }

    static func risk(_ subjectID: String, database: Database) async throws -> SubjectRisk? {
        let current = try await database.query("""
            SELECT tier, score, urgent, coalesce(model_version, ''), factors::text, assessed_at, school_code, district, review_at
            FROM assessment.subjects WHERE subject_id = \(subjectID) AND assessed_at IS NOT NULL
            """, logger: database.logger)
        var risk: SubjectRisk?
        let decoder = ContractCoding.decoder()
        for try await (tier, score, urgent, version, factors, at, school, district, review)
            in current.decode((String, Double, Bool, String, String, Date, String?, String?, Date?).self) {
            risk = SubjectRisk(
                subjectID: subjectID, tier: tier, score: score, urgent: urgent, modelVersion: version,
                factors: try decoder.decode([AssessmentStore.FactorRecord].self, from: Data(factors.utf8)), assessedAt: at,
                schoolCode: school, district: district, reviewAt: review, ledgers: [], history: [])
        }
        guard var risk else { return nil }
        let ledgers = try await database.query("""
            SELECT ledger, entered_at, reason, left_at, left_reason FROM assessment.ledger_entries
            WHERE subject_id = \(subjectID) AND NOT sealed ORDER BY id
            """, logger: database.logger)
        for try await (ledger, entered, reason, left, leftReason) in ledgers.decode((String, Date, String, Date?, String?).self) {
            risk.ledgers.append(.init(ledger: ledger, enteredAt: entered, reason: reason, leftAt: left, leftReason: leftReason))
        }
        let history = try await database.query("""
            SELECT tier, previous_tier, score, urgent, model_version, reasons::text, event_id, assessed_at
            FROM assessment.assessments WHERE subject_id = \(subjectID) AND NOT sealed ORDER BY assessed_at DESC, id DESC LIMIT 100
            """, logger: database.logger)
        for try await (tier, previous, score, urgent, version, reasons, cause, at)
            in history.decode((String, String?, Double, Bool, String, String, String, Date).self) {
            risk.history.append(.init(
                tier: tier, previousTier: previous, score: score, urgent: urgent, modelVersion: version,
                reasons: (try? JSONDecoder().decode([String].self, from: Data(reasons.utf8))) ?? [], cause: cause, assessedAt: at))
        }
        return risk
    }

    /// What a seal order hides about a subject: each sealed signal, for the break-the-glass read.
    static func sealedRecord(_ subjectID: String, database: Database) async throws -> [SubjectRisk.SealedSignal] {
        let rows = try await database.query("""
            SELECT factor, kind, at, event_id, detail FROM assessment.signals WHERE subject_id = \(subjectID) AND sealed ORDER BY at, event_id
            """, logger: database.logger)
        var record: [SubjectRisk.SealedSignal] = []
        for try await (factor, kind, at, event, detail) in rows.decode((String, String, Date, String, String).self) {
            record.append(.init(factor: factor, kind: kind, at: at, event: event, detail: detail))
        }
        return record
    }

    static func stats(_ database: Database) async throws -> Stats {
        func counts(_ query: PostgresQuery) async throws -> [String: Int] {
            var result: [String: Int] = [:]
            for try await (key, count) in try await database.query(query, logger: database.logger).decode((String, Int).self) {
                result[key] = count
            }
            return result
        }
        return Stats(
            byTier: try await counts("SELECT tier, count(*)::int FROM assessment.subjects WHERE assessed_at IS NOT NULL GROUP BY tier"),
            byLedger: try await counts("SELECT ledger, count(*)::int FROM assessment.ledger_entries WHERE left_at IS NULL AND NOT sealed GROUP BY ledger"),
            bySchool: try await counts("""
                SELECT school_code, count(*)::int FROM assessment.subjects WHERE school_code IS NOT NULL AND tier <> 'low' GROUP BY school_code
                """),
            byDistrict: try await counts("""
                SELECT district, count(*)::int FROM assessment.subjects WHERE district IS NOT NULL AND tier <> 'low' GROUP BY district
                """))
    }

    struct LedgerEntry: Codable {
        var entryID: Int64
        var subjectID: String
        var enteredAt: Date
        var reason: String
        var tier: String
        var score: Double
        var schoolCode: String?
        var district: String?
        enum CodingKeys: String, CodingKey {
            case entryID = "entryId", subjectID = "subjectId", enteredAt, reason, tier, score, schoolCode, district
        }
    }

    struct LedgerPage: Codable {
        var ledger: String
        var entries: [LedgerEntry]
        /// Pass as `after` for the next page; absent on the last.
        var next: Int64?
    }

    struct SubjectRisk: Codable {
        struct Ledger: Codable {
            var ledger: String
            var enteredAt: Date
            var reason: String
            var leftAt: Date?
            var leftReason: String?
        }

        struct Past: Codable {
            var tier: String
            var previousTier: String?
            var score: Double
            var urgent: Bool
            var modelVersion: String
            var reasons: [String]
            /// The event that caused it, or `review` (ageing out, a new model).
            var cause: String
            var assessedAt: Date
        }

        var subjectID: String
        var tier: String
        var score: Double
        var urgent: Bool
        var modelVersion: String
        var factors: [AssessmentStore.FactorRecord]
        var assessedAt: Date
        var schoolCode: String?
        var district: String?
        /// When a counted signal next ages out.
        var reviewAt: Date?
        var ledgers: [Ledger]
        var history: [Past]
        /// Only on a break-the-glass read (`?sealed=include&reason=…`, the task force): what a seal order hides.
        var sealedRecord: [SealedSignal]?

        struct SealedSignal: Codable {
            var factor: String
            var kind: String
            var at: Date
            var event: String
            var detail: String
        }

        enum CodingKeys: String, CodingKey {
            case subjectID = "subjectId", tier, score, urgent, modelVersion, factors, assessedAt, schoolCode, district, reviewAt, ledgers, history,
                 sealedRecord
        }
    }

    struct Stats: Codable {
        var byTier: [String: Int]
        var byLedger: [String: Int]
        /// Subjects above low, per school.
        var bySchool: [String: Int]
        /// Subjects above low, per district.
        var byDistrict: [String: Int]
    }

    struct Screening: Codable {
        var intakeID: String
        var schoolCode: String
        var scale: String
        var screenedAt: Date
        /// Rows assessment applied: every row intake accepted.
        var appliedRows: Int
        /// Of those, at or over their threshold.
        var positive: Int
        /// Rows intake left out (named in the receipt).
        var rejectedRows: Int
        var appliedAt: Date
        enum CodingKeys: String, CodingKey { case intakeID = "intakeId", schoolCode, scale, screenedAt, appliedRows, positive, rejectedRows, appliedAt }
    }

    struct ModelVersion: Codable {
        var version: String
        var active: Bool
        var loadedAt: Date
        var activatedAt: Date?
    }

    struct Activation: Codable {
        var version: String
        var subjectsToReassess: Int
    }
}
