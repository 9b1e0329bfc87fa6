import Contracts
import Foundation
import Logging
import Messaging
import ServiceKit

/// What intervention does with each event it consumes: cases opened or attached to, tasks assigned with
/// deadlines by tier, units' feedback applied, referrals tracked, seal orders and deliveries recorded.
struct InterventionHandlers: Sendable {
    let stores: InterventionStores
    let configuration: InterventionConfiguration
    let clock: any WallClock

    var cases: CaseStore { stores.cases }
    var tasks: TaskStore { stores.tasks }
    var referrals: ReferralStore { stores.referrals }

    func register(_ handlers: inout HandlerRegistry) {
        // A subject at high or critical gets a case (or the signal attaches to the open one) and a first-response task:
        // a batch's assessments together, in waves of distinct subjects, each wave in three statements.
        handlers.onEach(RiskAssessedV1.self) { events in try await self.respond(to: events) }
        // Only those tiers reach the queue (and, from a replica of the version before, every tier under the plain name).
        handlers.bind(RiskAssessedV1.self, only: [
            RiskAssessedV1.eventType.routingKey, RiskAssessedV1.routingKey(.high), RiskAssessedV1.routingKey(.critical),
        ])

        // A unit's feedback on its task, through intake.
        handlers.on(TaskFeedbackAcceptedV1.self) { feedback, context in
            let status: TaskUpdatedV1.Status = switch feedback.status {
            case .accepted: .accepted
            case .progress: .progress
            case .completed: .completed
            case .rejected: .rejected
            }
            do {
                let emissions = try await tasks.update(
                    taskID: feedback.taskID, unit: feedback.unit, status: status, note: feedback.note, reason: feedback.reason,
                    by: .event(context.envelope.id), at: clock.now(), on: context.connection)
                try await context.emit(emissions)
                return .applied
            } catch let error as InterventionError {
                // Feedback on someone else's task, an unknown one, or out of order: kept aside with the reason,
                // and the sending unit hears why through intake (a second receipt).
                let field = error.code == .invalid ? "/reason" : error.code == .conflict ? "/status" : "/taskId"
                try await context.emit(EventRefusedV1(
                    intakeID: feedback.intakeID, eventType: TaskFeedbackV1.eventType.name, service: InterventionService.name,
                    reasons: [FieldError(field: field, problem: error.description)], at: clock.now()), subject: feedback.intakeID)
                context.logger.notice("task feedback refused", metadata: [
                    "intervention.task": "\(feedback.taskID)", "intervention.unit": "\(feedback.unit)", "intervention.refusal": "\(error.code)",
                ])
                return .setAside(reason: error.description)
            }
        }

        // "School blows the whistle, departments report": an incident a school reports opens a case for
        // each victim (else each person reported) and sets the departments that must act to work, with deadlines:
        // a batch's reports together, in waves of distinct people, each wave in three statements.
        handlers.onEach(ReportAcceptedV1.self) { events in try await self.respond(toReports: events) }

        // A venue that admitted minors (一书一函, 责令限期整改): its regulator gets a rectification task by the deadline,
        // the minors' schools a joint follow-up task naming no one; a repeated breach while one is open goes to the task force.
        handlers.on(VenueFlaggedV1.self) { flagged, context in
            let now = clock.now()
            let actor = CaseStore.Actor.event(context.envelope.id)
            let subject = SchoolCase.subjectID("venue|" + flagged.venueKey)
            let (caseID, _, emissions) = try await cases.openOrAttach(
                subjectID: subject, tier: .high, schoolCode: nil,
                reason: "venue \(flagged.name): \(flagged.reason) (finding \(flagged.findingID))", by: actor, at: now, on: context.connection)
            try await context.emit(emissions)
            let open = try await tasks.openTasks(caseID: caseID, measure: .venueRectification, on: context.connection)
            let regulator = flagged.regulatorUnit ?? configuration.taskForceUnit
            let repeated = !open.isEmpty
            let task = try await tasks.assign(
                caseID: caseID, subjectID: subject, unit: repeated ? configuration.taskForceUnit : regulator, measure: .venueRectification,
                tier: .high, urgent: repeated, due: repeated ? configuration.planDue(.critical, from: now) : flagged.dueAt,
                note: repeated
                    ? "repeated breach at \(flagged.kind.rawValue) \(flagged.name) (\(flagged.venueKey)) while \(regulator)'s rectification is open"
                        + " (\(flagged.breaches) within the window)"
                    : "rectify \(flagged.kind.rawValue) \(flagged.name) (\(flagged.venueKey)): \(flagged.reason)",
                by: actor, at: now, on: context.connection)
            try await context.emit(task, subject: caseID)
            for school in flagged.schoolCodes {
                let followUp = try await tasks.assign(
                    caseID: caseID, subjectID: subject, unit: school, measure: .jointFollowUp, tier: .high, urgent: false,
                    due: configuration.planDue(.high, from: now),
                    note: "minors of this school were found at \(flagged.kind.rawValue) \(flagged.name) (finding \(flagged.findingID)); follow up with \(regulator)",
                    by: actor, at: now, on: context.connection)
                try await context.emit(followUp, subject: caseID)
            }
            return .applied
        }

        // The registry names who stands beside a school; a later change replaces an earlier one.
        handlers.on(SchoolUpdatedV1.self) { school, context in
            try await stores.units.setSchoolUnits(school, on: context.connection)
            return .applied
        }

        // A hazard an inspection found is a task for the unit that must rectify it, by its deadline, on the school's case.
        handlers.on(HazardReportedV1.self) { hazard, context in
            let now = clock.now()
            let actor = CaseStore.Actor.event(context.envelope.id)
            let subject = SchoolCase.subjectID(hazard.schoolCode)
            let (caseID, _, emissions) = try await cases.openOrAttach(
                subjectID: subject, tier: hazard.severity == .critical ? .critical : .high, schoolCode: hazard.schoolCode,
                reason: "school safety: \(hazard.severity.rawValue) hazard \(hazard.item) found by \(hazard.inspectedBy)", by: actor, at: now,
                on: context.connection)
            try await context.emit(emissions)
            let task = try await tasks.assign(
                caseID: caseID, subjectID: subject, unit: hazard.unit, measure: .hazardRectification, tier: hazard.severity == .critical ? .critical : .high,
                urgent: hazard.severity == .critical, due: hazard.dueAt, note: "\(hazard.item) (hazard \(hazard.hazardID))", by: actor, at: now,
                on: context.connection)
            try await context.emit(task, subject: caseID)
            return .applied
        }

        // A school whose rating fell is put under focus: a supervision task for the education bureau.
        handlers.on(RatingChangedV1.self) { rating, context in
            guard rating.fell else { return .applied }
            let now = clock.now()
            let actor = CaseStore.Actor.event(context.envelope.id)
            let subject = SchoolCase.subjectID(rating.schoolCode)
            let (caseID, _, emissions) = try await cases.openOrAttach(
                subjectID: subject, tier: .high, schoolCode: rating.schoolCode,
                reason: "school safety rating fell to \(rating.rating.rawValue) in \(rating.quarter)", by: actor, at: now, on: context.connection)
            try await context.emit(emissions)
            let unit = Departments.units(["education-{district}"], schoolCode: rating.schoolCode)[0]
            let task = try await tasks.assign(
                caseID: caseID, subjectID: subject, unit: unit, measure: .schoolSupervision, tier: .high, urgent: false,
                due: configuration.planDue(.high, from: now),
                note: "\(rating.quarter): \(rating.reasons.joined(separator: "; "))", by: actor, at: now, on: context.connection)
            try await context.emit(task, subject: caseID)
            return .applied
        }

        // A 110 or 12345 referral from intake is tracked to its outcome, on the subject's case when there is one.
        handlers.on(ReferralRequestedV1.self) { referral, context in
            let kind: ReferralKind = referral.target == .police110 ? .police110 : .city12345
            let caseID = try await referral.subjectID.asyncFlatMap { try await cases.openCase(of: $0, on: context.connection) }
            try await referrals.openReferral(
                id: referral.referralID, kind: kind, caseID: caseID, taskID: nil, subjectID: referral.subjectID, fromAgency: referral.fromAgency,
                urgent: referral.urgent, fromIntakeID: referral.fromIntakeID, fromEventType: referral.fromEventType,
                by: .event(context.envelope.id), at: clock.now(), on: context.connection)
            return .applied
        }

        // A student back at school (劝返复学): the return is the outcome the persuade-to-return task exists for.
        // The case records it and every open persuade-to-return task of the student is completed with it.
        handlers.on(AttendanceSignalAcceptedV1.self) { signal, context in
            guard signal.kind == .returned, let caseID = try await cases.openCase(of: signal.subjectID, on: context.connection) else {
                return .applied
            }
            let now = clock.now()
            let actor = CaseStore.Actor.event(context.envelope.id)
            try await cases.chronicle(
                caseID, "returned_to_school", "attendance signal from \(signal.agency): back at school since \(signal.since)", by: actor, at: now,
                on: context.connection)
            for taskID in try await tasks.openTasks(caseID: caseID, measure: .persuadeReturn, on: context.connection) {
                try await context.emit(try await tasks.update(
                    taskID: taskID, unit: nil, status: .completed, note: "returned to school since \(signal.since) (attendance signal)",
                    reason: nil, by: actor, at: now, on: context.connection))
            }
            return .applied
        }

        // A case lead under a seal order (档案封存) seals the subject's cases, now and later.
        handlers.on(CaseLeadAcceptedV1.self) { lead, context in
            guard lead.sealed else { return .applied }
            try await cases.sealSubject(
                lead.subjectID, order: "case lead \(lead.externalID) from \(lead.agency)", actor: .event(context.envelope.id), at: clock.now(),
                on: context.connection)
            return .applied
        }

        // The case's chronology records that the responsible unit was told: all the batch's deliveries in one statement.
        handlers.onEach(NotificationDeliveredV1.self) { deliveries in
            guard let connection = deliveries.first?.context.connection else { return }
            try await cases.chronicle(
                casesAssignedBy: deliveries.map { delivered, context in
                    (delivered.aboutEventID, "\(delivered.recipient) via \(delivered.channel.rawValue)", CaseStore.Actor.event(context.envelope.id))
                },
                "unit_notified", at: clock.now(), on: connection)
        }
    }

