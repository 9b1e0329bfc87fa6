import Contracts
import Foundation
import Logging
import PostgresNIO
import Storage

/// Screening batches as assessment applied them (`assessment.screenings`): how many rows, how many positive.
struct ScreeningStore: Sendable {
    let database: Database

    /// Keeps the count of a batch, once (in the handler's transaction).
    static func record(_ batch: ScreeningBatchAcceptedV1, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(prepared: """
            INSERT INTO assessment.screenings (intake_id, agency, school_code, scale, screened_at, rows, positive, rejected_rows)
            VALUES (\(batch.intakeID), \(batch.agency), \(batch.schoolCode), \(batch.scale), \(batch.screenedAt), \(batch.results.count),
                    \(batch.results.filter(\.positive).count), \(batch.rejectedRows))
            ON CONFLICT (intake_id) DO NOTHING
            """, logger: logger)
    }

    /// A batch by intake's id, with the agency that sent it.
    func screening(_ intakeID: String) async throws -> (agency: String, screening: Screening)? {
        let rows = try await database.query("""
            SELECT agency, school_code, scale, screened_at, rows, positive, rejected_rows, applied_at FROM assessment.screenings WHERE intake_id = \(intakeID)
            """)
        for try await (agency, school, scale, screened, applied, positive, rejected, at)
            in rows.decode((String, String, String, Date, Int, Int, Int, Date).self) {
            return (agency, Screening(
                intakeID: intakeID, schoolCode: school, scale: scale, screenedAt: screened, appliedRows: applied, positive: positive,
                rejectedRows: rejected, appliedAt: at))
        }
        return nil
    }

    struct Screening: Codable {
        var intakeID: String
        var schoolCode: String
        var scale: String
        var screenedAt: Date
        /// Rows assessment applied: every row intake accepted.
        var appliedRows: Int
        /// Of those, at or over their threshold.
        var positive: Int
        /// Rows intake left out (named in the receipt).
        var rejectedRows: Int
        var appliedAt: Date
        enum CodingKeys: String, CodingKey { case intakeID = "intakeId", schoolCode, scale, screenedAt, appliedRows, positive, rejectedRows, appliedAt }
    }
}
