import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// Cases (`intervention.cases`) and their chronology, care teams, seal orders and break-the-glass access.
/// Every change runs in the caller's transaction, writes the case's chronology and returns the events to
/// emit — so the same code serves message handlers, the API and timers.
struct CaseStore: Sendable {
    let database: Database
    let configuration: InterventionConfiguration
    var logger: Logger { database.logger }
    var escalation: EscalationStore { EscalationStore(database: database, configuration: configuration) }

    /// Who did something: an event (its id) or an API caller.
    struct Actor: Sendable {
        var text: String
        static func event(_ id: String) -> Actor { Actor(text: "event:\(id)") }
        /// An API caller; a person signed in to the console is named (`api:agency/role/person`).
        static func api(_ identity: APIIdentity) -> Actor {
            Actor(text: "api:\(identity.agency)/\(identity.role.name)" + (identity.person.map { "/\($0)" } ?? ""))
        }
        static let timer = Actor(text: "timer")
    }

    func chronicle(_ caseID: String, _ kind: String, _ detail: String, by actor: Actor, at: Date, on connection: PostgresConnection) async throws {
        try await connection.query(prepared: """
            INSERT INTO intervention.chronology (case_id, kind, detail, event_id, at)
            VALUES (\(caseID)::uuid, \(kind), \(detail), \(actor.text), \(at))
            """, logger: logger)
    }

    /// Chronicles entries of one kind in the cases whose tasks events announced (e.g. that the responsible unit
    /// was told of its task): for each entry, one line in every such case, in one statement.
    /// - Parameters:
    ///   - entries: Each entry: the event that announced the tasks (`task.assigned.v1`), the line, and who wrote it.
    func chronicle(
        casesAssignedBy entries: [(eventID: String, detail: String, actor: Actor)], _ kind: String, at: Date, on connection: PostgresConnection
    ) async throws {
        guard !entries.isEmpty else { return }
        try await connection.query(prepared: """
            INSERT INTO intervention.chronology (case_id, kind, detail, event_id, at)
            SELECT t.case_id, \(kind), e.detail, e.actor, \(at)::timestamptz
            FROM unnest(\(entries.map(\.eventID))::text[], \(entries.map(\.detail))::text[], \(entries.map(\.actor.text))::text[])
                 WITH ORDINALITY AS e(about, detail, actor, n)
            JOIN LATERAL (SELECT DISTINCT case_id FROM intervention.tasks WHERE assigned_event_id = e.about) AS t ON true
            ORDER BY e.n, t.case_id
            """, logger: logger)
    }

    /// The subject's open case, opened now if there is none; a new signal attaches to an open case.
    /// - Returns: The case id and the events to emit (`case.opened.v1` when opened).
    func openOrAttach(
        subjectID: String, tier: RiskTier, schoolCode: String?, reason: String, by actor: Actor, at now: Date, on connection: PostgresConnection
    ) async throws -> (caseID: String, opened: Bool, emissions: [Emission]) {
        let found = try await openOrAttach(
            [Opening(subjectID: subjectID, tier: tier, schoolCode: schoolCode, reason: reason, actor: actor)], asking: nil, at: now, on: connection)[0]
        return (found.caseID, found.opened, found.emissions)
    }

    /// A subject's case to open, or to attach a signal to: one of several (``openOrAttach(_:asking:at:on:)``).
    struct Opening: Sendable {
        var subjectID: String
        var tier: RiskTier
        var schoolCode: String?
        var reason: String
        var actor: Actor
    }

    /// What became of an ``Opening``.
    struct Opened: Sendable {
        var caseID: String
        var opened: Bool
        /// Whether the case had a task of the measure asked about (never, when it was opened now).
        var hasTask: Bool
        var emissions: [Emission]
    }

