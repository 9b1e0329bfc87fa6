import Contracts
import Foundation

/// The notice each event notification tells people of: whom it names and what it says.
enum Notices {
    /// A task given to a unit: the unit and the task force; the guardian where the measure asks something of the family.
    /// - Parameters:
    ///   - task: The event.
    ///   - taskForce: The task force's unit code.
    static func notice(for task: TaskAssignedV1, taskForce: String) -> Notice {
        Notice(
            roles: ["unit": task.unit, "task_force": taskForce],
            zh: "新任务：\(Words.measure(task.measure))，案件 \(task.caseID.prefix(8))，风险\(Words.tiers[task.tier.rawValue] ?? task.tier.rawValue)，请于 \(Words.time(task.dueAt)) 前完成",
            en: "Task \(task.measure) for case \(task.caseID.prefix(8)) (tier \(task.tier.rawValue)) due \(Words.time(task.dueAt)) CST",
            critical: task.urgent, caseID: task.caseID, guardian: Words.forFamily(task.measure, reference: task.caseID))
    }

    /// A task past its due time.
    static func notice(for task: TaskOverdueV1, taskForce: String) -> Notice {
        Notice(
            roles: ["unit": task.unit, "task_force": taskForce],
            zh: "任务逾期：\(Words.measure(task.measure))，案件 \(task.caseID.prefix(8))，期限 \(Words.time(task.dueAt))",
            en: "Task \(task.measure) for case \(task.caseID.prefix(8)) is late: it was due \(Words.time(task.dueAt)) CST",
            critical: false, caseID: task.caseID)
    }

    /// A case sent to the next level; critical when it reaches the task force.
    static func notice(for escalation: CaseEscalatedV1, taskForce: String) -> Notice {
        Notice(
            roles: ["escalated_to": escalation.escalatedTo, "unit": escalation.unit, "task_force": taskForce],
            zh: "案件 \(escalation.caseID.prefix(8)) 升级督办：\(escalation.unit) 的任务已于 \(Words.time(escalation.dueAt)) 到期未办结",
            en: "Case \(escalation.caseID.prefix(8)): \(escalation.unit)'s task was due \(Words.time(escalation.dueAt)) CST and is escalated to you (\(escalation.level.rawValue))",
            critical: escalation.level == .taskForce, caseID: escalation.caseID)
    }

    /// A referral to 110 or 12345.
    static func notice(for referral: ReferralRequestedV1, taskForce: String) -> Notice {
        let target = referral.target == .police110 ? "police-110" : "city-12345"
        return Notice(
            roles: ["target": target, "task_force": taskForce],
            zh: "转介（\(referral.target == .police110 ? "110" : "12345")）：来自 \(referral.fromAgency)\(referral.urgent ? "，危险正在发生，请立即处置" : "")",
            en: "Referral from \(referral.fromAgency): \(referral.reason)", critical: referral.urgent)
    }

    /// A school hazard not rectified in time.
    static func notice(for hazard: HazardOverdueV1, taskForce: String) -> Notice {
        Notice(
            roles: ["unit": hazard.unit, "school": hazard.schoolCode, "task_force": taskForce],
            zh: "隐患逾期未整改：\(hazard.schoolCode) \(hazard.item)（\(hazard.severity.rawValue)），期限 \(Words.time(hazard.dueAt))",
            en: "Hazard \(hazard.item) (\(hazard.severity.rawValue)) at \(hazard.schoolCode) was due for rectification \(Words.time(hazard.dueAt)) CST",
            critical: hazard.severity == .critical)
    }

    /// A school's quarterly safety rating.
    static func notice(for rating: RatingChangedV1, taskForce: String) -> Notice {
        Notice(
            roles: ["school": rating.schoolCode, "task_force": taskForce],
            zh: "\(rating.quarter) 校园安全评级：\(Words.ratings[rating.rating.rawValue] ?? rating.rating.rawValue)\(rating.fell ? "（降级，列为重点督导）" : "")",
            en: "\(rating.quarter) safety rating: \(rating.rating.rawValue)\(rating.fell ? " (fell; under focus)" : "")", critical: false)
    }

    /// A follow-up visit that is due; the care team, the guardian included, may be told.
    static func notice(for visit: FollowUpDueV1, taskForce: String) -> Notice {
        Notice(
            roles: ["unit": visit.unit, "task_force": taskForce],
            zh: "回访到期：案件 \(visit.caseID.prefix(8))，应于 \(Words.time(visit.dueAt)) 回访",
            en: "A follow-up visit for case \(visit.caseID.prefix(8)) was due \(Words.time(visit.dueAt)) CST", critical: false,
            caseID: visit.caseID,
            guardian: ["【护航】您好，工作人员近期将与您联系，对孩子进行回访。如有疑问请联系班主任。（编号 \(visit.caseID.prefix(8))）",
                       "Huhang: staff will contact you soon for a follow-up visit about your child. Questions: the head teacher. (Ref. \(visit.caseID.prefix(8)))"])
    }

