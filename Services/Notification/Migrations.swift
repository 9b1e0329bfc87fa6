import Storage

enum NotificationMigrations {
    static let all: [Migration] = [
        Migration(1, "deliveries", """
            CREATE TABLE notification.deliveries (
                delivery_id    uuid PRIMARY KEY,
                event_id       text NOT NULL,
                event_type     text NOT NULL,
                correlation_id text NOT NULL,
                recipient      text NOT NULL,
                channel        text NOT NULL,
                body           text NOT NULL,
                delivered_at   timestamptz,
                created_at     timestamptz NOT NULL DEFAULT now(),
                UNIQUE (event_id, recipient, channel)
            );
            CREATE INDEX deliveries_recipient ON notification.deliveries (recipient, delivered_at);
            """),
        Migration(2, "routing rules, endpoints, attempts, retries, acknowledgements", """
            ALTER TABLE notification.deliveries
                ADD COLUMN status          text NOT NULL DEFAULT 'delivered',
                ADD COLUMN address         text,
                ADD COLUMN attempts        integer NOT NULL DEFAULT 0,
                ADD COLUMN next_attempt_at timestamptz,
                ADD COLUMN last_error      text,
                ADD COLUMN critical        boolean NOT NULL DEFAULT false,
                ADD COLUMN ack_due_at      timestamptz,
                ADD COLUMN acked_at        timestamptz,
                ADD COLUMN traceparent     text;
            CREATE INDEX deliveries_pending ON notification.deliveries (next_attempt_at) WHERE status = 'pending';
            CREATE TABLE notification.attempts (
                delivery_id uuid NOT NULL REFERENCES notification.deliveries (delivery_id),
                attempt     integer NOT NULL,
                at          timestamptz NOT NULL,
                ok          boolean NOT NULL,
                detail      text,
                PRIMARY KEY (delivery_id, attempt)
            );
            CREATE TABLE notification.endpoints (
                recipient text NOT NULL,
                channel   text NOT NULL CHECK (channel IN ('webhook', 'sms', 'email')),
                address   text NOT NULL,
                secret    text,
                PRIMARY KEY (recipient, channel)
            );
            CREATE TABLE notification.rules (
                event_type text PRIMARY KEY,
                recipients text[] NOT NULL,
                channels   text[] NOT NULL,
                critical   boolean NOT NULL DEFAULT false
            );
            COMMENT ON TABLE notification.rules IS 'who hears of each event type (roles the event names: unit, escalated_to, task_force, target, school, recipient) and on which channels';
            INSERT INTO notification.rules (event_type, recipients, channels, critical) VALUES
                ('task.assigned.v1', '{unit}', '{inbox,webhook}', false),
                ('task.overdue.v1', '{unit}', '{inbox,webhook}', false),
                ('case.escalated.v1', '{escalated_to}', '{inbox,webhook}', false),
                ('referral.requested.v1', '{target,task_force}', '{inbox,webhook}', false),
                ('hazard.overdue.v1', '{unit,school}', '{inbox,webhook}', false),
                ('rating.changed.v1', '{school}', '{inbox,webhook}', false),
                ('followup.due.v1', '{unit}', '{inbox,webhook}', false),
                ('daily.digest.v1', '{recipient}', '{inbox,webhook}', false),
                ('risk.assessed.v1', '{task_force}', '{inbox,webhook}', true);
            """),
        Migration(3, "escalation of critical notices not acknowledged", """
            ALTER TABLE notification.deliveries
                ADD COLUMN escalated_at  timestamptz,
                ADD COLUMN escalation_of uuid;
            CREATE INDEX deliveries_ack_due ON notification.deliveries (ack_due_at) WHERE critical AND acked_at IS NULL AND escalated_at IS NULL;
            """),
        Migration(4, "SMS and e-mail where a recipient has them", """
            UPDATE notification.rules SET channels = '{inbox,webhook,sms,email}'
            WHERE event_type IN ('task.assigned.v1', 'task.overdue.v1', 'case.escalated.v1', 'referral.requested.v1', 'hazard.overdue.v1',
                                 'followup.due.v1', 'risk.assessed.v1');
            """),
        Migration(5, "each recipient's language for the templates", """
            CREATE TABLE notification.recipients (
                recipient text PRIMARY KEY,
                language  text NOT NULL DEFAULT 'zh' CHECK (language IN ('zh', 'en'))
            );
            """),
        Migration(6, "care teams and guardians as recipients", """
            CREATE TABLE notification.care_team_cases (
                case_id    text PRIMARY KEY,
                changed_at timestamptz NOT NULL,
                closed     boolean NOT NULL DEFAULT false
            );
            CREATE TABLE notification.care_teams (
                case_id text NOT NULL REFERENCES notification.care_team_cases (case_id),
                role    text NOT NULL,
                unit    text,
                contact bytea NOT NULL,
                PRIMARY KEY (case_id, role)
            );
            COMMENT ON COLUMN notification.care_teams.contact IS 'phone or e-mail, sealed with AES-256-GCM (PERSONAL_DATA_KEY); forgotten when the case closes';
            ALTER TABLE notification.deliveries ADD COLUMN sealed_address bytea;
            COMMENT ON COLUMN notification.deliveries.sealed_address IS 'a care-team member''s contact, sealed; opened only to send';
            UPDATE notification.rules SET recipients = recipients || '{care_team:guardian}' WHERE event_type = 'task.assigned.v1';
            UPDATE notification.rules SET recipients = recipients || '{care_team}' WHERE event_type = 'followup.due.v1';
            """),
        // A delivery id arrives as text (an acknowledgement's URL) and is compared as text; index that form.
        Migration(7, "index for delivery ids looked up as text", """
            CREATE INDEX deliveries_id_text ON notification.deliveries ((delivery_id::text));
            """),
        Migration(8, "who acknowledged a notice", """
            ALTER TABLE notification.deliveries ADD COLUMN acked_by text;
            COMMENT ON COLUMN notification.deliveries.acked_by IS 'the person (console user name) who acknowledged, else the unit whose token did';
            """),
        Migration(9, "a change to the notice rules is counted, so that replicas reuse what they read of them until the next", """
            CREATE TRIGGER rules_configuration AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON notification.rules
                FOR EACH STATEMENT EXECUTE FUNCTION notification.configuration_changed();
            """),
    ]
}