    /// As ``openOrAttach(subjectID:tier:schoolCode:reason:by:at:on:)`` for several subjects, each named once,
    /// in two statements: one opens a case for each subject without an open one (with its chronology line and first
    /// follow-up visit), the next attaches the rest to their open cases, locked in the order of their subjects.
    /// - Parameters:
    ///   - openings: The subjects, each at most once.
    ///   - measure: A measure to ask about: whether each case had a task of it (nil for none).
    /// - Returns: One result per opening, in their order.
    func openOrAttach(_ openings: [Opening], asking measure: Measure?, at now: Date, on connection: PostgresConnection) async throws -> [Opened] {
        guard !openings.isEmpty else { return [] }
        let caseIDs = openings.map { _ in UUID().uuidString.lowercased() }
        let opened = try await connection.query(prepared: """
            WITH wanted AS (
                SELECT * FROM unnest(\(caseIDs)::text[], \(openings.map(\.subjectID))::text[], \(openings.map(\.tier.rawValue))::text[],
                                     \(openings.map(\.actor.text))::text[], \(openings.map { $0.schoolCode ?? "" })::text[],
                                     \(openings.map(\.reason))::text[], \(openings.map { configuration.followUpDue($0.tier, after: now) })::timestamptz[])
                     WITH ORDINALITY AS w(c, s, t, a, sc, r, f, o)
            ), opened AS (
                INSERT INTO intervention.cases (case_id, subject_id, tier, opened_by_event, opened_at, school_code, reason, updated_at,
                                                sealed, sealed_order, sealed_at)
                SELECT w.c::uuid, w.s, w.t, w.a, \(now), NULLIF(w.sc, ''), w.r, \(now),
                       ss.order_ref IS NOT NULL, ss.order_ref, CASE WHEN ss.order_ref IS NOT NULL THEN \(now)::timestamptz END
                FROM wanted w LEFT JOIN intervention.sealed_subjects ss ON ss.subject_id = w.s
                ORDER BY w.o
                ON CONFLICT (subject_id) WHERE status = 'open' DO NOTHING
                RETURNING case_id, subject_id
            ), chronicled AS (
                INSERT INTO intervention.chronology (case_id, kind, detail, event_id, at)
                SELECT o.case_id, 'opened', w.r, w.a, \(now) FROM opened o JOIN wanted w ON w.s = o.subject_id ORDER BY w.o
            ), visit AS (
                INSERT INTO intervention.followups (case_id, due_at) SELECT o.case_id, w.f FROM opened o JOIN wanted w ON w.s = o.subject_id
                ON CONFLICT (case_id) WHERE visited_at IS NULL AND cancelled_at IS NULL DO NOTHING
            )
            SELECT subject_id FROM opened
            """, logger: logger)
        var openedSubjects = Set<String>()
        for try await subject in opened.decode(String.self) { openedSubjects.insert(subject) }
        var found: [String: (caseID: String, hasTask: Bool)] = [:]
        let rest = openings.filter { !openedSubjects.contains($0.subjectID) }
        if !rest.isEmpty {
            let rows = try await connection.query(prepared: """
                WITH wanted AS (
                    SELECT * FROM unnest(\(rest.map(\.subjectID))::text[], \(rest.map(\.tier.rawValue))::text[],
                                         \(rest.map { $0.schoolCode ?? "" })::text[], \(rest.map(\.reason))::text[], \(rest.map(\.actor.text))::text[])
                         WITH ORDINALITY AS w(s, t, sc, r, a, o)
                ), locked AS (
                    SELECT c.case_id FROM intervention.cases c
                    WHERE c.subject_id = ANY(\(rest.map(\.subjectID))::text[]) AND c.status = 'open'
                    ORDER BY c.subject_id FOR UPDATE
                ), attached AS (
                    UPDATE intervention.cases c SET tier = w.t, school_code = coalesce(NULLIF(w.sc, ''), c.school_code), updated_at = \(now)
                    FROM wanted w WHERE c.case_id IN (SELECT case_id FROM locked) AND c.subject_id = w.s
                    RETURNING c.case_id, c.subject_id
                ), chronicled AS (
                    INSERT INTO intervention.chronology (case_id, kind, detail, event_id, at)
                    SELECT a.case_id, 'signal', w.r, w.a, \(now) FROM attached a JOIN wanted w ON w.s = a.subject_id ORDER BY w.o
                )
                SELECT a.case_id::text, a.subject_id, \(measure?.rawValue)::text IS NOT NULL AND EXISTS (
                    SELECT 1 FROM intervention.tasks t WHERE t.case_id = a.case_id AND t.measure = \(measure?.rawValue)::text)
                FROM attached a
                """, logger: logger)
            for try await (caseID, subject, hasTask) in rows.decode((String, String, Bool).self) { found[subject] = (caseID, hasTask) }
        }
        return try zip(openings, caseIDs).map { opening, caseID in
            if openedSubjects.contains(opening.subjectID) {
                return Opened(caseID: caseID, opened: true, hasTask: false, emissions: [Emission(CaseOpenedV1(
                    caseID: caseID, subjectID: opening.subjectID, tier: opening.tier, reason: opening.reason, schoolCode: opening.schoolCode,
                    reopened: false, at: now), subject: caseID)])
            }
            guard let existing = found[opening.subjectID] else {
                throw InterventionError(.conflict, "no open case could be found or opened for \(opening.subjectID)")
            }
            return Opened(caseID: existing.caseID, opened: false, hasTask: existing.hasTask, emissions: [])
        }
    }

