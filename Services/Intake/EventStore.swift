import Contracts
import Foundation
import Logging
import PostgresNIO
import Storage

/// What intake kept of each event: the claims of accepted events (`intake.accepted`), the receipt given
/// for every event (`intake.event_status`), refusals with their reasons (`intake.rejections`), and the
/// counts of them over a period.
struct EventStore: Sendable {
    let database: Database

    /// An accepted event, as a refusal from a later service finds it.
    struct Accepted: Sendable {
        var eventID: String
        var agency: String
        var eventType: String
        var externalID: String
    }

    /// Claims (agency, event type, external id) for an event and writes its subject links, learned
    /// identifiers and candidate matches, in one statement; the rest is written only with the claim.
    /// - Parameters:
    ///   - acceptance: The event's people, resolved.
    ///   - eventID: The envelope id.
    ///   - type: The event type.
    ///   - externalID: The agency's own id of the event.
    ///   - contentHash: SHA-256 of the body, to tell a duplicate from a conflict.
    /// - Returns: `true` when the event is new; `false` when the external id was taken before.
    static func claim(
        _ acceptance: Acceptance, eventID: String, type: String, externalID: String, contentHash: String, receipt: IntakeReceiptV1,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        let reasons = String(decoding: try JSONEncoder().encode(receipt.reasons), as: UTF8.self)
        let links = acceptance.links
        let learned = acceptance.resolution?.learned ?? []
        let matches = acceptance.resolution?.candidates ?? []
        let rows = try await connection.query(prepared: """
            WITH claimed AS (
                INSERT INTO intake.accepted (intake_id, event_id, agency, event_type, external_id, content_hash, channel)
                VALUES (\(acceptance.intakeID)::uuid, \(eventID), \(acceptance.agency), \(type), \(externalID), \(contentHash), \(acceptance.channel))
                ON CONFLICT (agency, event_type, external_id) DO NOTHING
                RETURNING intake_id),
            linked AS (
                INSERT INTO intake.subject_links (intake_id, subject_id, role, match_kind, identity)
                SELECT claimed.intake_id, s, r, k, CASE WHEN i = '' THEN NULL ELSE decode(i, 'base64') END
                FROM claimed, unnest(\(links.map(\.subjectID))::text[], \(links.map(\.role))::text[], \(links.map(\.kind.rawValue))::text[],
                                     \(links.map { $0.identity.map { Data($0).base64EncodedString() } ?? "" })::text[]) AS t(s, r, k, i)
                ON CONFLICT DO NOTHING),
            learned AS (
                INSERT INTO intake.identifiers (key, subject_id, kind)
                SELECT k, s, kd FROM claimed, unnest(\(learned.map(\.key))::text[], \(learned.map(\.subjectID))::text[],
                                                     \(learned.map(\.kind))::text[]) AS t(k, s, kd)
                ON CONFLICT (key) DO NOTHING),
            candidates AS (
                INSERT INTO intake.match_candidates (subject_id, other_subject_id, basis, intake_id)
                SELECT a, b, basis, claimed.intake_id FROM claimed, unnest(\(matches.map(\.subjectID))::text[],
                                                                          \(matches.map(\.otherSubjectID))::text[],
                                                                          \(matches.map(\.basis))::text[]) AS t(a, b, basis)
                ON CONFLICT DO NOTHING),
            answered AS (
                INSERT INTO intake.event_status (event_id, agency, event_type, external_id, status, reasons, report_id, at, accepted_rows, rejected_rows)
                SELECT \(receipt.eventID), \(acceptance.agency), \(receipt.eventType), \(receipt.externalID), \(receipt.status.rawValue),
                       \(reasons)::jsonb, \(receipt.reportID), \(receipt.at)::timestamptz, \(receipt.acceptedRows)::int, \(receipt.rejectedRows)::int
                FROM claimed
                ON CONFLICT (event_id) DO NOTHING)
            SELECT count(*)::int FROM claimed
            """, logger: logger)
        for try await claimed in rows.decode(Int.self) { return claimed == 1 }
        return false
    }

    /// The content hash of the event that claimed (agency, type, external id) first.
    static func claimedHash(agency: String, type: String, externalID: String, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        let rows = try await connection.query(prepared: """
            SELECT content_hash FROM intake.accepted
            WHERE agency = \(agency) AND event_type = \(type) AND external_id = \(externalID)
            """, logger: logger)
        for try await hash in rows.decode(String.self) { return hash }
        return nil
    }

    /// The accepted event a service's refusal names by its intake id.
    static func accepted(intakeID: String, on connection: PostgresConnection, logger: Logger) async throws -> Accepted? {
        let rows = try await connection.query(prepared: """
            SELECT event_id, agency, event_type, external_id FROM intake.accepted WHERE intake_id::text = \(intakeID)
            """, logger: logger)
        for try await (eventID, agency, type, externalID) in rows.decode((String, String, String, String).self) {
            return Accepted(eventID: eventID, agency: agency, eventType: type, externalID: externalID)
        }
        return nil
    }

