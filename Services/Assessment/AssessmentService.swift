import Contracts
import Foundation
import PostgresNIO
import ServiceKit
import Storage

/// Assessment (研判): keeps each subject's risk tier. In this first version a
/// report sets a provisional tier from its category and urgency; the factor
/// model and the ledgers come with their own issue.
struct AssessmentService: HuhangService {
    static let name = "assessment"
    static let defaultHTTPPort = 8082
    static let migrations = AssessmentMigrations.all

    init(context: ServiceContext) throws {}

    func register(_ handlers: inout HandlerRegistry) {
        handlers.on(ReportAcceptedV1.self) { report, context in
            for subject in report.subjects where subject.role == .victim || subject.role == .allegedPerpetrator {
                try await assess(subject: subject, report: report, context)
            }
            return .applied
        }
    }

    private func assess(subject: ReportAcceptedV1.Subject, report: ReportAcceptedV1, _ context: HandlerContext) async throws {
        let (tier, score, reasons) = ProvisionalRule.tier(category: report.category, immediateDanger: report.immediateDanger, role: subject.role)
        // Lock the subject's row so replicas handling the same subject serialise.
        try await context.connection.query("""
            INSERT INTO assessment.subjects (subject_id, tier, score, school_code)
            VALUES (\(subject.subjectID), 'low', 0, \(report.schoolCode))
            ON CONFLICT (subject_id) DO NOTHING
            """, logger: context.logger)
        let rows = try await context.connection.query(
            "SELECT tier FROM assessment.subjects WHERE subject_id = \(subject.subjectID) FOR UPDATE", logger: context.logger)
        var previous = RiskTier.low
        var isFirst = true
        for try await text in rows.decode(String.self) { previous = RiskTier(rawValue: text) ?? .low }
        let history = try await context.connection.query(
            "SELECT 1 FROM assessment.assessments WHERE subject_id = \(subject.subjectID) LIMIT 1", logger: context.logger)
        for try await _ in history { isFirst = false }
        // A provisional tier only ever raises a subject's tier.
        let newTier = max(previous, tier)
        let reasonsJSON = String(decoding: try JSONEncoder().encode(reasons), as: UTF8.self)
        try await context.connection.query("""
            INSERT INTO assessment.assessments (subject_id, tier, previous_tier, score, reasons, model_version, event_id)
            VALUES (\(subject.subjectID), \(newTier.rawValue), \(isFirst ? nil : previous.rawValue), \(score),
                    \(reasonsJSON)::jsonb, \(ProvisionalRule.version), \(context.envelope.id))
            """, logger: context.logger)
        guard newTier != previous || isFirst else { return }
        try await context.connection.query("""
            UPDATE assessment.subjects SET tier = \(newTier.rawValue), score = \(score), version = version + 1,
                   updated_at = now(), school_code = coalesce(\(report.schoolCode), school_code)
            WHERE subject_id = \(subject.subjectID)
            """, logger: context.logger)
        try await context.emit(RiskAssessedV1(
            subjectID: subject.subjectID, tier: newTier, previousTier: isFirst ? nil : previous, score: score,
            reasons: reasons, modelVersion: ProvisionalRule.version, provisional: true,
            urgent: report.immediateDanger, schoolCode: report.schoolCode, assessedAt: Date()), subject: subject.subjectID)
    }
}

/// The provisional tier a single report gives a subject.
enum ProvisionalRule {
    static let version = "provisional-1"

    static func tier(category: IncidentCategory, immediateDanger: Bool, role: PersonRole) -> (RiskTier, Double, [String]) {
        if immediateDanger {
            return (.critical, 100, ["immediate danger reported (\(category.rawValue))"])
        }
        switch category {
        case .sexualAbuse, .selfHarm:
            return (.critical, 90, ["\(category.rawValue) reported; hard trigger"])
        case .violence, .bullying, .drugs, .gang:
            return (.high, 60, ["\(category.rawValue) reported as \(role.rawValue)"])
        case .runningAway, .telecomFraud, .campusLoan, .onlineHarm, .theft:
            return (.medium, 35, ["\(category.rawValue) reported as \(role.rawValue)"])
        case .other:
            return (.low, 10, ["other incident reported"])
        }
    }
}

enum AssessmentMigrations {
    static let all: [Migration] = [
        Migration(1, "subjects and assessments", """
            CREATE TABLE assessment.subjects (
                subject_id  text PRIMARY KEY,
                tier        text NOT NULL,
                score       double precision NOT NULL,
                school_code text,
                version     integer NOT NULL DEFAULT 0,
                updated_at  timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE assessment.assessments (
                id            bigserial PRIMARY KEY,
                subject_id    text NOT NULL,
                tier          text NOT NULL,
                previous_tier text,
                score         double precision NOT NULL,
                reasons       jsonb NOT NULL,
                model_version text NOT NULL,
                event_id      text NOT NULL,
                assessed_at   timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX assessments_subject ON assessment.assessments (subject_id, assessed_at);
            """),
    ]
}
