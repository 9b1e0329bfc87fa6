import Contracts
import Foundation

/// Where a task stands, and where it may go from there.
///
///     assigned ─┬─> accepted ─┬─> progress ─┬─> completed
///               │             │      ↺      ├─> rejected   (with a reason)
///               └─────────────┴─────────────┴─> cancelled  (task force, with a reason)
///
/// A unit may skip steps (report `completed` on a task still `assigned`); a finished task moves no more.
enum TaskStatus: String, Codable, Sendable, CaseIterable {
    case assigned, accepted, progress, completed, rejected, cancelled

    /// Still to be done: what a worklist shows, what can fall late and escalate.
    static let open: [TaskStatus] = [.assigned, .accepted, .progress]
    /// The names of ``open``, for queries.
    static let openNames: [String] = open.map(\.rawValue)

    var isOpen: Bool { Self.open.contains(self) }
    /// Completed, rejected or cancelled: no more escalation.
    var isFinished: Bool { !isOpen }
    /// Rejecting or cancelling a task needs a reason.
    var needsReason: Bool { self == .rejected || self == .cancelled }

    /// Whether a task may move from here to `next`.
    func allows(_ next: TaskStatus) -> Bool {
        switch self {
        case .assigned: [.accepted, .progress, .completed, .rejected, .cancelled].contains(next)
        case .accepted, .progress: [.progress, .completed, .rejected, .cancelled].contains(next)
        case .completed, .rejected, .cancelled: false
        }
    }

    /// Checks a move, refusing it with the reason a unit can act on.
    /// - Parameters:
    ///   - next: Where the task would go.
    ///   - reason: The reason given, if any.
    ///   - taskID: The task, named in the refusal.
    /// - Throws: ``InterventionError`` `conflict` for a move the task cannot make, `invalid` for a missing reason.
    func check(_ next: TaskStatus, reason: String?, taskID: String) throws {
        guard allows(next) else {
            throw InterventionError(.conflict, "task \(taskID) is \(rawValue); it cannot become \(next.rawValue)")
        }
        if next.needsReason, (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw InterventionError(.invalid, "a reason is required to mark a task \(next.rawValue)")
        }
    }

    /// Whether a task in `status` is late at `now`: still open and past its deadline.
    static func isLate(_ status: String, due: Date, now: Date) -> Bool {
        (TaskStatus(rawValue: status)?.isOpen ?? false) && due < now
    }

    init(_ status: TaskUpdatedV1.Status) {
        switch status {
        case .assigned: self = .assigned
        case .accepted: self = .accepted
        case .progress: self = .progress
        case .completed: self = .completed
        case .rejected: self = .rejected
        case .cancelled: self = .cancelled
        }
    }
}