    /// Keeps a refused event with its reasons.
    /// - Parameters:
    ///   - kind: `invalid`, `forbidden` or `conflict`.
    static func recordRejection(
        eventID: String, agency: String?, type: String, kind: String, reasons: [FieldError], on connection: PostgresConnection, logger: Logger
    ) async throws {
        let json = String(decoding: try JSONEncoder().encode(reasons), as: UTF8.self)
        try await connection.query(prepared: """
            INSERT INTO intake.rejections (event_id, agency, event_type, kind, reasons)
            VALUES (\(eventID), \(agency), \(type), \(kind), \(json)::jsonb)
            """, logger: logger)
    }

    /// Keeps the receipt given for an event (the first one; a duplicate's does not replace it).
    static func record(_ receipt: IntakeReceiptV1, agency: String, on connection: PostgresConnection, logger: Logger) async throws {
        let reasons = String(decoding: try JSONEncoder().encode(receipt.reasons), as: UTF8.self)
        try await connection.query(prepared: """
            INSERT INTO intake.event_status (event_id, agency, event_type, external_id, status, reasons, report_id, at, accepted_rows, rejected_rows)
            VALUES (\(receipt.eventID), \(agency), \(receipt.eventType), \(receipt.externalID), \(receipt.status.rawValue),
                    \(reasons)::jsonb, \(receipt.reportID), \(receipt.at), \(receipt.acceptedRows), \(receipt.rejectedRows))
            ON CONFLICT (event_id) DO NOTHING
            """, logger: logger)
    }

    /// A later service refused an accepted event: its receipt says so from now on.
    static func markRefused(_ refused: EventRefusedV1, event: Accepted, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(prepared: """
            UPDATE intake.event_status SET status = 'rejected', reasons = \(String(decoding: try JSONEncoder().encode(refused.reasons), as: UTF8.self))::jsonb,
                   refused_by = \(refused.service), at = \(refused.at)
            WHERE event_id = \(event.eventID) AND agency = \(event.agency)
            """, logger: logger)
    }

    /// The receipt for an event, if the agency sent it.
    func receipt(eventID: String, agency: String) async throws -> IntakeReceiptV1? {
        let rows = try await database.query("""
            SELECT event_type, external_id, status, reasons::text, report_id, at, refused_by, accepted_rows, rejected_rows FROM intake.event_status
            WHERE event_id = \(eventID) AND agency = \(agency)
            """)
        for try await (type, externalID, status, reasons, reportID, at, refusedBy, acceptedRows, rejectedRows)
            in rows.decode((String, String?, String, String, String?, Date, String?, Int?, Int?).self) {
            return IntakeReceiptV1(
                eventID: eventID, eventType: type, externalID: externalID, status: IntakeReceiptV1.Status(rawValue: status) ?? .rejected,
                reasons: (try? JSONDecoder().decode([FieldError].self, from: Data(reasons.utf8))) ?? [], reportID: reportID, at: at,
                refusedBy: refusedBy, acceptedRows: acceptedRows, rejectedRows: rejectedRows)
        }
        return nil
    }

    /// What reached intake in `[since, until)`: counts only.
    func statistics(since: Date, until: Date) async throws -> IntakeStatistics {
        func counts(_ query: PostgresQuery) async throws -> [String: Int] {
            var result: [String: Int] = [:]
            for try await (key, count) in try await database.query(query).decode((String, Int).self) { result[key] = count }
            return result
        }
        return IntakeStatistics(
            since: since, until: until,
            accepted: try await counts("""
                SELECT event_type, count(*)::int FROM intake.accepted WHERE received_at >= \(since) AND received_at < \(until) GROUP BY 1
                """),
            reportsByChannel: try await counts("""
                SELECT coalesce(channel, 'unspecified'), count(*)::int FROM intake.accepted
                WHERE event_type = 'report.incident.v1' AND received_at >= \(since) AND received_at < \(until) GROUP BY 1
                """),
            refused: try await counts("""
                SELECT kind, count(*)::int FROM intake.rejections WHERE received_at >= \(since) AND received_at < \(until) GROUP BY 1
                """),
            openMatches: try await counts("SELECT 'open', count(*)::int FROM intake.match_candidates WHERE decision IS NULL")["open"] ?? 0)
    }
}

/// What reached Huhang over a period, for the task force and operators. Counts only; no one is named.
struct IntakeStatistics: Codable, Sendable {
    var since: Date
    var until: Date
    /// Accepted events by type.
    var accepted: [String: Int]
    /// Accepted incident reports by channel; `unspecified` where the agency did not say.
    var reportsByChannel: [String: Int]
    /// Refused events by kind: `invalid`, `forbidden`, `conflict`.
    var refused: [String: Int]
    /// Candidate matches of two subjects the task force has not decided yet (`GET /v1/matches`).
    var openMatches: Int
}
