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

    /// An event to claim, as ``claim(_:on:logger:)`` writes it.
    struct Claim {
        /// The event's people, resolved.
        var acceptance: Acceptance
        /// The envelope id.
        var eventID: String
        var type: String
        /// The agency's own id of the event.
        var externalID: String
        /// SHA-256 of the body, to tell a duplicate from a conflict.
        var contentHash: String
        /// The receipt kept with the claim.
        var receipt: IntakeReceiptV1
    }

    /// Claims (agency, event type, external id) for several events and writes the subject links, learned identifiers,
    /// candidate matches and receipts of those it claimed, in one statement; an event whose external id was taken
    /// before (or earlier in the list) writes nothing.
    /// - Parameters:
    ///   - claims: The events, with their people resolved.
    ///   - connection: The handler's transaction.
    /// - Returns: The intake ids of the events claimed.
    static func claim(_ claims: [Claim], on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        let encoder = JSONEncoder()
        var linkOwners: [String] = [], linkSubjects: [String] = [], linkRoles: [String] = [], linkKinds: [String] = [], linkIdentities: [String] = []
        var learnedOwners: [String] = [], learnedKeys: [String] = [], learnedSubjects: [String] = [], learnedKinds: [String] = []
        var matchOwners: [String] = [], matchSubjects: [String] = [], matchOthers: [String] = [], matchBases: [String] = []
        // Arrays of text: '' stands for null where a receipt has none.
        var reasons: [String] = [], acceptedRows: [String] = [], rejectedRows: [String] = [], externalIDs: [String] = [], reportIDs: [String] = []
        for claim in claims {
            let owner = claim.acceptance.intakeID
            for link in claim.acceptance.links {
                linkOwners.append(owner)
                linkSubjects.append(link.subjectID)
                linkRoles.append(link.role)
                linkKinds.append(link.kind.rawValue)
                linkIdentities.append(link.identity.map { Data($0).base64EncodedString() } ?? "")
            }
            for learned in claim.acceptance.resolution?.learned ?? [] {
                learnedOwners.append(owner)
                learnedKeys.append(learned.key)
                learnedSubjects.append(learned.subjectID)
                learnedKinds.append(learned.kind)
            }
            for match in claim.acceptance.resolution?.candidates ?? [] {
                matchOwners.append(owner)
                matchSubjects.append(match.subjectID)
                matchOthers.append(match.otherSubjectID)
                matchBases.append(match.basis)
            }
            reasons.append(String(decoding: try encoder.encode(claim.receipt.reasons), as: UTF8.self))
            acceptedRows.append(claim.receipt.acceptedRows.map(String.init) ?? "")
            rejectedRows.append(claim.receipt.rejectedRows.map(String.init) ?? "")
            externalIDs.append(claim.receipt.externalID ?? "")
            reportIDs.append(claim.receipt.reportID ?? "")
        }
        let rows = try await connection.query(prepared: """
            WITH claimed AS (
                INSERT INTO intake.accepted (intake_id, event_id, agency, event_type, external_id, content_hash, channel)
                SELECT i::uuid, e, a, t, x, h, NULLIF(c, '')
                FROM unnest(\(claims.map(\.acceptance.intakeID))::text[], \(claims.map(\.eventID))::text[], \(claims.map(\.acceptance.agency))::text[],
                            \(claims.map(\.type))::text[], \(claims.map(\.externalID))::text[], \(claims.map(\.contentHash))::text[],
                            \(claims.map { $0.acceptance.channel ?? "" })::text[]) WITH ORDINALITY AS n(i, e, a, t, x, h, c, o)
                ORDER BY o
                ON CONFLICT (agency, event_type, external_id) DO NOTHING
                RETURNING intake_id),
            linked AS (
                INSERT INTO intake.subject_links (intake_id, subject_id, role, match_kind, identity)
                SELECT claimed.intake_id, s, r, k, CASE WHEN i = '' THEN NULL ELSE decode(i, 'base64') END
                FROM unnest(\(linkOwners)::text[], \(linkSubjects)::text[], \(linkRoles)::text[], \(linkKinds)::text[],
                            \(linkIdentities)::text[]) AS t(o, s, r, k, i)
                JOIN claimed ON claimed.intake_id = t.o::uuid
                ON CONFLICT DO NOTHING),
            learned AS (
                INSERT INTO intake.identifiers (key, subject_id, kind)
                SELECT k, s, kd FROM unnest(\(learnedOwners)::text[], \(learnedKeys)::text[], \(learnedSubjects)::text[],
                                            \(learnedKinds)::text[]) AS t(o, k, s, kd)
                JOIN claimed ON claimed.intake_id = t.o::uuid
                ON CONFLICT (key) DO NOTHING),
            candidates AS (
                INSERT INTO intake.match_candidates (subject_id, other_subject_id, basis, intake_id)
                SELECT a, b, basis, claimed.intake_id FROM unnest(\(matchOwners)::text[], \(matchSubjects)::text[],
                                                                  \(matchOthers)::text[], \(matchBases)::text[]) AS t(o, a, b, basis)
                JOIN claimed ON claimed.intake_id = t.o::uuid
                ON CONFLICT DO NOTHING),
            answered AS (
                INSERT INTO intake.event_status (event_id, agency, event_type, external_id, status, reasons, report_id, at, accepted_rows, rejected_rows)
                SELECT e, a, ty, NULLIF(x, ''), s, r::jsonb, NULLIF(p, ''), at, NULLIF(ar, '')::int, NULLIF(rr, '')::int
                FROM unnest(\(claims.map(\.acceptance.intakeID))::text[], \(claims.map(\.receipt.eventID))::text[],
                            \(claims.map(\.acceptance.agency))::text[], \(claims.map(\.receipt.eventType))::text[], \(externalIDs)::text[],
                            \(claims.map(\.receipt.status.rawValue))::text[], \(reasons)::text[], \(reportIDs)::text[],
                            \(claims.map(\.receipt.at))::timestamptz[], \(acceptedRows)::text[], \(rejectedRows)::text[])
                     AS n(o, e, a, ty, x, s, r, p, at, ar, rr)
                JOIN claimed ON claimed.intake_id = n.o::uuid
                ON CONFLICT (event_id) DO NOTHING)
            SELECT intake_id::text FROM claimed
            """, logger: logger)
        var claimed = Set<String>()
        for try await id in rows.decode(String.self) { claimed.insert(id) }
        return claimed
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
