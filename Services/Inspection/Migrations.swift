import Storage

enum InspectionMigrations {
    static let all: [Migration] = [
        Migration(1, "incidents per school and quarter", """
            CREATE TABLE inspection.school_incidents (
                school_code text NOT NULL,
                quarter     text NOT NULL,
                incidents   integer NOT NULL,
                PRIMARY KEY (school_code, quarter)
            );
            """),
        Migration(2, "schools, the checklist, inspections, hazards, venues, ratings", """
            CREATE TABLE inspection.schools (
                code                 text PRIMARY KEY,
                name                 text,
                type                 text CHECK (type IN ('kindergarten', 'primary', 'middle', 'vocational')),
                district             text,
                police_officer       text,
                legal_vice_principal text,
                guard_posts          integer NOT NULL DEFAULT 0,
                updated_at           timestamptz NOT NULL DEFAULT now()
            );
            INSERT INTO inspection.schools (code, district)
                SELECT DISTINCT school_code, CASE WHEN school_code ~ '^[0-9]{6}' THEN substr(school_code, 1, 6) END FROM inspection.school_incidents;
            CREATE TABLE inspection.checklist (
                item         text PRIMARY KEY,
                severity     text NOT NULL CHECK (severity IN ('minor', 'major', 'critical')),
                rectify_days integer NOT NULL CHECK (rectify_days > 0),
                unit         text NOT NULL
            );
            COMMENT ON COLUMN inspection.checklist.unit IS 'who rectifies: {school} is the school, {district} its six-digit division code';
            INSERT INTO inspection.checklist (item, severity, rectify_days, unit) VALUES
                ('one_key_alarm', 'critical', 3, '{school}'),
                ('video_surveillance', 'major', 7, '{school}'),
                ('guards_on_duty', 'major', 3, '{school}'),
                ('guard_post_staffed', 'major', 7, 'psb-{district}'),
                ('fire_facilities', 'critical', 7, 'fire-{district}'),
                ('electricity_and_gas', 'major', 7, '{school}'),
                ('closed_campus', 'minor', 14, '{school}'),
                ('anti_bullying_mailbox', 'minor', 14, '{school}'),
                ('psychological_teacher', 'major', 30, 'education-{district}');
            CREATE TABLE inspection.inspections (
                inspection_id text PRIMARY KEY,
                school_code   text NOT NULL,
                kind          text NOT NULL,
                unit          text NOT NULL,
                inspected_at  timestamptz NOT NULL,
                passed        integer NOT NULL,
                failed        integer NOT NULL
            );
            CREATE INDEX inspections_school ON inspection.inspections (school_code, inspected_at);
            CREATE TABLE inspection.checks (
                inspection_id text NOT NULL REFERENCES inspection.inspections (inspection_id),
                item          text NOT NULL,
                passed        boolean NOT NULL,
                note          text,
                PRIMARY KEY (inspection_id, item)
            );
            CREATE TABLE inspection.hazards (
                hazard_id     uuid PRIMARY KEY,
                school_code   text NOT NULL,
                item          text NOT NULL,
                severity      text NOT NULL,
                unit          text NOT NULL,
                due_at        timestamptz NOT NULL,
                inspection_id text NOT NULL,
                inspected_by  text NOT NULL,
                note          text,
                reported_at   timestamptz NOT NULL,
                closed_at     timestamptz,
                closed_by     text,
                overdue_at    timestamptz
            );
            CREATE UNIQUE INDEX hazards_one_open ON inspection.hazards (school_code, item) WHERE closed_at IS NULL;
            CREATE INDEX hazards_due ON inspection.hazards (due_at) WHERE closed_at IS NULL AND overdue_at IS NULL;
            CREATE INDEX hazards_unit ON inspection.hazards (unit);
            CREATE TABLE inspection.venues (
                venue_key  text PRIMARY KEY,
                kind       text NOT NULL,
                name       text NOT NULL,
                address    text,
                licence    text,
                flagged_at timestamptz
            );
            CREATE TABLE inspection.venue_findings (
                intake_id  text PRIMARY KEY,
                venue_key  text NOT NULL REFERENCES inspection.venues (venue_key),
                found_at   timestamptz NOT NULL,
                minors     integer NOT NULL,
                activities text[] NOT NULL,
                action     text NOT NULL,
                agency     text NOT NULL
            );
            CREATE INDEX venue_findings_venue ON inspection.venue_findings (venue_key, found_at);
            CREATE TABLE inspection.ratings (
                school_code text NOT NULL,
                quarter     text NOT NULL,
                rating      text NOT NULL,
                reasons     jsonb NOT NULL,
                facts       jsonb NOT NULL,
                computed_at timestamptz NOT NULL,
                PRIMARY KEY (school_code, quarter)
            );
            """),
        // Hazard ids are compared as text; index that form.
        Migration(3, "index for hazard ids looked up as text", """
            CREATE INDEX hazards_id_text ON inspection.hazards ((hazard_id::text));
            """),
        Migration(4, "the units of a school's police officer and legal vice-principal", """
            ALTER TABLE inspection.schools
                ADD COLUMN police_unit               text,
                ADD COLUMN legal_vice_principal_unit text;
            """),
        Migration(5, "venues: their district, and which findings were breaches", """
            ALTER TABLE inspection.venues ADD COLUMN district text;
            ALTER TABLE inspection.venue_findings ADD COLUMN breach boolean NOT NULL DEFAULT false;
            """),
    ]
}