    /// A recipient's daily digest.
    static func notice(for digest: DailyDigestV1, taskForce: String) -> Notice {
        Notice(
            roles: ["recipient": digest.recipient],
            zh: "\(digest.day) 日报：新增案件 \(digest.casesOpened)，交办任务 \(digest.tasksAssigned)，逾期 \(digest.tasksLate)，办结任务 \(digest.tasksCompleted)，"
                + "结案 \(digest.casesClosed)；在办案件 \(digest.openCases)，逾期未办 \(digest.lateTasksOutstanding)",
            en: "\(digest.day): \(digest.casesOpened) new cases, \(digest.tasksAssigned) tasks assigned, \(digest.tasksLate) late, "
                + "\(digest.tasksCompleted) completed, \(digest.casesClosed) closed; \(digest.openCases) open, \(digest.lateTasksOutstanding) late outstanding",
            critical: false)
    }

    /// A subject's risk: only a critical tier is told of.
    /// - Returns: nil below the critical tier.
    static func notice(for risk: RiskAssessedV1, taskForce: String) -> Notice? {
        guard risk.tier == .critical else { return nil }
        return Notice(
            roles: ["task_force": taskForce, "school": risk.schoolCode ?? taskForce],
            zh: "有未成年人风险等级为极高\(risk.urgent ? "，危险正在发生，请立即处置" : "")",
            en: "A subject is at critical risk\(risk.urgent ? ", act now" : "")", critical: true)
    }

    /// The words of a critical notice passed on to the next level because it was not acknowledged in time.
    /// - Parameters:
    ///   - body: The words of the notice not acknowledged.
    ///   - recipient: Who did not acknowledge it.
    ///   - minutes: How long they had.
    static func escalation(of body: String, notAcknowledgedBy recipient: String, within minutes: Int) -> String {
        "\(recipient) 未在 \(minutes) 分钟内确认 (Not acknowledged by \(recipient) within \(minutes) minutes): \(body)"
    }
}

/// Words the templates share.
enum Words {
    static let measures: [String: String] = [
        "first_response": "首次响应", "incident_response": "事件处置", "hazard_rectification": "隐患整改", "school_supervision": "学校督导",
        "venue_rectification": "场所限期整改", "joint_follow_up": "联合跟进",
        "counselling": "心理辅导", "family_education": "亲职教育", "legal_education": "法治教育", "skills_training": "技能培训",
        "persuade_return": "劝返复学", "specialised_school": "专门学校", "judicial_aid": "司法救助", "social_aid": "社会救助",
        "medical_green_channel": "医疗绿色通道", "guardianship_supervision_order": "督促监护令", "temporary_guardian": "临时监护",
    ]
    static let tiers: [String: String] = ["low": "低", "medium": "中", "high": "高", "critical": "极高"]
    static let ratings: [String: String] = ["model": "示范", "compliant": "达标", "non_compliant": "不合格"]

    static func measure(_ code: String) -> String { measures[code].map { "\($0)（\(code)）" } ?? code }

    /// The measures that ask something of the family, in the words a guardian is told.
    static let familyMeasures: [String: (zh: String, en: String)] = [
        "family_education": ("亲职教育", "family education sessions"), "counselling": ("心理辅导", "counselling"),
        "persuade_return": ("复学帮扶", "help returning to school"), "medical_green_channel": ("医疗绿色通道", "a medical appointment"),
    ]

    /// A guardian's notice of a measure that asks something of the family: what is arranged and whom to ask, nothing else.
    /// - Parameters:
    ///   - measure: The task's measure code.
    ///   - reference: The case id, of which the first eight characters are quoted for when they call.
    static func forFamily(_ measure: String, reference: String) -> [String]? {
        guard let words = familyMeasures[measure] else { return nil }
        return ["【护航】您好，学校和有关部门为您的孩子安排了\(words.zh)，工作人员将与您联系。如有疑问请联系班主任。（编号 \(reference.prefix(8))）",
                "Huhang: \(words.en) has been arranged for your child; staff will contact you. Questions: the head teacher. (Ref. \(reference.prefix(8)))"]
    }

    /// A time as people in the district read it: China Standard Time, to the minute.
    static func time(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let p = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d", p.year!, p.month!, p.day!, p.hour!, p.minute!)
    }
}