    /// Reports of incidents at schools: each victim (else each person reported) gets a case, opened or attached to,
    /// and each department that must act — with the school's police officer and legal vice-principal on bullying
    /// and violence — a task per person. A person's reports are applied one wave each, in the batch's order (by
    /// report id, the reports' envelope subject).
    func respond(toReports events: [(event: ReportAcceptedV1, context: HandlerContext)]) async throws {
        let reports = events.compactMap { report, context -> (report: ReportAcceptedV1, context: HandlerContext, school: String, people: [String])? in
            guard let school = report.schoolCode else { return nil }
            let victims = report.subjects.filter { $0.role == .victim }
            // Each person once (a case is opened or attached to once per report), in the order named.
            var named = Set<String>()
            let people = (victims.isEmpty ? report.subjects.filter { $0.role == .allegedPerpetrator } : victims).map(\.subjectID)
                .filter { named.insert($0).inserted }
            return people.isEmpty ? nil : (report, context, school, people)
        }
        guard let connection = reports.first?.context.connection else { return }
        let now = clock.now()
        var standing: [String: [String]] = [:]
        for wave in Waves.of(reports.map { Set($0.people) }) {
            let items = wave.map { reports[$0] }
            var units: [[String]] = []
            for (report, context, school, _) in items {
                let templates = try await context.readOnce("intervention.departments.\(report.category.rawValue)") {
                    try await stores.units.departments(for: report.category, on: connection)
                }
                var these = Departments.units(templates, schoolCode: school)
                // 一校一警, 法治副校长: the school's police officer and legal vice-principal stand on every bullying and violence case.
                // Read once per school in this call (a school's update handled before it in the batch is seen).
                if [.bullying, .violence].contains(report.category) {
                    if standing[school] == nil { standing[school] = try await stores.units.schoolUnits(school, on: connection) }
                    for unit in standing[school] ?? [] where !these.contains(unit) { these.append(unit) }
                }
                units.append(these)
            }
            // Every person's case first, then all their tasks in one statement.
            let found = try await cases.openOrAttach(
                items.flatMap { report, context, school, people in
                    people.map { person in
                        CaseStore.Opening(
                            subjectID: person, tier: report.immediateDanger ? .critical : .high, schoolCode: school,
                            reason: "\(report.category.rawValue) reported by \(report.agency)\(report.immediateDanger ? ", danger now" : "")",
                            actor: .event(context.envelope.id))
                    }
                },
                asking: nil, at: now, on: connection)
            var planned: [[TaskStore.Planned]] = []
            var next = found.makeIterator()
            for ((report, context, school, people), units) in zip(items, units) {
                let tier: RiskTier = report.immediateDanger ? .critical : .high
                var these: [TaskStore.Planned] = []
                for person in people {
                    guard let opened = next.next() else { break }
                    try await context.emit(opened.emissions)
                    for unit in units {
                        these.append(TaskStore.Planned(
                            task: tasks.plan(
                                caseID: opened.caseID, subjectID: person, unit: unit, measure: .incidentResponse, tier: tier,
                                urgent: report.immediateDanger, due: configuration.firstResponseDue(tier, from: now)),
                            measure: .incidentResponse, note: "\(report.category.rawValue) reported at school \(school) (report \(report.reportID))",
                            actor: .event(context.envelope.id)))
                    }
                }
                planned.append(these)
            }
            try await tasks.assign(planned.flatMap { $0 }, by: .event(items[0].context.envelope.id), at: now, on: connection)
            for ((_, context, _, _), these) in zip(items, planned) {
                for task in these.map(\.task) { try await context.emit(task, subject: task.caseID) }
            }
        }
    }

