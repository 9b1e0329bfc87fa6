import Logging
import PostgresNIO
import Storage

/// The audit trail of reads through the APIs: who (agency and role) did what
/// to which record, and why when a reason is required. Every API route that
/// returns a person's record writes an entry before answering.
public enum Audit {
    /// Records one access.
    /// - Parameters:
    ///   - identity: The verified caller.
    ///   - action: What was done, e.g. `read`.
    ///   - resource: Which record, by id (never personal data), e.g. `subject/s-…`.
    ///   - reason: The stated reason, where one is required (opening a sealed case).
    ///   - database: The service's database.
    public static func record(
        _ identity: APIIdentity, action: String, resource: String, reason: String? = nil, in database: Database
    ) async throws {
        try await database.client.query("""
            INSERT INTO \(unescaped: database.schema).audit (agency, role, action, resource, reason)
            VALUES (\(identity.agency), \(identity.role), \(action), \(resource), \(reason))
            """, logger: database.logger)
    }
}
