import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Storage

/// The audit trail: who (agency, role, unit and — from the console — the person) read or changed which
/// record through the APIs, and why when a reason is required. Every API route that returns a person's
/// record writes an entry before answering; every route by which a person acts on a case, a task or a
/// notice writes one in the same transaction as the change.
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
        try await database.query(entry(identity, action: action, resource: resource, reason: reason, schema: database.schema),
                                        logger: database.logger)
    }

    /// Records one action in the transaction that makes it, so that no change stands without its entry.
    /// - Parameters:
    ///   - identity: The verified caller.
    ///   - action: What was done, e.g. `acknowledge`.
    ///   - resource: Which record, by id.
    ///   - reason: The stated reason, if any.
    ///   - connection: The connection holding the transaction.
    ///   - database: The service's database (its schema and logger).
    public static func record(
        _ identity: APIIdentity, action: String, resource: String, reason: String? = nil, on connection: PostgresConnection, in database: Database
    ) async throws {
        try await connection.query(entry(identity, action: action, resource: resource, reason: reason, schema: database.schema),
                                   logger: database.logger)
    }

    static func entry(_ identity: APIIdentity, action: String, resource: String, reason: String?, schema: String) -> PostgresQuery {
        """
        INSERT INTO \(unescaped: schema).audit (agency, role, action, resource, reason, person, unit)
        VALUES (\(identity.agency), \(identity.role.name), \(action), \(resource), \(reason), \(identity.person), \(identity.unit))
        """
    }
}

/// `GET /v1/audit?resource=&agency=&person=&limit=&before=`: a service's audit trail, newest first, for the district
/// task force and operators. Every service serves it the same way.
public enum AuditRoutes {
    struct Entry: Codable {
        var id: Int64
        var at: Date
        var agency: String
        var role: String
        var action: String
        var resource: String
        var reason: String?
        /// The person who acted, when they did it in the console.
        var person: String?
        var unit: String?
    }

    /// - Parameters:
    ///   - v1: The service's `/v1` group.
    ///   - database: The service's database.
    public static func add(to v1: RouterGroup<HuhangRequestContext>, database: Database) {
        v1.get("audit") { request, context in
            let identity = try context.requireIdentity()
            try identity.require(.taskForce, .operator, otherwise: "the audit trail is for the task force and operators")
            let query = request.uri.queryParameters
            let resource = query["resource"].map(String.init), agency = query["agency"].map(String.init), person = query["person"].map(String.init)
            let limit = min(max(Int(query["limit"].map(String.init) ?? "") ?? 100, 1), 1000)
            let before = Int64(query["before"].map(String.init) ?? "") ?? Int64.max
            let rows = try await database.query("""
                SELECT id, at, agency, role, action, resource, reason, person, unit FROM \(unescaped: database.schema).audit
                WHERE (\(resource)::text IS NULL OR resource = \(resource)) AND (\(agency)::text IS NULL OR agency = \(agency))
                  AND (\(person)::text IS NULL OR person = \(person)) AND id < \(before)
                ORDER BY id DESC LIMIT \(limit)
                """, logger: database.logger)
            var entries: [Entry] = []
            for try await (id, at, agency, role, action, resource, reason, person, unit)
                in rows.decode((Int64, Date, String, String, String, String, String?, String?, String?).self) {
                entries.append(Entry(
                    id: id, at: at, agency: agency, role: role, action: action, resource: resource, reason: reason, person: person, unit: unit))
            }
            return try JSONResponse.make(entries)
        }
    }
}
