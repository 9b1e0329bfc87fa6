import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import ServiceKit
import Storage
import Synchronization

/// The active risk model, read in each transaction so that every replica
/// uses the version the database names; definitions are parsed once per version.
final class ActiveModel: Sendable {
    private let parsed = Mutex<[String: RiskModel]>([:])

    func current(on connection: PostgresConnection, logger: Logger) async throws -> RiskModel {
        let known = parsed.withLock { Array($0.keys) }
        let rows = try await connection.query(prepared: """
            SELECT version, CASE WHEN version = ANY(\(known)::text[]) THEN NULL ELSE definition::text END
            FROM assessment.models WHERE active
            """, logger: logger)
        for try await (version, definition) in rows.decode((String, String?).self) {
            if let definition {
                let model = try JSONDecoder().decode(RiskModel.self, from: Data(definition.utf8))
                parsed.withLock { $0[version] = model }
                return model
            }
            if let model = parsed.withLock({ $0[version] }) { return model }
        }
        throw NoActiveModel()
    }

    /// No model is active: an operator's mistake, which retrying outlives once a model is activated.
    struct NoActiveModel: Error, CustomStringConvertible {
        var description: String { "no active risk model in assessment.models" }
    }
}

/// Writes assessments: records what events say about subjects, re-assesses
/// each subject from all its signals under the active model, and keeps the
/// ledgers — a whole batch of subjects in a fixed number of statements.
enum AssessmentStore {
    struct Previous {
        var tier: RiskTier
        var score: Double
        var urgent: Bool
        var modelVersion: String
        var factorIDs: String
        var schoolCode: String?
        var district: String?
        var isNew: Bool
    }