    /// Closes a case whose tasks are all completed or cancelled, with the closing review.
    func close(caseID: String, review: String, by actor: Actor, closedBy: String, at now: Date, on connection: PostgresConnection) async throws -> [Emission] {
        let subject = try await lockCase(caseID, on: connection)
        guard subject.status == "open" else { throw InterventionError(.conflict, "case \(caseID) is \(subject.status)") }
        guard !review.trimmingCharacters(in: .whitespaces).isEmpty else { throw InterventionError(.invalid, "a closing review is required") }
        let rows = try await connection.query(prepared: """
            SELECT status, count(*)::int FROM intervention.tasks WHERE case_id::text = \(caseID) GROUP BY status
            """, logger: logger)
        var counts: [String: Int] = [:]
        for try await (status, count) in rows.decode((String, Int).self) { counts[status] = count }
        let open = counts.filter { !["completed", "cancelled"].contains($0.key) }
        guard open.isEmpty else {
            let list = open.map { "\($0.value) \($0.key)" }.sorted().joined(separator: ", ")
            throw InterventionError(.conflict, "case \(caseID) has tasks not done: \(list); complete them or cancel them with a reason")
        }
        try await connection.query(prepared: """
            UPDATE intervention.cases SET status = 'closed', closed_at = \(now), closed_by = \(closedBy), review = \(review), updated_at = \(now)
            WHERE case_id::text = \(caseID)
            """, logger: logger)
        try await connection.query(prepared: """
            UPDATE intervention.followups SET cancelled_at = \(now) WHERE case_id::text = \(caseID) AND visited_at IS NULL AND cancelled_at IS NULL
            """, logger: logger)
        try await chronicle(caseID, "closed", review, by: actor, at: now, on: connection)
        return [Emission(CaseClosedV1(
            caseID: caseID, subjectID: subject.subjectID, closedBy: closedBy, tasksCompleted: counts["completed"] ?? 0,
            tasksCancelled: counts["cancelled"] ?? 0, at: now), subject: caseID)]
    }

