import Contracts
import Foundation

/// One step of a late task's escalation.
struct EscalationStep: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// At the deadline: the unit is reminded (`task.overdue.v1`).
        case reminder
        /// Later: the case goes up (`case.escalated.v1`), to the unit's superior, then to the task force.
        case escalation(CaseEscalatedV1.Level)
    }

    /// 1, 2 or 3, as the timers are numbered.
    var step: Int
    var at: Date
    var kind: Kind

    /// What a timer's step number means.
    static func kind(of step: Int) -> Kind {
        switch step {
        case 1: .reminder
        case 2: .escalation(.superior)
        default: .escalation(.taskForce)
        }
    }
}

/// Deadlines by tier (docs/DOMAIN.md) and the escalation ladder, from the service's settings.
extension InterventionConfiguration {
    /// When the first response to a case at `tier` is due.
    func firstResponseDue(_ tier: RiskTier, from now: Date) -> Date {
        now.addingTimeInterval(firstResponse[tier] ?? 24 * 3600)
    }

    /// When a plan's measure for a case at `tier` is due.
    func planDue(_ tier: RiskTier, from now: Date) -> Date {
        now.addingTimeInterval(plan[tier] ?? 72 * 3600)
    }

    /// When the next follow-up visit of a case at `tier` is due.
    func followUpDue(_ tier: RiskTier, after time: Date) -> Date {
        time.addingTimeInterval(followUp[tier] ?? 30 * 86_400)
    }

    /// The three steps of a task due at `due`: a reminder at the deadline, to the unit's superior after
    /// ``superiorAfter``, to the task force after ``taskForceAfter``.
    func escalationSteps(due: Date) -> [EscalationStep] {
        [
            EscalationStep(step: 1, at: due, kind: .reminder),
            EscalationStep(step: 2, at: due.addingTimeInterval(superiorAfter), kind: .escalation(.superior)),
            EscalationStep(step: 3, at: due.addingTimeInterval(taskForceAfter), kind: .escalation(.taskForce)),
        ]
    }
}
