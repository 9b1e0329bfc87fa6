import Contracts
import Foundation
@testable import Intervention
import ServiceKit
import Testing

/// Intervention's pure rules: where a task may go, when things fall due by tier, how a late task climbs,
/// and the periods the task force counts in.
@Suite("Intervention domain")
struct InterventionDomainTests {
    static let defaults = try! InterventionConfiguration(environment: [:])
    static let noon = ContractCoding.parseTime("2026-11-30T12:00:00+08:00")!

    @Test("An open task may move forward or be finished; a finished one moves no more")
    func transitions() {
        #expect(TaskStatus.assigned.allows(.accepted))
        #expect(TaskStatus.assigned.allows(.completed), "a unit may report done without accepting first")
        #expect(!TaskStatus.accepted.allows(.accepted), "accepting twice is a conflict")
        #expect(TaskStatus.progress.allows(.progress), "progress may be reported again")
        #expect(!TaskStatus.progress.allows(.assigned))
        for finished in [TaskStatus.completed, .rejected, .cancelled] {
            #expect(finished.isFinished)
            for next in TaskStatus.allCases { #expect(!finished.allows(next), "\(finished) -> \(next)") }
        }
        #expect(TaskStatus.open == [.assigned, .accepted, .progress])
        #expect(TaskStatus.openNames == ["assigned", "accepted", "progress"])
    }

    @Test("A refused move names the task and why; rejecting or cancelling needs a reason")
    func refusals() throws {
        let conflict = #expect(throws: InterventionError.self) { try TaskStatus.completed.check(.progress, reason: nil, taskID: "t1") }
        #expect(conflict?.code == .conflict)
        #expect(conflict?.description == "task t1 is completed; it cannot become progress")
        let missing = #expect(throws: InterventionError.self) { try TaskStatus.assigned.check(.rejected, reason: "  ", taskID: "t1") }
        #expect(missing?.code == .invalid)
        try TaskStatus.assigned.check(.rejected, reason: "not our district", taskID: "t1")
        try TaskStatus.accepted.check(.completed, reason: nil, taskID: "t1")
    }

    @Test("A task is late only while open and past its deadline")
    func lateness() {
        let due = Self.noon
        #expect(TaskStatus.isLate("assigned", due: due, now: due.addingTimeInterval(1)))
        #expect(!TaskStatus.isLate("assigned", due: due, now: due))
        #expect(!TaskStatus.isLate("completed", due: due, now: due.addingTimeInterval(86_400)))
        #expect(!TaskStatus.isLate("unknown", due: due, now: due.addingTimeInterval(86_400)))
    }

    @Test("Deadlines by tier follow DOMAIN.md's table: first response 1 h / 24 h / 120 h, a plan 24 h / 72 h / 240 h, visits 7 / 14 / 30 / 90 days")
    func deadlinesByTier() {
        let c = Self.defaults, now = Self.noon
        func hours(_ date: Date) -> Double { date.timeIntervalSince(now) / 3600 }
        #expect(hours(c.firstResponseDue(.critical, from: now)) == 1)
        #expect(hours(c.firstResponseDue(.high, from: now)) == 24)
        #expect(hours(c.firstResponseDue(.medium, from: now)) == 120)
        #expect(hours(c.planDue(.critical, from: now)) == 24)
        #expect(hours(c.planDue(.high, from: now)) == 72)
        #expect(hours(c.planDue(.low, from: now)) == 240, "low takes the medium figure")
        #expect(hours(c.followUpDue(.critical, after: now)) == 7 * 24)
        #expect(hours(c.followUpDue(.high, after: now)) == 14 * 24)
        #expect(hours(c.followUpDue(.medium, after: now)) == 30 * 24)
        #expect(hours(c.followUpDue(.low, after: now)) == 90 * 24)
    }

    @Test("Settings change the deadlines; a ladder whose task-force step is not after the superior's is refused")
    func configuredDeadlines() throws {
        let c = try InterventionConfiguration(environment: ["FIRST_RESPONSE_HOURS": "2,12,48", "ESCALATE_SUPERIOR_AFTER_HOURS": "6"])
        #expect(c.firstResponseDue(.high, from: Self.noon).timeIntervalSince(Self.noon) == 12 * 3600)
        #expect(c.escalationSteps(due: Self.noon)[1].at.timeIntervalSince(Self.noon) == 6 * 3600)
        #expect(throws: ConfigurationError.self) {
            try InterventionConfiguration(environment: ["ESCALATE_SUPERIOR_AFTER_HOURS": "72", "ESCALATE_TASK_FORCE_AFTER_HOURS": "24"])
        }
        #expect(throws: ConfigurationError.self) { try InterventionConfiguration(environment: ["PLAN_HOURS": "24,72"]) }
    }

    @Test("A late task is reminded at its deadline, goes to the unit's superior a day later and to the task force after three")
    func escalationLadder() {
        let steps = Self.defaults.escalationSteps(due: Self.noon)
        #expect(steps.map(\.step) == [1, 2, 3])
        #expect(steps.map { $0.at.timeIntervalSince(Self.noon) / 3600 } == [0, 24, 72])
        #expect(steps.map(\.kind) == [.reminder, .escalation(.superior), .escalation(.taskForce)])
        #expect((1...3).map(EscalationStep.kind(of:)) == steps.map(\.kind), "a stored timer's step means what it meant when set")
    }

    @Test("Periods are counted in China Standard Time: weeks from Monday, quarters from January, April, July, October")
    func periods() throws {
        func local(_ date: Date) -> String { Periods.day(date) }
        let now = Self.noon  // Monday 30 November 2026, noon in Beijing
        let (dayStart, dayEnd) = try Periods.period("day", nil, now: now)
        #expect(local(dayStart) == "2026-11-30" && dayEnd.timeIntervalSince(dayStart) == 86_400)
        #expect(dayStart == ContractCoding.parseTime("2026-11-29T16:00:00Z"), "midnight in Beijing")
        let (weekStart, weekEnd) = try Periods.period("week", "2026-12-03", now: now)
        #expect(local(weekStart) == "2026-11-30" && local(weekEnd) == "2026-12-07")
        let (quarterStart, quarterEnd) = try Periods.period("quarter", "2026-11-15", now: now)
        #expect(local(quarterStart) == "2026-10-01" && local(quarterEnd) == "2027-01-01")
        let (monthStart, monthEnd) = try Periods.period("month", "2026-02-10", now: now)
        #expect(local(monthStart) == "2026-02-01" && local(monthEnd) == "2026-03-01")
        #expect(throws: Periods.Invalid.self) { try Periods.period("fortnight", nil, now: now) }
        #expect(throws: Periods.Invalid.self) { try Periods.period("day", "30/11/2026", now: now) }
        #expect(throws: Periods.Invalid.self) { try Periods.period("day", "2026-02-30", now: now) }
    }
}
