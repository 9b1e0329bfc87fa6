import Contracts
import Foundation
import PostgresNIO
import ServiceKit
import Storage

/// Inspection (校园安全): school safety. This first version counts the
/// accepted incident reports per school and quarter, an input of the
/// quarterly safety rating; registry, inspections, hazards and ratings come
/// with their own issue.
struct InspectionService: HuhangService {
    static let name = "inspection"
    static let defaultHTTPPort = 8084
    static let migrations = InspectionMigrations.all

    init(context: ServiceContext) throws {}

    static func quarter(of date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let parts = calendar.dateComponents([.year, .month], from: date)
        return "\(parts.year!)-Q\((parts.month! - 1) / 3 + 1)"
    }

    func register(_ handlers: inout HandlerRegistry) {
        handlers.on(ReportAcceptedV1.self) { report, context in
            guard let school = report.schoolCode else { return .applied }
            try await context.connection.query("""
                INSERT INTO inspection.school_incidents (school_code, quarter, incidents)
                VALUES (\(school), \(Self.quarter(of: report.occurredAt)), 1)
                ON CONFLICT (school_code, quarter) DO UPDATE SET incidents = inspection.school_incidents.incidents + 1
                """, logger: context.logger)
            return .applied
        }
    }
}

enum InspectionMigrations {
    static let all: [Migration] = [
        Migration(1, "incidents per school and quarter", """
            CREATE TABLE inspection.school_incidents (
                school_code text NOT NULL,
                quarter     text NOT NULL,
                incidents   integer NOT NULL,
                PRIMARY KEY (school_code, quarter)
            );
            """),
    ]
}
