import Contracts
import Foundation
import Logging
import PostgresNIO
import Storage

/// The risk models (`assessment.models`): loaded versions, the active one.
struct ModelStore: Sendable {
    let database: Database

    /// Every loaded model, oldest first.
    func list() async throws -> [ModelVersion] {
        let rows = try await database.query("SELECT version, active, loaded_at, activated_at FROM assessment.models ORDER BY loaded_at")
        var models: [ModelVersion] = []
        for try await (version, active, loaded, activated) in rows.decode((String, Bool, Date, Date?).self) {
            models.append(ModelVersion(version: version, active: active, loadedAt: loaded, activatedAt: activated))
        }
        return models
    }

    /// A model as loaded (JSON), or nil.
    func definition(_ version: String) async throws -> String? {
        let rows = try await database.query("SELECT definition::text FROM assessment.models WHERE version = \(version)")
        for try await definition in rows.decode(String.self) { return definition }
        return nil
    }

    /// Loads a model, inactive.
    /// - Returns: When it was loaded; nil when the version exists already.
    func insert(_ model: RiskModel) async throws -> Date? {
        let json = String(decoding: try JSONEncoder().encode(model), as: UTF8.self)
        let rows = try await database.query("""
            INSERT INTO assessment.models (version, definition) VALUES (\(model.version), \(json)::jsonb)
            ON CONFLICT (version) DO NOTHING RETURNING loaded_at
            """)
        for try await loadedAt in rows.decode(Date.self) { return loadedAt }
        return nil
    }

    /// Makes a model the active one and marks every subject for re-assessment by the review sweep.
    /// - Returns: How many subjects will be re-assessed; nil when there is no such model.
    func activate(_ version: String) async throws -> Int? {
        try await database.withTransaction { connection in
            let exists = try await connection.query(prepared: "SELECT 1 FROM assessment.models WHERE version = \(version)", logger: database.logger)
            var found = false
            for try await _ in exists { found = true }
            guard found else { return nil }
            try await connection.query(prepared: "UPDATE assessment.models SET active = false WHERE active AND version <> \(version)", logger: database.logger)
            try await connection.query(prepared: """
                UPDATE assessment.models SET active = true, activated_at = now() WHERE version = \(version) AND NOT active
                """, logger: database.logger)
            let marked = try await connection.query(prepared: """
                WITH due AS (UPDATE assessment.subjects SET review_at = now() WHERE model_version IS DISTINCT FROM \(version) RETURNING 1)
                SELECT count(*)::int FROM due
                """, logger: database.logger)
            for try await count in marked.decode(Int.self) { return count }
            return 0
        }
    }

    struct ModelVersion: Codable {
        var version: String
        var active: Bool
        var loadedAt: Date
        var activatedAt: Date?
    }

    struct Activation: Codable {
        var version: String
        var subjectsToReassess: Int
    }
}
