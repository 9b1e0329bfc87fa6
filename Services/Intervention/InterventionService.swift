import Contracts
import Foundation
import PostgresNIO
import ServiceKit
import Storage

/// Intervention (交办): opens a case when a subject reaches high or critical
/// and assigns the first-response task with a deadline from the tier. Care
/// teams, plans, escalation and closure come with their own issue.
struct InterventionService: HuhangService {
    static let name = "intervention"
    static let defaultHTTPPort = 8083
    static let migrations = InterventionMigrations.all

    init(context: ServiceContext) throws {}

    /// Time to first response by tier (DOMAIN.md).
    static func firstResponse(_ tier: RiskTier) -> TimeInterval? {
        switch tier {
        case .critical: 3600
        case .high: 24 * 3600
        case .medium: 5 * 24 * 3600
        case .low: nil
        }
    }

    func register(_ handlers: inout HandlerRegistry) {
        handlers.on(RiskAssessedV1.self) { assessed, context in
            guard assessed.tier >= .high, let due = Self.firstResponse(assessed.tier) else { return .applied }
            let caseID = UUID().uuidString.lowercased()
            // One open case per subject: a new signal attaches to it.
            let opened = try await context.connection.query("""
                INSERT INTO intervention.cases (case_id, subject_id, tier, opened_by_event)
                VALUES (\(caseID)::uuid, \(assessed.subjectID), \(assessed.tier.rawValue), \(context.envelope.id))
                ON CONFLICT (subject_id) WHERE status = 'open' DO NOTHING
                RETURNING case_id::text
                """, logger: context.logger)
            var openCase: String?
            for try await id in opened.decode(String.self) { openCase = id }
            if openCase == nil {
                let rows = try await context.connection.query(
                    "SELECT case_id::text FROM intervention.cases WHERE subject_id = \(assessed.subjectID) AND status = 'open' FOR UPDATE",
                    logger: context.logger)
                for try await id in rows.decode(String.self) { openCase = id }
                try await context.connection.query(
                    "UPDATE intervention.cases SET tier = \(assessed.tier.rawValue) WHERE case_id = \(openCase)::uuid",
                    logger: context.logger)
            }
            guard let caseID = openCase else { throw MessageRejection("no open case could be found or opened") }
            let unit = assessed.schoolCode ?? "district-task-force"
            let taskID = UUID().uuidString.lowercased()
            let dueAt = Date().addingTimeInterval(due)
            try await context.connection.query("""
                INSERT INTO intervention.tasks (task_id, case_id, unit, measure, due_at, status)
                VALUES (\(taskID)::uuid, \(caseID)::uuid, \(unit), 'first_response', \(dueAt), 'assigned')
                """, logger: context.logger)
            let assigned = try await context.emit(TaskAssignedV1(
                taskID: taskID, caseID: caseID, subjectID: assessed.subjectID, unit: unit, measure: "first_response",
                tier: assessed.tier, dueAt: dueAt, urgent: assessed.urgent), subject: caseID)
            try await context.connection.query(
                "UPDATE intervention.tasks SET assigned_event_id = \(assigned.id) WHERE task_id = \(taskID)::uuid",
                logger: context.logger)
            try await chronicle(caseID: caseID, kind: "task_assigned", detail: "\(unit): first_response", context)
            return .applied
        }

        // The case's chronology records that the responsible unit was told.
        handlers.on(NotificationDeliveredV1.self) { delivered, context in
            let rows = try await context.connection.query("""
                SELECT case_id::text FROM intervention.tasks WHERE assigned_event_id = \(delivered.aboutEventID)
                """, logger: context.logger)
            var cases: [String] = []
            for try await caseID in rows.decode(String.self) { cases.append(caseID) }
            for caseID in cases {
                try await chronicle(caseID: caseID, kind: "unit_notified",
                                    detail: "\(delivered.recipient) via \(delivered.channel.rawValue)", context)
            }
            return .applied
        }
    }

    private func chronicle(caseID: String, kind: String, detail: String, _ context: HandlerContext) async throws {
        try await context.connection.query("""
            INSERT INTO intervention.chronology (case_id, kind, detail, event_id)
            VALUES (\(caseID)::uuid, \(kind), \(detail), \(context.envelope.id))
            """, logger: context.logger)
    }
}

enum InterventionMigrations {
    static let all: [Migration] = [
        Migration(1, "cases and tasks", """
            CREATE TABLE intervention.cases (
                case_id         uuid PRIMARY KEY,
                subject_id      text NOT NULL,
                tier            text NOT NULL,
                status          text NOT NULL DEFAULT 'open',
                opened_by_event text NOT NULL,
                opened_at       timestamptz NOT NULL DEFAULT now()
            );
            CREATE UNIQUE INDEX cases_one_open_per_subject ON intervention.cases (subject_id) WHERE status = 'open';
            CREATE TABLE intervention.tasks (
                task_id    uuid PRIMARY KEY,
                case_id    uuid NOT NULL REFERENCES intervention.cases (case_id),
                unit       text NOT NULL,
                measure    text NOT NULL,
                due_at     timestamptz NOT NULL,
                status     text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX tasks_due ON intervention.tasks (due_at) WHERE status IN ('assigned', 'accepted');
            """),
        Migration(2, "case chronology", """
            ALTER TABLE intervention.tasks ADD COLUMN assigned_event_id text;
            CREATE INDEX tasks_assigned_event ON intervention.tasks (assigned_event_id);
            CREATE TABLE intervention.chronology (
                id       bigserial PRIMARY KEY,
                case_id  uuid NOT NULL REFERENCES intervention.cases (case_id),
                kind     text NOT NULL,
                detail   text NOT NULL,
                event_id text NOT NULL,
                at       timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX chronology_case ON intervention.chronology (case_id, at);
            """),
    ]
}
