import Storage

enum IntakeMigrations {
    static let all: [Migration] = [
        Migration(1, "reports, subjects, rejections", """
            CREATE TABLE intake.reports (
                report_id        uuid PRIMARY KEY,
                event_id         text NOT NULL,
                agency           text NOT NULL,
                external_id      text NOT NULL,
                event_type       text NOT NULL,
                category         text NOT NULL,
                immediate_danger boolean NOT NULL,
                school_code      text,
                occurred_at      timestamptz NOT NULL,
                received_at      timestamptz NOT NULL DEFAULT now(),
                content_hash     text NOT NULL,
                UNIQUE (agency, external_id)
            );
            CREATE TABLE intake.report_subjects (
                report_id  uuid NOT NULL REFERENCES intake.reports (report_id),
                subject_id text NOT NULL,
                role       text NOT NULL,
                match_kind text NOT NULL,
                PRIMARY KEY (report_id, subject_id, role)
            );
            CREATE INDEX report_subjects_subject ON intake.report_subjects (subject_id);
            CREATE TABLE intake.rejections (
                id          bigserial PRIMARY KEY,
                event_id    text NOT NULL,
                agency      text,
                event_type  text NOT NULL,
                kind        text NOT NULL,
                reasons     jsonb NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX rejections_agency ON intake.rejections (agency, received_at);
            """),
        Migration(2, "agency registry", """
            CREATE TABLE intake.agencies (
                code        text PRIMARY KEY,
                name        text NOT NULL,
                kind        text NOT NULL,
                event_types text[] NOT NULL,
                active      boolean NOT NULL DEFAULT true,
                created_at  timestamptz NOT NULL DEFAULT now(),
                updated_at  timestamptz NOT NULL DEFAULT now()
            );
            """),
        Migration(3, "event status, for receipts over HTTP", """
            CREATE TABLE intake.event_status (
                event_id    text PRIMARY KEY,
                agency      text NOT NULL,
                event_type  text NOT NULL,
                external_id text,
                status      text NOT NULL,
                reasons     jsonb NOT NULL,
                report_id   text,
                at          timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX event_status_agency ON intake.event_status (agency, at);
            """),
        Migration(4, "every agency event type: accepted events and their subject links, identities sealed", """
            CREATE TABLE intake.accepted (
                intake_id    uuid PRIMARY KEY,
                event_id     text NOT NULL,
                agency       text NOT NULL,
                event_type   text NOT NULL,
                external_id  text NOT NULL,
                content_hash text NOT NULL,
                received_at  timestamptz NOT NULL DEFAULT now(),
                UNIQUE (agency, event_type, external_id)
            );
            INSERT INTO intake.accepted (intake_id, event_id, agency, event_type, external_id, content_hash, received_at)
                SELECT report_id, event_id, agency, event_type, external_id, content_hash, received_at FROM intake.reports;
            CREATE TABLE intake.subject_links (
                intake_id  uuid NOT NULL REFERENCES intake.accepted (intake_id),
                subject_id text NOT NULL,
                role       text NOT NULL,
                match_kind text NOT NULL,
                identity   bytea,
                PRIMARY KEY (intake_id, subject_id, role)
            );
            COMMENT ON COLUMN intake.subject_links.identity IS
                'name, birth date, student number and school as the agency gave them, sealed with AES-256-GCM (PERSONAL_DATA_KEY); never the identity number';
            CREATE INDEX subject_links_subject ON intake.subject_links (subject_id);
            INSERT INTO intake.subject_links (intake_id, subject_id, role, match_kind)
                SELECT report_id, subject_id, role, match_kind FROM intake.report_subjects;
            DROP TABLE intake.report_subjects;
            DROP TABLE intake.reports;
            """),
        Migration(5, "the unit an agency acts as (a school's is its school code)", """
            ALTER TABLE intake.agencies ADD COLUMN unit text;
            COMMENT ON COLUMN intake.agencies.unit IS
                'the unit its tasks, notices and inbox carry: a school''s school code; NULL means the agency code';
            """),
        Migration(6, "every identifier learned for a subject resolves to it; candidate matches for the task force", """
            CREATE TABLE intake.identifiers (
                key        text PRIMARY KEY,
                subject_id text NOT NULL,
                kind       text NOT NULL CHECK (kind IN ('identity', 'student', 'candidate')),
                learned_at timestamptz NOT NULL DEFAULT now()
            );
            COMMENT ON COLUMN intake.identifiers.key IS
                'keyed hash (HMAC-SHA256, SUBJECT_HASH_KEY) of an identity number, a student number with its school, or a name and birth date with the school; never the identifier itself';
            CREATE INDEX identifiers_subject ON intake.identifiers (subject_id);
            -- A subject id made before this table was the keyed hash of the identifier that named it.
            INSERT INTO intake.identifiers (key, subject_id, kind)
                SELECT DISTINCT ON (subject_id) subject_id, subject_id, match_kind FROM intake.subject_links
                WHERE match_kind IN ('identity', 'student')
                ON CONFLICT DO NOTHING;
            CREATE TABLE intake.match_candidates (
                id               bigserial PRIMARY KEY,
                subject_id       text NOT NULL,
                other_subject_id text NOT NULL,
                basis            text NOT NULL,
                intake_id        uuid NOT NULL,
                found_at         timestamptz NOT NULL DEFAULT now(),
                decision         text CHECK (decision IN ('same', 'different')),
                decided_by       text,
                decided_at       timestamptz,
                reason           text
            );
            CREATE UNIQUE INDEX match_candidates_pair ON intake.match_candidates (subject_id, other_subject_id);
            ALTER TABLE intake.event_status ADD COLUMN refused_by text;
            """),
        Migration(7, "how incident reports came in, for the statistics", """
            ALTER TABLE intake.accepted ADD COLUMN channel text;
            CREATE INDEX accepted_received ON intake.accepted (received_at);
            """),
        Migration(8, "how many rows of a batch were accepted and left out, for GET /v1/events/{id}", """
            ALTER TABLE intake.event_status ADD COLUMN accepted_rows integer, ADD COLUMN rejected_rows integer;
            """),
        Migration(9, "a change to the agency registry is counted, so that replicas reuse what they read of it until the next", """
            CREATE TRIGGER agencies_configuration AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON intake.agencies
                FOR EACH STATEMENT EXECUTE FUNCTION intake.configuration_changed();
            """),
    ]
}