    /// Reopens a closed case, unless the subject has another open one.
    func reopen(caseID: String, reason: String, by actor: Actor, at now: Date, on connection: PostgresConnection) async throws -> [Emission] {
        let subject = try await lockCase(caseID, on: connection)
        guard subject.status == "closed" else { throw InterventionError(.conflict, "case \(caseID) is \(subject.status)") }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw InterventionError(.invalid, "a reason is required to reopen") }
        let other = try await connection.query(prepared: """
            SELECT case_id::text FROM intervention.cases WHERE subject_id = \(subject.subjectID) AND status = 'open'
            """, logger: logger)
        for try await id in other.decode(String.self) {
            throw InterventionError(.conflict, "the subject already has an open case, \(id)")
        }
        try await connection.query(prepared: """
            UPDATE intervention.cases SET status = 'open', closed_at = NULL, updated_at = \(now) WHERE case_id::text = \(caseID)
            """, logger: logger)
        try await chronicle(caseID, "reopened", reason, by: actor, at: now, on: connection)
        try await escalation.scheduleFollowUp(caseID, tier: subject.tier, after: now, on: connection)
        return [Emission(CaseOpenedV1(
            caseID: caseID, subjectID: subject.subjectID, tier: subject.tier, reason: reason, schoolCode: subject.schoolCode, reopened: true, at: now),
            subject: caseID)]
    }

    struct LockedCase {
        var subjectID: String
        var status: String
        var tier: RiskTier
        var schoolCode: String?
    }

    func lockCase(_ caseID: String, on connection: PostgresConnection) async throws -> LockedCase {
        let rows = try await connection.query(prepared: """
            SELECT subject_id, status, tier, school_code FROM intervention.cases WHERE case_id::text = \(caseID) FOR UPDATE
            """, logger: logger)
        for try await (subject, status, tier, school) in rows.decode((String, String, String, String?).self) {
            return LockedCase(subjectID: subject, status: status, tier: RiskTier(rawValue: tier) ?? .high, schoolCode: school)
        }
        throw InterventionError(.notFound, "no case \(caseID)")
    }

    /// Seals or unseals a case on an order; sealing hides it from every list, search and statistic.
    /// - Returns: `subject.sealed.v1`, so that assessment hides (or shows again) the minor's offence record.
    func seal(_ sealed: Bool, caseID: String, order: String, actor: Actor, at now: Date, on connection: PostgresConnection) async throws -> [Emission] {
        guard !order.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw InterventionError(.invalid, "a seal or unseal needs the order's reference")
        }
        let locked = try await lockCase(caseID, on: connection)
        try await connection.query(prepared: """
            UPDATE intervention.cases SET sealed = \(sealed), sealed_order = \(order), sealed_at = \(now), updated_at = \(now)
            WHERE case_id::text = \(caseID)
            """, logger: logger)
        if sealed {
            try await connection.query(prepared: """
                INSERT INTO intervention.sealed_subjects (subject_id, order_ref, sealed_at) VALUES (\(locked.subjectID), \(order), \(now))
                ON CONFLICT (subject_id) DO UPDATE SET order_ref = EXCLUDED.order_ref
                """, logger: logger)
        } else {
            try await connection.query(prepared: "DELETE FROM intervention.sealed_subjects WHERE subject_id = \(locked.subjectID)", logger: logger)
        }
        try await chronicle(caseID, sealed ? "sealed" : "unsealed", "order \(order)", by: actor, at: now, on: connection)
        return [Emission(SubjectSealedV1(subjectID: locked.subjectID, sealed: sealed, at: now), subject: locked.subjectID)]
    }

    /// A seal order from a case lead: every case of the subject, and any later one, is sealed.
    func sealSubject(_ subjectID: String, order: String, actor: Actor, at now: Date, on connection: PostgresConnection) async throws {
        try await connection.query(prepared: """
            INSERT INTO intervention.sealed_subjects (subject_id, order_ref, sealed_at) VALUES (\(subjectID), \(order), \(now))
            ON CONFLICT (subject_id) DO NOTHING
            """, logger: logger)
        let rows = try await connection.query(prepared: """
            UPDATE intervention.cases SET sealed = true, sealed_order = \(order), sealed_at = \(now), updated_at = \(now)
            WHERE subject_id = \(subjectID) AND NOT sealed RETURNING case_id::text
            """, logger: logger)
        var cases: [String] = []
        for try await id in rows.decode(String.self) { cases.append(id) }
        for id in cases { try await chronicle(id, "sealed", "order \(order)", by: actor, at: now, on: connection) }
    }

    /// The subject's open case, if any.
    func openCase(of subjectID: String, on connection: PostgresConnection) async throws -> String? {
        let rows = try await connection.query(prepared: 
            "SELECT case_id::text FROM intervention.cases WHERE subject_id = \(subjectID) AND status = 'open'", logger: logger)
        for try await id in rows.decode(String.self) { return id }
        return nil
    }

    // MARK: Reads for the API

    /// Which cases to list.
    struct CaseFilter: Sendable {
        var status: String?
        var tier: String?
        var school: String?
        /// The cases of one subject.
        var subject: String?
        /// Cases with a task of this unit.
        var unit: String?
        /// Only cases with a task past its deadline.
        var late = false
        /// Latest first; oldest first otherwise.
        var newest = false
        /// The last case of the page before.
        var after: String?
        var limit = 50
    }

    /// A page of cases, sealed ones left out.
    /// - Parameters:
    ///   - filter: Which cases.
    ///   - readerUnits: Only cases with a task of one of these units; nil for every case (the task force).
    ///   - now: Tasks past their deadline by now are late.
    func list(_ filter: CaseFilter, readerUnits: [String]?, now: Date) async throws -> [CaseSummary] {
            let rows = try await database.query("""
                SELECT c.case_id::text, c.subject_id, c.tier, c.status, c.school_code, c.opened_at,
                       (SELECT count(*)::int FROM intervention.tasks t WHERE t.case_id = c.case_id AND t.status = ANY(\(TaskStatus.openNames)::text[])),
                       (SELECT count(*)::int FROM intervention.tasks t WHERE t.case_id = c.case_id AND t.status = ANY(\(TaskStatus.openNames)::text[]) AND t.due_at < \(now))
                FROM intervention.cases c
                WHERE NOT c.sealed AND (\(filter.status)::text IS NULL OR c.status = \(filter.status))
                  AND (\(filter.tier)::text IS NULL OR c.tier = \(filter.tier))
                  AND (\(filter.school)::text IS NULL OR c.school_code = \(filter.school))
                  AND (\(filter.subject)::text IS NULL OR c.subject_id = \(filter.subject))
                  AND (\(filter.unit)::text IS NULL OR EXISTS (SELECT 1 FROM intervention.tasks t WHERE t.case_id = c.case_id AND t.unit = \(filter.unit)))
                  AND (NOT \(filter.late) OR EXISTS (SELECT 1 FROM intervention.tasks t WHERE t.case_id = c.case_id
                                                AND t.status = ANY(\(TaskStatus.openNames)::text[]) AND t.due_at < \(now)))
                  AND (\(readerUnits)::text[] IS NULL OR EXISTS (SELECT 1 FROM intervention.tasks t WHERE t.case_id = c.case_id AND t.unit = ANY(\(readerUnits)::text[])))
                  AND (\(filter.after)::text IS NULL OR CASE WHEN \(filter.newest)
                         THEN (c.opened_at, c.case_id) < (SELECT opened_at, case_id FROM intervention.cases WHERE case_id::text = \(filter.after))
                         ELSE (c.opened_at, c.case_id) > (SELECT opened_at, case_id FROM intervention.cases WHERE case_id::text = \(filter.after)) END)
                ORDER BY CASE WHEN \(filter.newest) THEN c.opened_at END DESC, CASE WHEN \(filter.newest) THEN c.case_id END DESC, c.opened_at, c.case_id
                LIMIT \(filter.limit)
                """)
            var cases: [CaseSummary] = []
            for try await (id, subject, tier, status, school, opened, open, lateTasks)
                in rows.decode((String, String, String, String, String?, Date, Int, Int).self) {
                cases.append(CaseSummary(
                    caseID: id, subjectID: subject, tier: tier, status: status, schoolCode: school, openedAt: opened, openTasks: open, lateTasks: lateTasks))
            }
        return cases
    }

    /// A case as the API shows it, its care team still sealed (``sealedTeam(of:on:)``).
    /// - Parameters:
    ///   - caseID: The case.
    ///   - now: Tasks past their deadline by now are late.
    func detail(_ caseID: String, now: Date) async throws -> (detail: CaseDetail, sealedTeam: [[UInt8]])? {
        let rows = try await database.query("""
            SELECT subject_id, tier, status, school_code, reason, opened_at, closed_at, review, sealed
            FROM intervention.cases WHERE case_id::text = \(caseID)
            """)
        var detail: CaseDetail?
        for try await (subject, tier, status, school, reason, opened, closed, review, sealed)
            in rows.decode((String, String, String, String?, String, Date, Date?, String?, Bool).self) {
            detail = CaseDetail(
                caseID: caseID, subjectID: subject, tier: tier, status: status, schoolCode: school, reason: reason, openedAt: opened,
                closedAt: closed, review: review, sealed: sealed, team: [], tasks: [], followUps: [], referrals: [], chronology: [])
        }
        guard var detail else { return nil }
        let sealedTeam = try await database.withConnection { try await self.sealedTeam(of: caseID, on: $0) }
        let tasks = try await database.query("""
            SELECT task_id::text, unit, measure, status, due_at, note, reason FROM intervention.tasks WHERE case_id::text = \(caseID) ORDER BY seq
            """)
        for try await (id, unit, measure, status, due, note, reason) in tasks.decode((String, String, String, String, Date, String?, String?).self) {
            detail.tasks.append(TaskStore.TaskLine(
                taskID: id, caseID: caseID, unit: unit, measure: measure, status: status, dueAt: due,
                late: TaskStatus.isLate(status, due: due, now: now), note: note, reason: reason))
        }
        let followUps = try await database.query("""
            SELECT due_at, visited_at, recorded_by, note, cancelled_at IS NOT NULL FROM intervention.followups
            WHERE case_id::text = \(caseID) ORDER BY due_at
            """)
        for try await (due, visited, by, note, cancelled) in followUps.decode((Date, Date?, String?, String?, Bool).self) {
            detail.followUps.append(.init(dueAt: due, visitedAt: visited, recordedBy: by, note: note, cancelled: cancelled))
        }
        let referrals = try await database.query("""
            SELECT referral_id, kind, status, outcome, note, urgent, requested_at, resolved_at, resolved_by FROM intervention.referrals
            WHERE case_id::text = \(caseID) ORDER BY requested_at
            """)
        for try await (id, target, status, outcome, note, urgent, requested, resolved, by)
            in referrals.decode((String, String, String, String?, String?, Bool, Date, Date?, String?).self) {
            detail.referrals.append(.init(
                referralID: id, target: target, status: status, outcome: outcome, note: note, urgent: urgent, requestedAt: requested,
                resolvedAt: resolved, resolvedBy: by, outcomes: ReferralKind(rawValue: target)?.outcomes ?? []))
        }
        let chronology = try await database.query("""
            SELECT kind, detail, event_id, at FROM intervention.chronology WHERE case_id::text = \(caseID) ORDER BY at, id
            """)
        for try await (kind, text, actor, at) in chronology.decode((String, String, String, Date).self) {
            detail.chronology.append(.init(kind: kind, detail: text, by: actor, at: at))
        }
        return (detail, sealedTeam)
    }

    /// A case's care team as named, each member sealed.
    func sealedTeam(of caseID: String, on connection: PostgresConnection) async throws -> [[UInt8]] {
        let rows = try await connection.query(prepared: 
            "SELECT identity FROM intervention.team_members WHERE case_id::text = \(caseID) ORDER BY role", logger: logger)
        var members: [[UInt8]] = []
        for try await sealed in rows.decode(ByteBuffer.self) { members.append(Array(buffer: sealed)) }
        return members
    }

    /// Replaces a case's care team.
    /// - Parameters:
    ///   - roles: Each member's role, in order.
    ///   - sealed: Each member, sealed, in the same order.
    func replaceTeam(of caseID: String, roles: [String], sealed: [[UInt8]], on connection: PostgresConnection) async throws {
        try await connection.query(prepared: "DELETE FROM intervention.team_members WHERE case_id::text = \(caseID)", logger: logger)
        try await connection.query(prepared: """
            INSERT INTO intervention.team_members (case_id, role, identity)
            SELECT \(caseID)::uuid, r, i FROM unnest(\(roles)::text[], \(sealed.map { ByteBuffer(bytes: $0) })::bytea[]) AS t(r, i)
            """, logger: logger)
    }

    /// Whether one of these units has a task in the case.
    func hasTask(of units: [String], in caseID: String) async throws -> Bool {
        let rows = try await database.query("""
            SELECT 1 FROM intervention.tasks WHERE case_id::text = \(caseID) AND unit = ANY(\(units)::text[]) LIMIT 1
            """)
        for try await _ in rows { return true }
        return false
    }

    /// Whether a case opens to this reader: it is not sealed, or a break-the-glass window granted to them is still open.
    func mayOpenIfSealed(_ identity: APIIdentity, caseID: String, now: Date) async throws -> Bool {
        let rows = try await database.query("""
            SELECT NOT c.sealed OR EXISTS (SELECT 1 FROM intervention.seal_access a WHERE a.case_id = c.case_id AND a.agency = \(identity.agency)
                                           AND a.person IS NOT DISTINCT FROM \(identity.person)
                                           AND a.role = \(identity.role.name) AND a.expires_at > \(now))
            FROM intervention.cases c WHERE c.case_id::text = \(caseID)
            """)
        for try await open in rows.decode(Bool.self) { return open }
        return true
    }

    /// Opens a sealed case to this reader until `expires`, on a stated reason.
    /// - Returns: false when the case is not sealed (or does not exist).
    func grantAccess(_ caseID: String, to identity: APIIdentity, reason: String, at now: Date, until expires: Date) async throws -> Bool {
        let rows = try await database.query("""
            INSERT INTO intervention.seal_access (case_id, agency, role, person, reason, granted_at, expires_at)
            SELECT case_id, \(identity.agency), \(identity.role.name), \(identity.person), \(reason), \(now), \(expires) FROM intervention.cases
            WHERE case_id::text = \(caseID) AND sealed RETURNING 1
            """)
        for try await _ in rows { return true }
        return false
    }

    struct CaseSummary: Codable {
        var caseID: String
        var subjectID: String
        var tier: String
        var status: String
        var schoolCode: String?
        var openedAt: Date
        var openTasks: Int
        var lateTasks: Int
        enum CodingKeys: String, CodingKey { case caseID = "caseId", subjectID = "subjectId", tier, status, schoolCode, openedAt, openTasks, lateTasks }
    }

    struct CaseDetail: Codable {
        struct Entry: Codable { var kind: String; var detail: String; var by: String; var at: Date }
        var caseID: String
        var subjectID: String
        var tier: String
        var status: String
        var schoolCode: String?
        var reason: String
        var openedAt: Date
        var closedAt: Date?
        var review: String?
        /// Sealed by a court's order: out of every list, opened only by break-the-glass.
        var sealed: Bool
        var team: [CareTeamMember]
        var tasks: [TaskStore.TaskLine]
        /// Follow-up visits of the case, due by its tier: the one due, those made, those cancelled.
        var followUps: [FollowUp]
        /// Referrals to other bodies made in the case, with their outcomes.
        var referrals: [CaseReferral]
        var chronology: [Entry]
        enum CodingKeys: String, CodingKey {
            case caseID = "caseId", subjectID = "subjectId", tier, status, schoolCode, reason, openedAt, closedAt, review, sealed, team, tasks,
                 followUps, referrals, chronology
        }
        struct FollowUp: Codable { var dueAt: Date; var visitedAt: Date?; var recordedBy: String?; var note: String?; var cancelled: Bool }
        struct CaseReferral: Codable {
            var referralID: String
            var target: String
            var status: String
            var outcome: String?
            var note: String?
            var urgent: Bool
            var requestedAt: Date
            var resolvedAt: Date?
            var resolvedBy: String?
            /// The outcomes this kind of referral may end with (`POST /v1/referrals/{id}/outcome`).
            var outcomes: [String]
            enum CodingKeys: String, CodingKey {
                case referralID = "referralId", target, status, outcome, note, urgent, requestedAt, resolvedAt, resolvedBy, outcomes
            }
        }
    }
}
