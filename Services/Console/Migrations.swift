import Storage

enum ConsoleMigrations {
    static let all: [Migration] = [
        Migration(1, "people, sessions, sign-in attempts", """
            CREATE TABLE console.people (
                person_id        uuid PRIMARY KEY,
                username         text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
                display_name     text NOT NULL,
                agency           text NOT NULL,
                unit             text NOT NULL,
                role             text NOT NULL CHECK (role IN ('task-force', 'caseworker', 'education', 'operator')),
                password_hash    text NOT NULL,
                totp_secret      bytea,
                totp_enrolled_at timestamptz,
                language         text NOT NULL DEFAULT 'zh' CHECK (language IN ('zh', 'en')),
                active           boolean NOT NULL DEFAULT true,
                created_at       timestamptz NOT NULL DEFAULT now(),
                updated_at       timestamptz NOT NULL DEFAULT now()
            );
            COMMENT ON COLUMN console.people.password_hash IS 'bcrypt, cost 12';
            COMMENT ON COLUMN console.people.totp_secret IS 'the authenticator secret, sealed with AES-256-GCM (PERSONAL_DATA_KEY)';
            CREATE TABLE console.sessions (
                token_hash   text PRIMARY KEY,
                person_id    uuid NOT NULL REFERENCES console.people (person_id) ON DELETE CASCADE,
                stage        text NOT NULL CHECK (stage IN ('password', 'signed_in')),
                csrf         text NOT NULL,
                created_at   timestamptz NOT NULL,
                last_seen_at timestamptz NOT NULL
            );
            COMMENT ON COLUMN console.sessions.token_hash IS 'SHA-256 of the cookie''s token; the token itself is never stored';
            CREATE INDEX sessions_person ON console.sessions (person_id);
            CREATE INDEX sessions_seen ON console.sessions (last_seen_at);
            CREATE TABLE console.sign_in_attempts (
                id        bigserial PRIMARY KEY,
                username  text NOT NULL,
                at        timestamptz NOT NULL,
                succeeded boolean NOT NULL
            );
            CREATE INDEX sign_in_attempts_user ON console.sign_in_attempts (username, at);
            """),
    ]
}
