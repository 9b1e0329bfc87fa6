import Foundation
import Logging
import PostgresNIO

/// One versioned change to a service's schema.
///
/// Migrations live in the service's folder, are numbered from 1 without
/// gaps, and never change once released; a change is a new migration.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    /// SQL to run; may hold several statements, each ending with a semicolon
    /// at the end of a line. `{schema}` is replaced by the service's schema.
    public let sql: String

    public init(_ version: Int, _ name: String, _ sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Applies migrations at start.
///
/// Safe when several replicas start at once: the whole run holds a
/// transaction-level advisory lock keyed by the schema, so one replica
/// migrates while the others wait and then find nothing left to do.
public enum Migrator {
    /// The platform's own tables in every service schema: migrations record, inbox, outbox.
    static let platform: [Migration] = [
        Migration(1, "inbox and outbox", """
            CREATE TABLE {schema}.inbox (
                message_id  text PRIMARY KEY,
                event_type  text NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX inbox_received_at ON {schema}.inbox (received_at);
            CREATE TABLE {schema}.outbox (
                id              bigserial PRIMARY KEY,
                message_id      text NOT NULL UNIQUE,
                exchange        text NOT NULL,
                routing_key     text NOT NULL,
                properties      jsonb NOT NULL,
                body            bytea NOT NULL,
                created_at      timestamptz NOT NULL DEFAULT now(),
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                attempts        integer NOT NULL DEFAULT 0,
                last_error      text,
                sent_at         timestamptz
            );
            CREATE INDEX outbox_unsent ON {schema}.outbox (id) WHERE sent_at IS NULL;
            CREATE INDEX outbox_sent_at ON {schema}.outbox (sent_at) WHERE sent_at IS NOT NULL;
            """),
        Migration(2, "audit of API reads", """
            CREATE TABLE {schema}.audit (
                id       bigserial PRIMARY KEY,
                at       timestamptz NOT NULL DEFAULT now(),
                agency   text NOT NULL,
                role     text NOT NULL,
                action   text NOT NULL,
                resource text NOT NULL,
                reason   text
            );
            CREATE INDEX audit_resource ON {schema}.audit (resource, at);
            CREATE INDEX audit_agency ON {schema}.audit (agency, at);
            """),
        Migration(3, "the person in the audit", """
            ALTER TABLE {schema}.audit ADD COLUMN person text, ADD COLUMN unit text;
            COMMENT ON COLUMN {schema}.audit.person IS 'the console user who acted, when a person signed in to the console made the call';
            CREATE INDEX audit_person ON {schema}.audit (person, at) WHERE person IS NOT NULL;
            """),
        // The trigger function runs as the schema's owner, so that an operator's role allowed to change a table may
        // count the change without a grant on the counter. A service's migration adds
        // `CREATE TRIGGER … AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {schema}.<table> FOR EACH STATEMENT
        // EXECUTE FUNCTION {schema}.configuration_changed()` to each table people set that its handlers read through
        // `HandlerContext.readOnce`.
        Migration(4, "the version of what people set", """
            CREATE TABLE {schema}.configuration_version (
                one     boolean PRIMARY KEY DEFAULT true CHECK (one),
                version bigint NOT NULL
            );
            INSERT INTO {schema}.configuration_version (version) VALUES (0);
            COMMENT ON TABLE {schema}.configuration_version IS 'counts the changes to the tables people set (agencies, notice rules, risk models…); the inbox claim reads it, so that a replica reuses what it read of those tables while the count stays the same';
            CREATE FUNCTION {schema}.configuration_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ BEGIN UPDATE {schema}.configuration_version SET version = version + 1; RETURN NULL; END $$;
            """),
    ]

    /// Creates the schema if needed and applies what is missing: first the
    /// platform's migrations, then the service's.
    /// - Parameters:
    ///   - migrations: The service's migrations, in order.
    ///   - database: The service's database.
    public static func migrate(_ migrations: [Migration], on database: Database) async throws {
        let schema = database.schema
        try await database.withTransaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(schema)))", logger: database.logger)
            // A schema the operator made for the service's own role (least privilege: the role may not create
            // schemas) is used as it is; only a development database has the service create it.
            let existing = try await connection.query("SELECT 1 FROM pg_namespace WHERE nspname = \(schema)", logger: database.logger)
            var exists = false
            for try await _ in existing { exists = true }
            if !exists {
                try await connection.query("CREATE SCHEMA \(unescaped: schema)", logger: database.logger)
            }
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS \(unescaped: schema).schema_migrations (
                    track      text NOT NULL,
                    version    integer NOT NULL,
                    name       text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (track, version)
                )
                """, logger: database.logger)
            for (track, list) in [("platform", platform), ("service", migrations)] {
                var applied = Set<Int>()
                let rows = try await connection.query(
                    "SELECT version FROM \(unescaped: schema).schema_migrations WHERE track = \(track)",
                    logger: database.logger)
                for try await version in rows.decode(Int.self) { applied.insert(version) }
                for (index, migration) in list.enumerated() {
                    guard migration.version == index + 1 else {
                        throw StorageError(.migrationFailed, "\(track) migrations must be numbered 1, 2, 3… without gaps")
                    }
                    if applied.contains(migration.version) { continue }
                    let sql = migration.sql.replacingOccurrences(of: "{schema}", with: schema)
                    do {
                        for statement in statements(sql) {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: database.logger)
                        }
                    } catch {
                        throw StorageError(.migrationFailed, "\(schema) \(track) migration \(migration.version) (\(migration.name)): \(String(reflecting: error))")
                    }
                    try await connection.query("""
                        INSERT INTO \(unescaped: schema).schema_migrations (track, version, name)
                        VALUES (\(track), \(migration.version), \(migration.name))
                        """, logger: database.logger)
                    database.logger.info("migration applied", metadata: [
                        "db.schema": "\(schema)", "migration.track": "\(track)", "migration.version": "\(migration.version)",
                    ])
                }
            }
        }
    }

    /// Splits SQL at semicolons that end a line (the extended query protocol runs one statement at a time).
    static func statements(_ sql: String) -> [String] {
        sql.components(separatedBy: ";\n")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }
            .filter { !$0.isEmpty }
    }
}