    /// Assessments at high or critical: each subject's case is opened, or the signal attached to the open one, and a
    /// case without a first response yet — or a rise to critical — gets one from the school (or the task force).
    /// A subject's assessments are applied in the order they came, one wave each.
    func respond(to events: [(event: RiskAssessedV1, context: HandlerContext)]) async throws {
        let serious = events.filter { $0.event.tier >= .high }
        guard let connection = serious.first?.context.connection else { return }
        let now = clock.now()
        for wave in Waves.of(serious.map { [$0.event.subjectID] }) {
            let items = wave.map { serious[$0] }
            let found = try await cases.openOrAttach(
                items.map { assessed, context in
                    CaseStore.Opening(
                        subjectID: assessed.subjectID, tier: assessed.tier, schoolCode: assessed.schoolCode,
                        reason: "risk assessed \(assessed.tier.rawValue)\(assessed.urgent ? ", urgent" : ""): "
                            + assessed.reasons.prefix(5).joined(separator: "; "),
                        actor: .event(context.envelope.id))
                },
                asking: .firstResponse, at: now, on: connection)
            var planned: [TaskStore.Planned] = []
            for ((assessed, context), opened) in zip(items, found) {
                try await context.emit(opened.emissions)
                guard opened.opened || !opened.hasTask || (assessed.tier == .critical && assessed.previousTier != .critical) else { continue }
                let assigned = tasks.plan(
                    caseID: opened.caseID, subjectID: assessed.subjectID, unit: assessed.schoolCode ?? configuration.taskForceUnit,
                    measure: .firstResponse, tier: assessed.tier, urgent: assessed.urgent, due: configuration.firstResponseDue(assessed.tier, from: now))
                let event = try await context.emit(assigned, subject: opened.caseID)
                planned.append(TaskStore.Planned(
                    task: assigned, measure: .firstResponse, note: nil, announcedBy: event.id, actor: .event(context.envelope.id)))
            }
            try await tasks.assign(planned, by: .event(items[0].context.envelope.id), at: now, on: connection)
        }
    }
}
