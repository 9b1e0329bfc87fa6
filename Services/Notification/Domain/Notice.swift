import Contracts
import Foundation

/// What notification needs of an event: who must act on it, what to tell
/// them (fixed words and ids, the least that serves), and whether it is critical.
struct Notice: Sendable, Hashable {
    /// Recipient roles the routing rules may name, each resolved from the event: `unit`, `escalated_to`, `task_force`, …
    var roles: [String: String]
    /// The words in Chinese (the default) and English.
    var chinese: String
    var english: String
    var critical: Bool
    /// The case the event is about, whose care team the rules may name (`care_team`, `care_team:<role>`).
    var caseID: String?
    /// What a guardian is told, in Chinese and English, when the event asks something of the family; nil when a
    /// guardian is not told of it. Never a tier, a category, a unit's deadline or a name: what is arranged and whom to ask.
    var guardian: [String]?

    init(roles: [String: String], zh chinese: String, en english: String, critical: Bool, caseID: String? = nil, guardian: [String]? = nil) {
        self.roles = roles
        self.chinese = chinese
        self.english = english
        self.critical = critical
        self.caseID = caseID
        self.guardian = guardian
    }

    /// The words in a recipient's language: `zh` (default) or `en`.
    func text(_ language: String) -> String { language == "en" ? english : chinese }

    /// The words for a care-team member in a language: a guardian's own, or nil; anyone else's the usual.
    func text(_ language: String, for role: CareTeamChangedV1.Member.Role) -> String? {
        guard role == .guardian else { return text(language) }
        return guardian.map { language == "en" ? $0[1] : $0[0] }
    }

    /// The care-team roles a rule's recipients name.
    static func careTeamRoles(in recipients: [String]) -> Set<CareTeamChangedV1.Member.Role> {
        var roles: Set<CareTeamChangedV1.Member.Role> = []
        for recipient in recipients {
            if recipient == "care_team" { roles.formUnion(CareTeamChangedV1.Member.Role.allCases) }
            if recipient.hasPrefix("care_team:"), let role = CareTeamChangedV1.Member.Role(rawValue: String(recipient.dropFirst(10))) {
                roles.insert(role)
            }
        }
        return roles
    }
}

/// A routing rule: who hears of an event type (roles the event names, or a case's care team) and on which channels.
struct NoticeRule: Codable, Sendable {
    var eventType: String
    var recipients: [String]
    var channels: [String]
    /// Every notice of this type is critical, whatever the event says.
    var critical: Bool

    /// Who a rule can name: roles the event names, or a care team's members.
    static let recipientRoles = "unit, escalated_to, task_force, target, school, recipient, care_team, care_team:<role>"
    /// The channels a rule can name.
    static let channels: Set<String> = ["inbox", "webhook", "sms", "email"]
}
