import Contracts
import Logging
import PostgresNIO
import Storage

/// The agency registry (`intake.agencies`): who may publish on `huhang.intake`, and what.
struct AgencyStore: Sendable {
    let database: Database

    /// Whether `agency` may send `type`, and the unit it acts as; the reason when it may not.
    /// - Parameters:
    ///   - agency: The sender's code (its broker login).
    ///   - type: The event type it sent.
    ///   - connection: The caller's transaction.
    func authorize(_ agency: String, type: String, on connection: PostgresConnection, logger: Logger) async throws -> AgencyAuthorization {
        let rows = try await connection.query(prepared: 
            "SELECT active, event_types, coalesce(unit, code), kind FROM intake.agencies WHERE code = \(agency)", logger: logger)
        for try await (active, types, unit, kind) in rows.decode((Bool, [String], String, String).self) {
            return Agency.authorization(agency, type: type, active: active, eventTypes: types, unit: unit, kind: AgencyKind(rawValue: kind) ?? .other)
        }
        return .refused("agency \(agency) is not registered with Huhang")
    }

    /// The same check outside a transaction.
    func authorize(_ agency: String, type: String) async throws -> AgencyAuthorization {
        try await database.withConnection { connection in
            try await authorize(agency, type: type, on: connection, logger: database.logger)
        }
    }

    /// Registers an agency, or replaces what the registry holds of it.
    /// - Parameter alongside: Run in the same transaction (the audit entry of an operator's change); nothing by default.
    func upsert(_ agency: Agency, alongside: (PostgresConnection) async throws -> Void = { _ in }) async throws {
        try await database.withTransaction { connection in
            try await connection.query("""
                INSERT INTO intake.agencies (code, name, kind, event_types, active, unit)
                VALUES (\(agency.code), \(agency.name), \(agency.kind.rawValue), \(agency.eventTypes), \(agency.active), \(agency.unit))
                ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                    event_types = excluded.event_types, active = excluded.active, unit = excluded.unit, updated_at = now()
                """, logger: database.logger)
            try await alongside(connection)
        }
    }

    /// Every registered agency, by code.
    func list() async throws -> [Agency] {
        let rows = try await database.query("SELECT code, name, kind, event_types, active, unit FROM intake.agencies ORDER BY code")
        var agencies: [Agency] = []
        for try await (code, name, kind, types, active, unit) in rows.decode((String, String, String, [String], Bool, String?).self) {
            agencies.append(Agency(code: code, name: name, kind: AgencyKind(rawValue: kind) ?? .other, eventTypes: types, active: active, unit: unit))
        }
        return agencies
    }
}
