import Foundation

/// One member of a case's care team as the task force names them; kept sealed, never logged.
struct CareTeamMember: Codable, Sendable {
    var role: CareRole
    var name: String
    /// Where notification reaches them: a phone number (SMS) or an e-mail address.
    var contact: String
    var unit: String?
}
