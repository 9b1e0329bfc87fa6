import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// Who answers for what: units' superiors (`intervention.units`), the departments that answer a school's report
/// of each category (`intervention.departments`), and each school's police officer and legal vice-principal
/// (`intervention.school_units`).
struct UnitStore: Sendable {
    let database: Database
    let configuration: InterventionConfiguration
    var logger: Logger { database.logger }

    /// The units of a school's police officer and legal vice-principal, as the registry names them.
    func schoolUnits(_ schoolCode: String, on connection: PostgresConnection) async throws -> [String] {
        let rows = try await connection.query(prepared: """
            SELECT police_unit, legal_vice_principal_unit FROM intervention.school_units WHERE school_code = \(schoolCode)
            """, logger: logger)
        for try await (police, vice) in rows.decode((String?, String?).self) { return [police, vice].compactMap { $0 } }
        return []
    }

    /// Keeps what the registry says of a school; an older message never overwrites a newer one.
    func setSchoolUnits(_ school: SchoolUpdatedV1, on connection: PostgresConnection) async throws {
        try await connection.query(prepared: """
            INSERT INTO intervention.school_units (school_code, police_unit, legal_vice_principal_unit, updated_at)
            VALUES (\(school.schoolCode), \(school.policeUnit), \(school.legalVicePrincipalUnit), \(school.at))
            ON CONFLICT (school_code) DO UPDATE SET police_unit = EXCLUDED.police_unit,
                legal_vice_principal_unit = EXCLUDED.legal_vice_principal_unit, updated_at = EXCLUDED.updated_at
            WHERE intervention.school_units.updated_at <= EXCLUDED.updated_at
            """, logger: logger)
    }

    /// The unit templates that answer a school's report of this category.
    func departments(for category: IncidentCategory, on connection: PostgresConnection) async throws -> [String] {
        let rows = try await connection.query(prepared: "SELECT units FROM intervention.departments WHERE category = \(category.rawValue)", logger: logger)
        for try await units in rows.decode([String].self) { return units }
        return Departments.defaults[category] ?? [configuration.taskForceUnit]
    }

    /// Sets the units that answer a school's report of a category.
    func setDepartments(_ units: [String], for category: IncidentCategory) async throws {
        try await database.query("""
            INSERT INTO intervention.departments (category, units) VALUES (\(category.rawValue), \(units)) ON CONFLICT (category) DO UPDATE SET units = EXCLUDED.units
            """)
    }

    /// Sets the unit a late task of `unit` escalates to.
    func setSuperior(_ superior: String, of unit: String) async throws {
        try await database.query("""
            INSERT INTO intervention.units (unit, superior) VALUES (\(unit), \(superior))
            ON CONFLICT (unit) DO UPDATE SET superior = EXCLUDED.superior
            """)
    }
}
