import Contracts
import Foundation

/// One item of the checklist: how grave its failure is, the days to rectify it, and who rectifies it
/// (`{school}` is the school, `{district}` its six-digit division code, e.g. `fire-{district}`).
struct ChecklistItem: Codable, Sendable {
    var item: String
    var severity: String
    var rectifyDays: Int
    var unit: String

    /// Whether the severity is minor, major or critical, the deadline positive and the unit named.
    var isValid: Bool {
        HazardReportedV1.Severity(rawValue: severity) != nil && rectifyDays > 0 && !unit.isEmpty
    }
}
