import Foundation
import Logging
import PostgresNIO
import Storage

/// Who hears of what, and how they are reached: the routing rules (`notification.rules`), each
/// recipient's endpoints — webhook, SMS number, e-mail address (`notification.endpoints`) — and
/// language (`notification.recipients`).
struct RecipientStore: Sendable {
    let database: Database

    /// A recipient's language: `zh` unless set to `en` (`PUT /v1/recipients/{recipient}`).
    static func language(of recipient: String, on connection: PostgresConnection, logger: Logger) async throws -> String {
        let rows = try await connection.query(prepared: "SELECT language FROM notification.recipients WHERE recipient = \(recipient)", logger: logger)
        for try await language in rows.decode(String.self) { return language }
        return "zh"
    }

    /// Each recipient's language (`zh` when none is set) and addresses on the given channels, in one statement.
    static func profiles(
        of recipients: [String], channels: [String], on connection: PostgresConnection, logger: Logger
    ) async throws -> [String: (language: String, endpoints: [(channel: String, address: String)])] {
        guard !recipients.isEmpty else { return [:] }
        let rows = try await connection.query(prepared: """
            SELECT q.recipient, coalesce(r.language, 'zh'), e.channel, e.address
            FROM unnest(\(recipients)::text[]) AS q(recipient)
            LEFT JOIN notification.recipients r ON r.recipient = q.recipient
            LEFT JOIN notification.endpoints e ON e.recipient = q.recipient AND e.channel = ANY(\(channels)::text[])
            ORDER BY q.recipient, e.channel
            """, logger: logger)
        var profiles: [String: (language: String, endpoints: [(channel: String, address: String)])] = [:]
        for try await (recipient, language, channel, address) in rows.decode((String, String, String?, String?).self) {
            var profile = profiles[recipient] ?? (language, [])
            if let channel, let address { profile.endpoints.append((channel, address)) }
            profiles[recipient] = profile
        }
        return profiles
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
    func setEndpoint(of recipient: String, channel: String, address: String, secret: String?) async throws {
        _ = try await database.query("""
            INSERT INTO notification.endpoints (recipient, channel, address, secret) VALUES (\(recipient), \(channel), \(address), \(secret))
            ON CONFLICT (recipient, channel) DO UPDATE SET address = EXCLUDED.address, secret = EXCLUDED.secret
            """, logger: database.logger)
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
    func setRule(_ rule: NoticeRule) async throws {
        _ = try await database.query("""
            INSERT INTO notification.rules (event_type, recipients, channels, critical)
            VALUES (\(rule.eventType), \(rule.recipients), \(rule.channels), \(rule.critical))
            ON CONFLICT (event_type) DO UPDATE SET recipients = EXCLUDED.recipients, channels = EXCLUDED.channels, critical = EXCLUDED.critical
            """, logger: database.logger)
    }
}
