import Foundation
import Storage

enum AssessmentMigrations {
    static var all: [Migration] {
        [
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
            Migration(2, "the factor model: models, signals, ledgers, who may see a subject", """
                CREATE TABLE assessment.models (
                    version      text PRIMARY KEY,
                    definition   jsonb NOT NULL,
                    active       boolean NOT NULL DEFAULT false,
                    loaded_at    timestamptz NOT NULL DEFAULT now(),
                    activated_at timestamptz
                );
                CREATE UNIQUE INDEX models_one_active ON assessment.models (active) WHERE active;
                CREATE TABLE assessment.signals (
                    subject_id  text NOT NULL,
                    factor      text NOT NULL,
                    kind        text NOT NULL CHECK (kind IN ('set', 'clear')),
                    at          timestamptz NOT NULL,
                    event_id    text NOT NULL,
                    detail      text NOT NULL,
                    recorded_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (subject_id, factor, event_id)
                );
                ALTER TABLE assessment.subjects
                    ADD COLUMN urgent        boolean NOT NULL DEFAULT false,
                    ADD COLUMN district      text,
                    ADD COLUMN model_version text,
                    ADD COLUMN factor_ids    text NOT NULL DEFAULT '',
                    ADD COLUMN factors       jsonb NOT NULL DEFAULT '[]',
                    ADD COLUMN review_at     timestamptz,
                    ADD COLUMN assessed_at   timestamptz;
                UPDATE assessment.subjects SET assessed_at = updated_at, review_at = now();
                CREATE INDEX subjects_review ON assessment.subjects (review_at) WHERE review_at IS NOT NULL;
                ALTER TABLE assessment.assessments
                    ADD COLUMN urgent  boolean NOT NULL DEFAULT false,
                    ADD COLUMN factors jsonb NOT NULL DEFAULT '[]';
                CREATE TABLE assessment.ledger_entries (
                    id          bigserial PRIMARY KEY,
                    ledger      text NOT NULL,
                    subject_id  text NOT NULL,
                    entered_at  timestamptz NOT NULL,
                    reason      text NOT NULL,
                    school_code text,
                    district    text,
                    left_at     timestamptz,
                    left_reason text
                );
                CREATE UNIQUE INDEX ledger_entries_current ON assessment.ledger_entries (ledger, subject_id) WHERE left_at IS NULL;
                CREATE INDEX ledger_entries_subject ON assessment.ledger_entries (subject_id);
                CREATE TABLE assessment.subject_agencies (
                    subject_id text NOT NULL,
                    agency     text NOT NULL,
                    PRIMARY KEY (subject_id, agency)
                );
                """),
            Migration(3, "the built-in model, active", """
                INSERT INTO assessment.models (version, definition, active, activated_at)
                VALUES ('\(builtIn.version)', '\(builtIn.json.replacingOccurrences(of: "'", with: "''"))'::jsonb, true, now())
                ON CONFLICT (version) DO NOTHING
                """),
            Migration(4, "sealed records (档案封存): kept, neither counted nor shown", """
                ALTER TABLE assessment.signals
                    ADD COLUMN matter text,
                    ADD COLUMN sealed boolean NOT NULL DEFAULT false;
                UPDATE assessment.signals SET matter = 'offence'
                    WHERE detail LIKE 'case lead%' OR detail LIKE '% reported as alleged_perpetrator%';
                UPDATE assessment.signals SET sealed = true WHERE detail = 'case lead (sealed record)';
                CREATE TABLE assessment.sealed_subjects (
                    subject_id text PRIMARY KEY,
                    sealed_at  timestamptz NOT NULL
                );
                INSERT INTO assessment.sealed_subjects (subject_id, sealed_at)
                    SELECT subject_id, min(recorded_at) FROM assessment.signals WHERE sealed GROUP BY subject_id;
                UPDATE assessment.signals s SET sealed = true
                    FROM assessment.sealed_subjects z WHERE z.subject_id = s.subject_id AND s.matter = 'offence';
                ALTER TABLE assessment.ledger_entries
                    ADD COLUMN events text[],
                    ADD COLUMN sealed boolean NOT NULL DEFAULT false;
                ALTER TABLE assessment.assessments ADD COLUMN sealed boolean NOT NULL DEFAULT false;
                UPDATE assessment.subjects SET review_at = now()
                    WHERE subject_id IN (SELECT subject_id FROM assessment.sealed_subjects);
                """),
            Migration(5, "screening batches applied, as counts", """
                CREATE TABLE assessment.screenings (
                    intake_id     text PRIMARY KEY,
                    agency        text NOT NULL,
                    school_code   text NOT NULL,
                    scale         text NOT NULL,
                    screened_at   timestamptz NOT NULL,
                    rows          integer NOT NULL,
                    positive      integer NOT NULL,
                    rejected_rows integer NOT NULL,
                    applied_at    timestamptz NOT NULL DEFAULT now()
                );
                """),
            // The ledgers a batch's subjects are on now, read with their signals for every batch: without it the
            // planner walked the whole (ledger, subject_id) index for a few subjects (1.1 ms instead of 0.05).
            Migration(6, "current ledger entries by subject", """
                CREATE INDEX ledger_entries_current_subject ON assessment.ledger_entries (subject_id) WHERE left_at IS NULL;
                """),
            // Migration 6 was not enough: a plan made while the table is small (a new deployment's first minute, before
            // autovacuum has analysed it) walks any small index that holds exactly the current entries, and a kept
            // plan stays so as the table grows — 900 pages read for a batch of twenty subjects. The one-open-entry rule
            // is now kept by subject first, and it is the only index of the current entries: the ledger page's
            // (ledger, id) holds left entries too, so it is never the cheaper way to one subject's.
            Migration(7, "current ledger entries keyed by subject, paged by ledger", """
                CREATE UNIQUE INDEX ledger_entries_current_by_subject ON assessment.ledger_entries (subject_id, ledger) WHERE left_at IS NULL;
                DROP INDEX assessment.ledger_entries_current;
                DROP INDEX assessment.ledger_entries_current_subject;
                CREATE INDEX ledger_entries_page ON assessment.ledger_entries (ledger, id);
                """),
            Migration(8, "a change to the risk models is counted, so that replicas reuse the active one until the next", """
                CREATE TRIGGER models_configuration AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON assessment.models
                    FOR EACH STATEMENT EXECUTE FUNCTION assessment.configuration_changed();
                """),
        ]
    }

    /// The shipped model; a service that cannot read it cannot assess, so it stops at once.
    static let builtIn: (version: String, json: String) = {
        do {
            let (model, json) = try RiskModel.builtIn()
            precondition(model.problems().isEmpty, "the built-in risk model is invalid: \(model.problems())")
            return (model.version, json)
        } catch {
            fatalError("the built-in risk model cannot be read: \(error)")
        }
    }()
}