    /// Records the observations and re-assesses every subject they name, and
    /// the `others`, inside the caller's transaction. Subjects are locked in
    /// id order, so replicas working on overlapping subjects wait for each
    /// other instead of deadlocking, and the result is the same in any order.
    /// - Parameters:
    ///   - observations: What events said.
    ///   - others: Further subjects to re-assess (a model change, signals ageing out).
    ///   - model: The active model.
    ///   - now: The assessment time.
    ///   - cause: The event id, or what else caused it (e.g. `review`).
    ///   - causes: The event that names a subject, where the observations come from several events (each
    ///     subject from one of them); a subject not in it has `cause`.
    /// - Returns: The events to emit: tier changes and ledger entries and exits.
    static func apply(
        _ observations: [Observation], others: [String] = [], model: RiskModel, now: Date, cause: String, causes: [String: String] = [:],
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [Emission] {
        var schools: [String: String] = [:]
        var signals: [(String, Signal)] = []
        var agencies: Set<[String]> = []
        for observation in observations {
            if let school = observation.schoolCode { schools[observation.subjectID] = school }
            signals += observation.signals.map { (observation.subjectID, $0) }
            agencies.insert([observation.subjectID, observation.agency])
        }
        let ids = Array(Set(observations.map(\.subjectID) + others)).sorted()
        guard !ids.isEmpty else { return [] }

        // Lock (creating where new) every subject, in id order.
        let locked = try await connection.query(prepared: """
            INSERT INTO assessment.subjects (subject_id, tier, score, school_code, district)
            SELECT s, 'low', 0, NULLIF(c, ''), NULLIF(d, '')
            FROM unnest(\(ids)::text[], \(ids.map { schools[$0] ?? "" })::text[],
                        \(ids.map { FactorMapping.district(schools[$0]) ?? "" })::text[]) WITH ORDINALITY AS t(s, c, d, n)
            ORDER BY n
            ON CONFLICT (subject_id) DO UPDATE SET school_code = coalesce(EXCLUDED.school_code, subjects.school_code),
                                                   district = coalesce(EXCLUDED.district, subjects.district)
            RETURNING subject_id, tier, score, urgent, coalesce(model_version, ''), factor_ids, school_code, district, assessed_at IS NULL
            """, logger: logger)
        var previous: [String: Previous] = [:]
        for try await (id, tier, score, urgent, version, factorIDs, school, district, isNew)
            in locked.decode((String, String, Double, Bool, String, String, String?, String?, Bool).self) {
            previous[id] = Previous(
                tier: RiskTier(rawValue: tier) ?? .low, score: score, urgent: urgent, modelVersion: version, factorIDs: factorIDs,
                schoolCode: school, district: district, isNew: isNew)
        }

        if !signals.isEmpty {
            let pairs = Array(agencies)
            // The signals, and which agencies reported each subject, in one statement.
            try await connection.query(prepared: """
                WITH reported AS (
                    INSERT INTO assessment.subject_agencies (subject_id, agency)
                    SELECT * FROM unnest(\(pairs.map { $0[0] })::text[], \(pairs.map { $0[1] })::text[])
                    ON CONFLICT DO NOTHING
                )
                INSERT INTO assessment.signals (subject_id, factor, kind, at, event_id, detail, matter, sealed)
                SELECT s, f, k, a, e, d, NULLIF(m, ''),
                       x OR (m = 'offence' AND EXISTS (SELECT 1 FROM assessment.sealed_subjects z WHERE z.subject_id = s))
                FROM unnest(\(signals.map(\.0))::text[], \(signals.map(\.1.factor))::text[], \(signals.map(\.1.kind.rawValue))::text[],
                            \(signals.map(\.1.at))::timestamptz[], \(signals.map(\.1.eventID))::text[], \(signals.map(\.1.detail))::text[],
                            \(signals.map { $0.1.matter?.rawValue ?? "" })::text[], \(signals.map(\.1.sealed))::boolean[]) AS t(s, f, k, a, e, d, m, x)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }

        // Every signal of each subject, and the ledgers each is on now, in one statement: read after the subjects'
        // rows are locked (a statement of its own, so that it sees what the transaction that held a lock before
        // committed). A ledger's row has no time; a signal's always has one. Subject by subject (a lateral join the
        // planner may not flatten), so that every plan — kept ones too, and those made while the tables were
        // nearly empty — looks each subject up in an index (signals' key, `ledger_entries_current_by_subject`):
        // as `subject_id = ANY(…)` a kept plan walked the whole signals table or all of (ledger, subject_id).
        var recorded: [String: [Signal]] = [:]
        var onLedgers: [String: Set<LedgerChangedV1.Ledger>] = [:]
        let rows = try await connection.query(prepared: """
            SELECT q.* FROM unnest(\(ids)::text[]) AS x(id), LATERAL (
                SELECT s.subject_id, s.factor, s.kind, s.at, s.event_id, s.detail FROM assessment.signals s
                WHERE s.subject_id = x.id AND NOT s.sealed
                UNION ALL
                SELECT e.subject_id, e.ledger, '', NULL, '', '' FROM assessment.ledger_entries e
                WHERE e.subject_id = x.id AND e.left_at IS NULL
                OFFSET 0) AS q
            """, logger: logger)
        for try await (id, factor, kind, at, eventID, detail) in rows.decode((String, String, String, Date?, String, String).self) {
            if let at {
                recorded[id, default: []].append(Signal(factor: factor, kind: Signal.Kind(rawValue: kind) ?? .set, at: at, eventID: eventID, detail: detail))
            } else if let ledger = LedgerChangedV1.Ledger(rawValue: factor) {
                onLedgers[id, default: []].insert(ledger)
            }
        }

        var emissions: [Emission] = []
        var assessments: [(id: String, evaluation: Evaluation, previous: Previous)] = []
        var entered: [(id: String, ledger: LedgerChangedV1.Ledger, reason: String, events: [String])] = []
        var left: [(id: String, ledger: LedgerChangedV1.Ledger, reason: String)] = []
        var updates: [(id: String, evaluation: Evaluation, changed: Bool)] = []
        for id in ids {
            guard let before = previous[id] else { continue }
            let evaluation = model.evaluate(recorded[id] ?? [], at: now)
            let factorIDs = (evaluation.triggers + evaluation.factors).map(\.id).joined(separator: ",")
            let changed = before.isNew || evaluation.tier != before.tier || evaluation.score != before.score
                || evaluation.urgent != before.urgent || model.version != before.modelVersion || factorIDs != before.factorIDs
            updates.append((id, evaluation, changed))
            if changed { assessments.append((id, evaluation, before)) }
            // A change of tier (or a first tier above low, or urgency arising) is news; the rest is history.
            if (before.isNew && evaluation.tier > .low) || (!before.isNew && evaluation.tier != before.tier) || (evaluation.urgent && !before.urgent) {
                emissions.append(Emission(RiskAssessedV1(
                    subjectID: id, tier: evaluation.tier, previousTier: before.isNew ? nil : before.tier, score: evaluation.score,
                    reasons: evaluation.reasons, modelVersion: model.version, provisional: false, urgent: evaluation.urgent,
                    schoolCode: before.schoolCode, assessedAt: now,
                    factors: evaluation.factors.map { .init(id: $0.id, dimension: $0.dimension, weight: $0.weight) }), subject: id))
            }
            let was = onLedgers[id] ?? []
            let held = Set(evaluation.ledgers.keys)
            var changes: [(LedgerChangedV1.Ledger, LedgerChangedV1.Change, String)] = []
            for ledger in held.subtracting(was).sorted(by: { $0.rawValue < $1.rawValue }) {
                changes.append((ledger, .entered, evaluation.ledgerReason(ledger)))
                entered.append((id, ledger, evaluation.ledgerReason(ledger), evaluation.ledgerEvents(ledger)))
            }
            for ledger in was.subtracting(held).sorted(by: { $0.rawValue < $1.rawValue }) {
                changes.append((ledger, .left, "no longer holds under \(model.version)"))
                left.append((id, ledger, "no longer holds under \(model.version)"))
            }
            for (ledger, change, reason) in changes {
                emissions.append(Emission(LedgerChangedV1(
                    subjectID: id, ledger: ledger, change: change, reason: reason, tier: evaluation.tier, schoolCode: before.schoolCode,
                    district: before.district, modelVersion: model.version, at: now), subject: id))
            }
        }

        let encoder = ContractCoding.encoder()
        func json(_ value: some Encodable) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        func factorsJSON(_ evaluation: Evaluation) throws -> String {
            try json((evaluation.triggers + evaluation.factors + evaluation.markers).map {
                FactorRecord(id: $0.id, dimension: $0.dimension, weight: $0.weight, since: $0.signal.at, event: $0.signal.eventID, detail: $0.signal.detail)
            })
        }
        // The assessments that changed something, every subject's new state, and the ledgers entered and left: one statement.
        try await connection.query(prepared: """
            WITH recorded AS (
                INSERT INTO assessment.assessments (subject_id, tier, previous_tier, score, urgent, reasons, factors, model_version, event_id, assessed_at)
                SELECT s, t, NULLIF(p, ''), sc, u, r::jsonb, f::jsonb, \(model.version), e, \(now)
                FROM unnest(\(assessments.map(\.id))::text[], \(assessments.map(\.evaluation.tier.rawValue))::text[],
                            \(assessments.map { $0.previous.isNew ? "" : $0.previous.tier.rawValue })::text[],
                            \(assessments.map(\.evaluation.score))::float8[], \(assessments.map(\.evaluation.urgent))::boolean[],
                            \(try assessments.map { try json($0.evaluation.reasons) })::text[],
                            \(try assessments.map { try factorsJSON($0.evaluation) })::text[],
                            \(assessments.map { causes[$0.id] ?? cause })::text[]) AS x(s, t, p, sc, u, r, f, e)
            ), updated AS (
                UPDATE assessment.subjects AS s
                SET tier = x.t, score = x.sc, urgent = x.u, model_version = \(model.version), factor_ids = x.fi, factors = x.f::jsonb,
                    review_at = NULLIF(x.r, '')::timestamptz, assessed_at = \(now), updated_at = now(),
                    version = s.version + CASE WHEN x.c THEN 1 ELSE 0 END
                FROM unnest(\(updates.map(\.id))::text[], \(updates.map(\.evaluation.tier.rawValue))::text[], \(updates.map(\.evaluation.score))::float8[],
                            \(updates.map(\.evaluation.urgent))::boolean[],
                            \(updates.map { ($0.evaluation.triggers + $0.evaluation.factors).map(\.id).joined(separator: ",") })::text[],
                            \(try updates.map { try factorsJSON($0.evaluation) })::text[],
                            \(updates.map { $0.evaluation.nextChange.map { ContractCoding.formatTime($0) } ?? "" })::text[],
                            \(updates.map(\.changed))::boolean[]) AS x(s, t, sc, u, fi, f, r, c)
                WHERE s.subject_id = x.s
            ), entered AS (
                INSERT INTO assessment.ledger_entries (ledger, subject_id, entered_at, reason, school_code, district, events)
                SELECT x.l, x.s, \(now), x.r, sub.school_code, sub.district, string_to_array(x.e, ',')
                FROM unnest(\(entered.map(\.ledger.rawValue))::text[], \(entered.map(\.id))::text[], \(entered.map(\.reason))::text[],
                            \(entered.map { $0.events.joined(separator: ",") })::text[]) AS x(l, s, r, e)
                JOIN assessment.subjects sub ON sub.subject_id = x.s
                ON CONFLICT (ledger, subject_id) WHERE left_at IS NULL DO NOTHING
            )
            UPDATE assessment.ledger_entries AS e SET left_at = \(now), left_reason = x.r
            FROM unnest(\(left.map(\.ledger.rawValue))::text[], \(left.map(\.id))::text[], \(left.map(\.reason))::text[]) AS x(l, s, r)
            WHERE e.ledger = x.l AND e.subject_id = x.s AND e.left_at IS NULL
            """, planning: .eachTime, logger: logger)
        logger.debug("subjects assessed", metadata: [
            "assessment.subjects": "\(ids.count)", "assessment.changed": "\(assessments.count)", "assessment.events": "\(emissions.count)",
        ])
        return emissions
    }

    /// A counted factor as stored with an assessment: what, how much, since when and from which event.
    struct FactorRecord: Codable, Sendable, Hashable {
        var id: String
        var dimension: String
        var weight: Double
        var since: Date
        var event: String
        var detail: String
    }
}

extension AssessmentStore {
    /// Locks the subjects that exist already, in id order, for this transaction.
    static func lock(_ ids: [String], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(prepared: """
            SELECT subject_id FROM assessment.subjects WHERE subject_id = ANY(\(ids.sorted())::text[]) ORDER BY subject_id FOR UPDATE
            """, logger: logger)
    }

    /// Takes up to `limit` subjects due for re-assessment (a signal ageing out, a new model), locked for
    /// this transaction; replicas skip each other's.
    static func claimDueForReview(now: Date, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let rows = try await connection.query(prepared: """
            SELECT subject_id FROM assessment.subjects WHERE review_at <= \(now)
            ORDER BY subject_id LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """, logger: logger)
        var due: [String] = []
        for try await id in rows.decode(String.self) { due.append(id) }
        return due
    }
}

extension AssessmentStore {
    /// Seals or unseals what a minor is said to have done (档案封存): their offence signals (case leads,
    /// reports naming them as the alleged perpetrator) are kept but no longer counted or shown; ledger
    /// entries and past assessments that came from them are hidden; the subject is re-assessed without them.
    /// Nothing is deleted: an order that unseals brings it all back.
    /// - Parameters:
    ///   - subjectID: The minor.
    ///   - sealed: Seal (true) or unseal.
    ///   - model: The active model.
    ///   - now: The time of the order's arrival.
    ///   - cause: The event that carried the order.
    /// - Returns: The events of the re-assessment.
    static func seal(
        _ subjectID: String, sealed: Bool, model: RiskModel, now: Date, cause: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Emission] {
        let known = try await connection.query(prepared: "SELECT 1 FROM assessment.subjects WHERE subject_id = \(subjectID)", logger: logger)
        var isKnown = false
        for try await _ in known { isKnown = true }
        if sealed {
            // Also for a subject not seen yet: whatever offence is reported of them later is sealed on arrival.
            try await connection.query(prepared: """
                INSERT INTO assessment.sealed_subjects (subject_id, sealed_at) VALUES (\(subjectID), \(now)) ON CONFLICT DO NOTHING
                """, logger: logger)
        } else {
            try await connection.query(prepared: "DELETE FROM assessment.sealed_subjects WHERE subject_id = \(subjectID)", logger: logger)
        }
        try await connection.query(prepared: """
            UPDATE assessment.signals SET sealed = \(sealed) WHERE subject_id = \(subjectID) AND matter = 'offence' AND sealed <> \(sealed)
            """, logger: logger)
        // What came from a sealed signal is hidden with it; an entry still open leaves its ledger (the
        // re-assessment puts the subject back on it if something unsealed still holds, with a new reason).
        try await connection.query(prepared: """
            WITH hidden AS (SELECT coalesce(array_agg(event_id), '{}') AS events FROM assessment.signals
                            WHERE subject_id = \(subjectID) AND sealed)
            UPDATE assessment.ledger_entries e
            SET sealed = (e.events && hidden.events) OR (e.events IS NULL AND \(sealed) AND e.reason LIKE '%case lead%'),
                left_at = CASE WHEN e.left_at IS NULL AND ((e.events && hidden.events) OR (e.events IS NULL AND \(sealed) AND e.reason LIKE '%case lead%'))
                               THEN \(now) ELSE e.left_at END,
                left_reason = CASE WHEN e.left_at IS NULL AND ((e.events && hidden.events) OR (e.events IS NULL AND \(sealed) AND e.reason LIKE '%case lead%'))
                                   THEN 'sealed record' ELSE e.left_reason END
            FROM hidden WHERE e.subject_id = \(subjectID)
            """, logger: logger)
        try await connection.query(prepared: """
            WITH hidden AS (SELECT coalesce(array_agg(event_id), '{}') AS events FROM assessment.signals
                            WHERE subject_id = \(subjectID) AND sealed)
            UPDATE assessment.assessments a
            SET sealed = EXISTS (SELECT 1 FROM jsonb_array_elements(a.factors) f WHERE f->>'event' = ANY(hidden.events))
            FROM hidden WHERE a.subject_id = \(subjectID)
            """, logger: logger)
        guard isKnown else { return [] }
        return try await apply([], others: [subjectID], model: model, now: now, cause: cause, on: connection, logger: logger)
    }
}
