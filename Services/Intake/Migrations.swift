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
    ]
}
