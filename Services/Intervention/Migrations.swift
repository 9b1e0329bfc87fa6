import Storage

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
        Migration(3, "case lifecycle, care teams, escalation timers, units", """
            ALTER TABLE intervention.cases
                ADD COLUMN school_code text,
                ADD COLUMN reason      text NOT NULL DEFAULT '',
                ADD COLUMN closed_at   timestamptz,
                ADD COLUMN closed_by   text,
                ADD COLUMN review      text,
                ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();
            ALTER TABLE intervention.tasks
                ADD COLUMN subject_id   text,
                ADD COLUMN note         text,
                ADD COLUMN reason       text,
                ADD COLUMN updated_at   timestamptz NOT NULL DEFAULT now(),
                ADD COLUMN completed_at timestamptz;
            UPDATE intervention.tasks t SET subject_id = c.subject_id FROM intervention.cases c WHERE c.case_id = t.case_id;
            CREATE INDEX tasks_unit ON intervention.tasks (unit, status);
            CREATE INDEX tasks_case ON intervention.tasks (case_id);
            COMMENT ON COLUMN intervention.chronology.event_id IS 'who: event:<id>, api:<agency>/<role> or timer';
            CREATE TABLE intervention.team_members (
                case_id  uuid NOT NULL REFERENCES intervention.cases (case_id),
                role     text NOT NULL,
                identity bytea NOT NULL,
                PRIMARY KEY (case_id, role)
            );
            COMMENT ON COLUMN intervention.team_members.identity IS 'name, contact and unit, sealed with AES-256-GCM (PERSONAL_DATA_KEY)';
            CREATE TABLE intervention.units (
                unit     text PRIMARY KEY,
                superior text NOT NULL
            );
            CREATE TABLE intervention.timers (
                task_id      uuid NOT NULL REFERENCES intervention.tasks (task_id),
                step         integer NOT NULL,
                due_at       timestamptz NOT NULL,
                fired_at     timestamptz,
                cancelled_at timestamptz,
                PRIMARY KEY (task_id, step)
            );
            CREATE INDEX timers_due ON intervention.timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;
            """),
        Migration(4, "sealing, follow-up visits, daily digests", """
            ALTER TABLE intervention.cases
                ADD COLUMN sealed       boolean NOT NULL DEFAULT false,
                ADD COLUMN sealed_order text,
                ADD COLUMN sealed_at    timestamptz;
            CREATE INDEX cases_opened ON intervention.cases (opened_at);
            CREATE INDEX cases_closed ON intervention.cases (closed_at) WHERE closed_at IS NOT NULL;
            CREATE INDEX tasks_created ON intervention.tasks (created_at);
            CREATE INDEX tasks_completed ON intervention.tasks (completed_at) WHERE completed_at IS NOT NULL;
            CREATE TABLE intervention.sealed_subjects (
                subject_id text PRIMARY KEY,
                order_ref  text NOT NULL,
                sealed_at  timestamptz NOT NULL
            );
            CREATE TABLE intervention.seal_access (
                id         bigserial PRIMARY KEY,
                case_id    uuid NOT NULL REFERENCES intervention.cases (case_id),
                agency     text NOT NULL,
                role       text NOT NULL,
                reason     text NOT NULL,
                granted_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL
            );
            CREATE INDEX seal_access_case ON intervention.seal_access (case_id, agency, role, expires_at);
            CREATE TABLE intervention.followups (
                id           bigserial PRIMARY KEY,
                case_id      uuid NOT NULL REFERENCES intervention.cases (case_id),
                due_at       timestamptz NOT NULL,
                visited_at   timestamptz,
                recorded_by  text,
                note         text,
                notified_at  timestamptz,
                cancelled_at timestamptz
            );
            CREATE UNIQUE INDEX followups_one_pending ON intervention.followups (case_id) WHERE visited_at IS NULL AND cancelled_at IS NULL;
            CREATE INDEX followups_due ON intervention.followups (due_at) WHERE visited_at IS NULL AND notified_at IS NULL AND cancelled_at IS NULL;
            CREATE TABLE intervention.digests (
                day     date PRIMARY KEY,
                sent_at timestamptz NOT NULL
            );
            """),
        Migration(5, "referrals, and which departments answer a school's report", """
            CREATE TABLE intervention.referrals (
                referral_id  text PRIMARY KEY,
                kind         text NOT NULL,
                case_id      uuid REFERENCES intervention.cases (case_id),
                task_id      uuid REFERENCES intervention.tasks (task_id),
                subject_id   text,
                from_agency  text NOT NULL,
                urgent       boolean NOT NULL DEFAULT false,
                status       text NOT NULL DEFAULT 'open',
                outcome      text,
                note         text,
                requested_at timestamptz NOT NULL,
                resolved_at  timestamptz,
                resolved_by  text
            );
            CREATE INDEX referrals_open ON intervention.referrals (kind, requested_at) WHERE status = 'open';
            ALTER TABLE intervention.tasks ADD COLUMN seq bigserial;
            CREATE TABLE intervention.departments (
                category text PRIMARY KEY,
                units    text[] NOT NULL
            );
            """),
        // Ids arrive as text (in events, a unit's feedback, a URL) and are compared as text, so that an id
        // that is not a UUID finds nothing instead of failing the query; index that text form, or every such
        // lookup reads the whole table (the pipeline benchmark saw each task.assigned and feedback scan all tasks).
        Migration(6, "indexes for ids looked up as text", """
            CREATE INDEX tasks_id_text ON intervention.tasks ((task_id::text));
            CREATE INDEX tasks_case_text ON intervention.tasks ((case_id::text), measure);
            CREATE INDEX cases_id_text ON intervention.cases ((case_id::text));
            CREATE INDEX timers_task_text ON intervention.timers ((task_id::text));
            CREATE INDEX followups_case_text ON intervention.followups ((case_id::text));
            CREATE INDEX team_members_case_text ON intervention.team_members ((case_id::text));
            CREATE INDEX chronology_case_text ON intervention.chronology ((case_id::text), at);
            """),
        Migration(7, "who stands beside each school: the units of its police officer and legal vice-principal", """
            CREATE TABLE intervention.school_units (
                school_code               text PRIMARY KEY,
                police_unit               text,
                legal_vice_principal_unit text,
                updated_at                timestamptz NOT NULL
            );
            """),
        Migration(8, "which call or report asked for a referral", """
            ALTER TABLE intervention.referrals
                ADD COLUMN from_intake_id  text,
                ADD COLUMN from_event_type text;
            """),
        Migration(9, "the person who broke the glass", """
            ALTER TABLE intervention.seal_access ADD COLUMN person text;
            COMMENT ON COLUMN intervention.seal_access.person IS 'the console user who stated the reason; the window opens to them alone';
            """),
        Migration(10, "a change to the departments that answer a school's report is counted, so that replicas reuse what they read of them until the next", """
            CREATE TRIGGER departments_configuration AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON intervention.departments
                FOR EACH STATEMENT EXECUTE FUNCTION intervention.configuration_changed();
            """),
    ]
}
