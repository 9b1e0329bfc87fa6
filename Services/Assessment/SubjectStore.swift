import Contracts
import Foundation
import Logging
import PostgresNIO
import Storage

/// Reads of the assessment of subjects: a subject's risk with its explanation and history, the watch
/// ledgers (台账), who may see a subject, the counts by tier, ledger, school and district.
struct SubjectStore: Sendable {
    let database: Database

    /// Whether an agency sent anything about a subject (the task force sees everyone; checked by the caller).
    func hasReported(_ agency: String, subjectID: String) async throws -> Bool {
        let rows = try await database.query("""
            SELECT 1 FROM assessment.subject_agencies WHERE subject_id = \(subjectID) AND agency = \(agency)
            """)
        for try await _ in rows { return true }
        return false
    }

    /// One page of a ledger's open entries, oldest first.
    /// - Parameters:
    ///   - filter: Which entries.
    ///   - reportedBy: Only subjects this agency reported; nil for every entry (the task force).
    func ledgerPage(_ filter: LedgerFilter, reportedBy agency: String?) async throws -> LedgerPage {
        let rows = try await database.query("""
            SELECT e.id, e.subject_id, e.entered_at, e.reason, s.tier, s.score, e.school_code, e.district
            FROM assessment.ledger_entries e JOIN assessment.subjects s USING (subject_id)
            WHERE e.ledger = \(filter.ledger.rawValue) AND e.left_at IS NULL AND NOT e.sealed AND e.id > \(filter.after)
              AND (\(filter.school)::text IS NULL OR e.school_code = \(filter.school))
              AND (\(filter.district)::text IS NULL OR e.district = \(filter.district))
              AND (\(filter.since)::timestamptz IS NULL OR e.entered_at >= \(filter.since))
              AND (\(filter.tier?.rawValue)::text IS NULL OR s.tier = \(filter.tier?.rawValue))
              AND (\(agency)::text IS NULL OR EXISTS (SELECT 1 FROM assessment.subject_agencies a WHERE a.subject_id = e.subject_id AND a.agency = \(agency)))
            ORDER BY e.id LIMIT \(filter.limit)
            """)
        var entries: [LedgerEntry] = []
        for try await (id, subject, entered, reason, tier, score, school, district)
            in rows.decode((Int64, String, Date, String, String, Double, String?, String?).self) {
            entries.append(LedgerEntry(
                entryID: id, subjectID: subject, enteredAt: entered, reason: reason, tier: tier, score: score, schoolCode: school, district: district))
        }
        return LedgerPage(ledger: filter.ledger.rawValue, entries: entries, next: entries.count == filter.limit ? entries.last?.entryID : nil)
    }

    func risk(_ subjectID: String) async throws -> SubjectRisk? {
        let current = try await database.query("""
            SELECT tier, score, urgent, coalesce(model_version, ''), factors::text, assessed_at, school_code, district, review_at
            FROM assessment.subjects WHERE subject_id = \(subjectID) AND assessed_at IS NOT NULL
            """)
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
            """)
        for try await (ledger, entered, reason, left, leftReason) in ledgers.decode((String, Date, String, Date?, String?).self) {
            risk.ledgers.append(.init(ledger: ledger, enteredAt: entered, reason: reason, leftAt: left, leftReason: leftReason))
        }
        let history = try await database.query("""
            SELECT tier, previous_tier, score, urgent, model_version, reasons::text, event_id, assessed_at
            FROM assessment.assessments WHERE subject_id = \(subjectID) AND NOT sealed ORDER BY assessed_at DESC, id DESC LIMIT 100
            """)
        for try await (tier, previous, score, urgent, version, reasons, cause, at)
            in history.decode((String, String?, Double, Bool, String, String, String, Date).self) {
            risk.history.append(.init(
                tier: tier, previousTier: previous, score: score, urgent: urgent, modelVersion: version,
                reasons: (try? JSONDecoder().decode([String].self, from: Data(reasons.utf8))) ?? [], cause: cause, assessedAt: at))
        }
        return risk
    }

    /// What a seal order hides about a subject: each sealed signal, for the break-the-glass read.
    func sealedRecord(_ subjectID: String) async throws -> [SubjectRisk.SealedSignal] {
        let rows = try await database.query("""
            SELECT factor, kind, at, event_id, detail FROM assessment.signals WHERE subject_id = \(subjectID) AND sealed ORDER BY at, event_id
            """)
        var record: [SubjectRisk.SealedSignal] = []
        for try await (factor, kind, at, event, detail) in rows.decode((String, String, Date, String, String).self) {
            record.append(.init(factor: factor, kind: kind, at: at, event: event, detail: detail))
        }
        return record
    }

    /// Subjects by tier, open ledger entries by ledger, subjects above low by school and district.
    func statistics() async throws -> Stats {
        func counts(_ query: PostgresQuery) async throws -> [String: Int] {
            var result: [String: Int] = [:]
            for try await (key, count) in try await database.query(query).decode((String, Int).self) {
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

    /// Which entries of a ledger to list.
    struct LedgerFilter: Sendable {
        var ledger: LedgerChangedV1.Ledger
        var school: String?
        var district: String?
        var tier: RiskTier?
        /// Entered on or after this time.
        var since: Date?
        /// Entries after this id (the previous page's `next`).
        var after: Int64 = 0
        /// At most this many, 1 to 500.
        var limit: Int = 50
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
}
