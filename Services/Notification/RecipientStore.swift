import Contracts
import Foundation
import Logging
import PostgresNIO
import Storage

/// Who hears of what, and how they are reached: the routing rules (`notification.rules`), each
/// recipient's endpoints — webhook, SMS number, e-mail address (`notification.endpoints`) — and
/// language (`notification.recipients`).
struct RecipientStore: Sendable {
    let database: Database

    /// Who notices go to, in one statement: each recipient's language (`zh` when none is set) and addresses on
    /// the given channels; and the members of cases' care teams in the given roles, each with its contact (sealed)
    /// and the language of its recipient id.
    /// - Parameters:
    ///   - recipients: The units and people the rules name.
    ///   - channels: The rules' channels.
    ///   - careTeams: The cases whose care teams are told, each with the roles told.
    /// - Returns: The recipients' profiles, and each case's care-team members told.
    static func audience(
        of recipients: [String], channels: [String], careTeams: [(caseID: String, roles: Set<CareTeamChangedV1.Member.Role>)],
        on connection: PostgresConnection, logger: Logger
    ) async throws -> (
        profiles: [String: (language: String, endpoints: [(channel: String, address: String)])],
        careTeams: [String: [(member: CareTeam.Member, recipient: String, language: String)]]
    ) {
        let told = careTeams.flatMap { team in team.roles.sorted { $0.rawValue < $1.rawValue }.map { (team.caseID, $0) } }
        guard !recipients.isEmpty || !told.isEmpty else { return ([:], [:]) }
        let rows = try await connection.query(prepared: """
            SELECT q.recipient, coalesce(r.language, 'zh'), e.channel, e.address, NULL, NULL, NULL::bytea
            FROM unnest(\(recipients)::text[]) AS q(recipient)
            LEFT JOIN notification.recipients r ON r.recipient = q.recipient
            LEFT JOIN notification.endpoints e ON e.recipient = q.recipient AND e.channel = ANY(\(channels)::text[])
            UNION ALL
            SELECT c.recipient, coalesce(r.language, 'zh'), NULL, NULL, c.case_id, t.role, t.contact
            FROM unnest(\(told.map(\.0))::text[], \(told.map(\.1.rawValue))::text[],
                        \(told.map { CareTeam.recipient(caseID: $0.0, role: $0.1) })::text[]) AS c(case_id, role, recipient)
            JOIN notification.care_teams t ON t.case_id = c.case_id AND t.role = c.role
            LEFT JOIN notification.recipients r ON r.recipient = c.recipient
            ORDER BY 6 NULLS FIRST, 5, 1, 3
            """, logger: logger)
        var profiles: [String: (language: String, endpoints: [(channel: String, address: String)])] = [:]
        var teams: [String: [(member: CareTeam.Member, recipient: String, language: String)]] = [:]
        for try await (recipient, language, channel, address, caseID, role, contact)
            in rows.decode((String, String, String?, String?, String?, String?, ByteBuffer?).self) {
            if let caseID, let role, let contact {
                guard let role = CareTeamChangedV1.Member.Role(rawValue: role) else { continue }
                teams[caseID, default: []].append((CareTeam.Member(role: role, contact: Array(buffer: contact)), recipient, language))
                continue
            }
            var profile = profiles[recipient] ?? (language, [])
            if let channel, let address { profile.endpoints.append((channel, address)) }
            profiles[recipient] = profile
        }
        return (profiles, teams)
    }

    /// Sets a recipient's language.
    /// - Parameters:
    ///   - language: `zh` or `en`.
    func setLanguage(_ language: String, of recipient: String) async throws {
        _ = try await database.query("""
            INSERT INTO notification.recipients (recipient, language) VALUES (\(recipient), \(language))
            ON CONFLICT (recipient) DO UPDATE SET language = EXCLUDED.language
            """, logger: database.logger)
    }

    /// Sets a recipient's address on a channel, and the webhook's signing secret.
    /// - Parameters:
    ///   - channel: `webhook`, `sms` or `email`.
    ///   - address: A URL, a phone number or an e-mail address.
    ///   - secret: The key a webhook is signed with.
    /// - Parameters:
    ///   - secret: A new signing secret; nil keeps the one already set (an address changed keeps its secret).
    ///   - alongside: Run in the same transaction (the audit entry of the change).
    func setEndpoint(
        of recipient: String, channel: String, address: String, secret: String?, alongside: (PostgresConnection) async throws -> Void
    ) async throws {
        try await database.withTransaction { connection in
            _ = try await connection.query("""
                INSERT INTO notification.endpoints (recipient, channel, address, secret) VALUES (\(recipient), \(channel), \(address), \(secret))
                ON CONFLICT (recipient, channel) DO UPDATE SET address = EXCLUDED.address, secret = coalesce(EXCLUDED.secret, notification.endpoints.secret)
                """, logger: database.logger)
            try await alongside(connection)
        }
    }

    /// The rule for an event type, if one is set.
    static func rule(for eventType: String, on connection: PostgresConnection, logger: Logger) async throws -> NoticeRule? {
        let rows = try await connection.query(prepared: 
            "SELECT event_type, recipients, channels, critical FROM notification.rules WHERE event_type = \(eventType)", logger: logger)
        var rule: NoticeRule?
        for try await (type, recipients, channels, critical) in rows.decode((String, [String], [String], Bool).self) {
            rule = NoticeRule(eventType: type, recipients: recipients, channels: channels, critical: critical)
        }
        return rule
    }

    /// The rule for an event type, outside a transaction.
    func rule(for eventType: String) async throws -> NoticeRule? {
        try await database.withConnection { connection in
            try await Self.rule(for: eventType, on: connection, logger: database.logger)
        }
    }

    /// Every rule, by event type.
    func rules() async throws -> [NoticeRule] {
        let rows = try await database.query(
            "SELECT event_type, recipients, channels, critical FROM notification.rules ORDER BY event_type", logger: database.logger)
        var rules: [NoticeRule] = []
        for try await (type, recipients, channels, critical) in rows.decode((String, [String], [String], Bool).self) {
            rules.append(NoticeRule(eventType: type, recipients: recipients, channels: channels, critical: critical))
        }
        return rules
    }

    /// Sets the rule for its event type, replacing the one before.
    /// - Parameter alongside: Run in the same transaction (the audit entry of the change).
    func setRule(_ rule: NoticeRule, alongside: (PostgresConnection) async throws -> Void) async throws {
        try await database.withTransaction { connection in
            _ = try await connection.query("""
                INSERT INTO notification.rules (event_type, recipients, channels, critical)
                VALUES (\(rule.eventType), \(rule.recipients), \(rule.channels), \(rule.critical))
                ON CONFLICT (event_type) DO UPDATE SET recipients = EXCLUDED.recipients, channels = EXCLUDED.channels, critical = EXCLUDED.critical
                """, logger: database.logger)
            try await alongside(connection)
        }
    }
}
