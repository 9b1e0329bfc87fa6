import Foundation

/// One valid example of every contract, for integrators (`examples/`), tests
/// and tools. The people in them are made up.
public enum ContractExamples {
    static let time = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18T11:06:40Z
    static let student = PersonRef(studentNumber: "2024031", name: "张小明", birthDate: "2012-05-04")
    static let identified = PersonRef(idNumber: "11010520120504123X", name: "李华", birthDate: "2012-05-04")
    static let subject = "s-4f0c9a0e1b2d3c4e5f60718293a4b5c6"

    /// A valid payload per event type.
    public static let valid: [any EventPayload] = [
        IncidentReportV1(
            externalID: "SCH-370102-M03-2026-0117", category: .bullying, immediateDanger: false, occurredAt: time,
            schoolCode: "370102-M03", place: "dormitory, building 2", narrative: "A pupil reported repeated pushing and threats.",
            people: [.init(role: .victim, studentNumber: "2024031"), .init(role: .allegedPerpetrator, studentNumber: "2024077")],
            channel: .qrCode),
        HotlineCallV1(
            externalID: "12355-20261118-0042", receivedAt: time, callerRole: .minor, minor: identified, topic: .psychological,
            riskFlags: [.selfHarm], immediateDanger: true, cityMatter: false, summary: "Caller says she wants to hurt herself tonight."),
        ScreeningBatchV1(
            externalID: "MHT-370102-M03-2026-autumn", schoolCode: "370102-M03", scale: "MHT", screenedAt: time,
            results: [.init(student: student, score: 72, threshold: 65),
                      .init(student: PersonRef(studentNumber: "2024032"), score: 40, threshold: 65)]),
        AttendanceSignalV1(
            externalID: "ATT-370102-M03-2026-1118-7", schoolCode: "370102-M03", student: student, kind: .enrolledAbsent,
            since: "2026-10-08", daysAbsent: 29),
        FamilySituationV1(
            externalID: "CA-370102-2026-0311", child: identified, schoolCode: "370102-M03",
            flags: [.leftBehind, .hardship], notedAt: time),
        VenueFindingV1(
            externalID: "PSB-370102-VF-2026-0098",
            venue: .init(kind: .internetCafe, name: "星空网咖", address: "历下区文化路 12 号", licence: "370102-WB-0042", district: "370102"),
            foundAt: time, minors: [PersonRef(studentNumber: "2024031", name: "张小明", birthDate: "2012-05-04", schoolCode: "370102-M03")],
            activities: [.present, .smoking], actionTaken: .warning),
        CaseLeadV1(
            externalID: "PROC-370102-2026-0019", minor: identified, kind: .conditionalNonProsecution, decidedAt: time,
            offence: "theft", sealed: true),
        TaskFeedbackV1(
            externalID: "SCH-370102-M03-FB-0005", taskID: "6f1c2a4e-0b6f-4d7e-9d35-1c0f3a9e2b11", status: .completed,
            reportedAt: time, note: "Home visit made with the head teacher; counselling weekly from 20 Nov.", reason: nil),
        InspectionReportV1(
            externalID: "SCH-370102-M03-DC-2026-1118", schoolCode: "370102-M03", kind: .dailyCheck, inspectedAt: time,
            checks: [.init(item: .oneKeyAlarm, passed: true), .init(item: .guardPostStaffed, passed: false, note: "No guard at dismissal.")]),
        IntakeReceiptV1(
            eventID: "1e155c01-c9a0-407a-855a-d0f772c66845", eventType: "report.incident.v1", externalID: "SCH-370102-M03-2026-0118",
            status: .rejected,
            reasons: [FieldError(field: "/category", problem: "not one of the allowed values", allowed: "bullying, violence, …")],
            reportID: nil, at: time),
        EventRefusedV1(
            intakeID: "0d9f1d5e-5a77-4a53-9f5b-2b0a3f1c9e41", eventType: "task.feedback.v1", service: "intervention",
            reasons: [FieldError(field: "/taskId", problem: "task 6f1c2a4e-0b6f-4d7e-9d35-1c0f3a9e2b11 is assigned to psb-370102, not 370102-M03")],
            at: time),
        ReportAcceptedV1(
            reportID: "0d9f1d5e-5a77-4a53-9f5b-2b0a3f1c9e40", agency: "school-370102-m03", externalID: "SCH-370102-M03-2026-0117",
            category: .bullying, immediateDanger: false, occurredAt: time, schoolCode: "370102-M03",
            subjects: [.init(subjectID: "s-4f0c9a0e1b2d3c4e5f60718293a4b5c6", role: .victim)]),
        RiskAssessedV1(
            subjectID: "s-4f0c9a0e1b2d3c4e5f60718293a4b5c6", tier: .high, previousTier: .medium, score: 60,
            reasons: ["bullying_victim: bullying reported as victim"], modelVersion: "cangshan-21.v1", provisional: false, urgent: false,
            schoolCode: "370102-M03", assessedAt: time,
            factors: [.init(id: "bullying_victim", dimension: "school", weight: 40), .init(id: "left_behind", dimension: "guardianship", weight: 10)]),
        TaskAssignedV1(
            taskID: "6f1c2a4e-0b6f-4d7e-9d35-1c0f3a9e2b11", caseID: "2a7d9c1e-3f4b-4e8a-8c2d-5b6e7f8a9b0c",
            subjectID: "s-4f0c9a0e1b2d3c4e5f60718293a4b5c6", unit: "370102-M03", measure: "first_response", tier: .high,
            dueAt: time.addingTimeInterval(24 * 3600), urgent: false),
        NotificationDeliveredV1(
            deliveryID: "9b6d66b3-d562-47a0-8dab-c4afac68d020", aboutEventID: "1e155c01-c9a0-407a-855a-d0f772c66845",
            aboutEventType: "task.assigned.v1", recipient: "370102-M03", channel: .inbox, deliveredAt: time),
        HotlineCallAcceptedV1(
            intakeID: "3c1e0f4a-8d2b-4f6e-a1c3-7b9d5e2f0a18", agency: "hotline-12355", externalID: "12355-20261118-0042",
            receivedAt: time, callerRole: .minor, subjectID: subject, topic: .psychological, riskFlags: [.selfHarm],
            immediateDanger: true, cityMatter: false),
        ReferralRequestedV1(
            referralID: "8e2a6c0d-1b3f-4a5e-9c7d-2f4b6a8c0e13", target: .police110, urgent: true,
            reason: "immediate danger reported to 12355", fromIntakeID: "3c1e0f4a-8d2b-4f6e-a1c3-7b9d5e2f0a18",
            fromEventType: "hotline.call.v1", fromAgency: "hotline-12355", subjectID: subject, riskFlags: [.selfHarm], requestedAt: time),
        ScreeningBatchAcceptedV1(
            intakeID: "5a7c9e1b-3d5f-4b7a-8c9e-0f1a2b3c4d5e", agency: "school-370102-m03", externalID: "MHT-370102-M03-2026-autumn",
            schoolCode: "370102-M03", scale: "MHT", screenedAt: time,
            results: [.init(subjectID: subject, score: 72, threshold: 65),
                      .init(subjectID: "s-0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", score: 40, threshold: 65)],
            rejectedRows: 1),
        AttendanceSignalAcceptedV1(
            intakeID: "6b8d0f2c-4e6a-4c8b-9d0f-1a2b3c4d5e6f", agency: "school-370102-m03", externalID: "ATT-370102-M03-2026-1118-7",
            schoolCode: "370102-M03", subjectID: subject, kind: .enrolledAbsent, since: "2026-10-08", daysAbsent: 29),
        FamilySituationAcceptedV1(
            intakeID: "7c9e1a3d-5f7b-4d9c-8e1a-2b3c4d5e6f70", agency: "civil-affairs-370102", externalID: "CA-370102-2026-0311",
            subjectID: subject, schoolCode: "370102-M03", flags: [.leftBehind, .hardship], notedAt: time),
        VenueFindingAcceptedV1(
            intakeID: "8d0f2b4e-6a8c-4e0d-9f2b-3c4d5e6f7081", agency: "psb-370102", externalID: "PSB-370102-VF-2026-0098",
            venue: .init(kind: .internetCafe, name: "星空网咖", address: "历下区文化路 12 号", licence: "370102-WB-0042"),
            foundAt: time, subjectIDs: [subject], activities: [.present, .smoking], actionTaken: .warning),
        CaseLeadAcceptedV1(
            intakeID: "9e1a3c5f-7b9d-4f1e-8a3c-4d5e6f708192", agency: "procuratorate-370102", externalID: "PROC-370102-2026-0019",
            subjectID: subject, kind: .conditionalNonProsecution, decidedAt: time, offence: "theft", sealed: true),
        TaskFeedbackAcceptedV1(
            intakeID: "0f2b4d6a-8c0e-4a2f-9b4d-5e6f708192a3", unit: "school-370102-m03", externalID: "SCH-370102-M03-FB-0005",
            taskID: "6f1c2a4e-0b6f-4d7e-9d35-1c0f3a9e2b11", status: .completed, reportedAt: time,
            note: "Home visit made with the head teacher; counselling weekly from 20 Nov.", reason: nil),
        InspectionReportAcceptedV1(
            intakeID: "1a3c5e7b-9d1f-4b3a-8c5e-6f708192a3b4", unit: "school-370102-m03", externalID: "SCH-370102-M03-DC-2026-1118",
            schoolCode: "370102-M03", kind: .dailyCheck, inspectedAt: time,
            checks: [.init(item: .oneKeyAlarm, passed: true), .init(item: .guardPostStaffed, passed: false, note: "No guard at dismissal.")]),
        LedgerChangedV1(
            subjectID: subject, ledger: .dropoutRisk, change: .entered, reason: "enrolled_absent: enrolled but absent since 2026-10-08",
            tier: .medium, schoolCode: "370102-M03", district: "370102", modelVersion: "cangshan-21.v1", at: time),
        CaseOpenedV1(
            caseID: "2a7d9c1e-3f4b-4e8a-8c2d-5b6e7f8a9b0c", subjectID: subject, tier: .critical,
            reason: "risk assessed critical: immediate_danger", schoolCode: "370102-M03", reopened: false, at: time),
        TaskUpdatedV1(
            taskID: "6f1c2a4e-0b6f-4d7e-9d35-1c0f3a9e2b11", caseID: "2a7d9c1e-3f4b-4e8a-8c2d-5b6e7f8a9b0c", unit: "school-370102-m03",
            status: .completed, note: "Home visit made; counselling weekly.", reason: nil, at: time),
        TaskOverdueV1(
            taskID: "6f1c2a4e-0b6f-4d7e-9d35-1c0f3a9e2b11", caseID: "2a7d9c1e-3f4b-4e8a-8c2d-5b6e7f8a9b0c", subjectID: subject,
            unit: "school-370102-m03", measure: "counselling", dueAt: time, at: time.addingTimeInterval(60)),
        CaseEscalatedV1(
            caseID: "2a7d9c1e-3f4b-4e8a-8c2d-5b6e7f8a9b0c", taskID: "6f1c2a4e-0b6f-4d7e-9d35-1c0f3a9e2b11", subjectID: subject,
            unit: "school-370102-m03", level: .superior, escalatedTo: "education-370102", dueAt: time, at: time.addingTimeInterval(86_400)),
        CaseClosedV1(
            caseID: "2a7d9c1e-3f4b-4e8a-8c2d-5b6e7f8a9b0c", subjectID: subject, closedBy: "district-task-force",
            tasksCompleted: 3, tasksCancelled: 1, at: time),
        FollowUpDueV1(
            caseID: "2a7d9c1e-3f4b-4e8a-8c2d-5b6e7f8a9b0c", subjectID: subject, tier: .high, unit: "370102-M03",
            dueAt: time, at: time.addingTimeInterval(60)),
        FollowUpRecordedV1(
            caseID: "2a7d9c1e-3f4b-4e8a-8c2d-5b6e7f8a9b0c", subjectID: subject, by: "370102-M03", visitedAt: time,
            nextDueAt: time.addingTimeInterval(14 * 86_400)),
        DailyDigestV1(
            day: "2026-11-18", casesOpened: 4, tasksAssigned: 11, tasksLate: 2, tasksCompleted: 7, casesClosed: 1, openCases: 37,
            lateTasksOutstanding: 5, recipient: "district-task-force"),
        ReferralResolvedV1(
            referralID: "8e2a6c0d-1b3f-4a5e-9c7d-2f4b6a8c0e13", kind: "specialised_school", outcome: "back_to_school",
            caseID: "2a7d9c1e-3f4b-4e8a-8c2d-5b6e7f8a9b0c", subjectID: subject, by: "education-370102", at: time),
        SubjectSealedV1(subjectID: subject, sealed: true, at: time),
        VenueFlaggedV1(
            venueKey: "licence:370102-WB-0042", kind: .internetCafe, name: "星空网咖", district: "370102", regulatorUnit: "culture-370102",
            dueAt: time.addingTimeInterval(15 * 86_400), reason: "admitted minors",
            findingID: "0d9f1d5e-5a77-4a53-9f5b-2b0a3f1c9e42", breaches: 1, schoolCodes: ["370102-M03"], at: time),
        SchoolUpdatedV1(schoolCode: "370102-M03", district: "370102", policeUnit: "psb-370102-lx", legalVicePrincipalUnit: "proc-370102", at: time),
        CareTeamChangedV1(
            caseID: "2a7d9c1e-3f4b-4e8a-8c2d-5b6e7f8a9b0c", subjectID: subject,
            members: [.init(role: .guardian, unit: nil, contact: "aGsxAAAAAGV4YW1wbGUtc2VhbGVkLWNvbnRhY3Q="),
                      .init(role: .headTeacher, unit: "370102-M03", contact: "aGsxAAAAAGV4YW1wbGUtc2VhbGVkLWFkZHJlc3M=")],
            at: time),
        HazardReportedV1(
            hazardID: "4b6d8f0a-2c4e-4a6b-8d0f-1a3c5e7b9d2f", schoolCode: "370102-M03", item: "guard_post_staffed", severity: .major,
            unit: "370102-M03", dueAt: time.addingTimeInterval(7 * 86_400), inspectionID: "1a3c5e7b-9d1f-4b3a-8c5e-6f708192a3b4",
            inspectedBy: "psb-370102", note: "No guard at dismissal.", at: time),
        HazardOverdueV1(
            hazardID: "4b6d8f0a-2c4e-4a6b-8d0f-1a3c5e7b9d2f", schoolCode: "370102-M03", item: "guard_post_staffed", severity: .major,
            unit: "370102-M03", dueAt: time.addingTimeInterval(7 * 86_400), at: time.addingTimeInterval(7 * 86_400 + 60)),
        RatingChangedV1(
            schoolCode: "370102-M03", quarter: "2026-Q4", rating: .nonCompliant, previousRating: .compliant, fell: true,
            reasons: ["2 hazards late at the quarter's end (non-compliant at 2 or more)"], at: time),
    ]

    /// A broken copy of a valid example, as JSON: the first required field
    /// removed and `externalId` (or the first string field) made empty.
    /// - Parameter document: A valid example as JSON.
    public static func broken(_ document: JSONValue, schema: JSONSchema) -> JSONValue {
        guard case .object(var object) = document, case .object(let root) = schema.root,
              case .array(let required)? = root["required"] else { return document }
        if case .string(let first)? = required.first { object.removeValue(forKey: first) }
        if case .string? = object["externalId"] { object["externalId"] = .string("") }
        else if case .string(let second)? = required.dropFirst().first, case .string? = object[second] { object[second] = .string("") }
        return .object(object)
    }
}

extension ContractExamples {
    /// The `examples/` folder's files, path → content: for each agency event
    /// type an `accepted.json`, a `rejected.json` and the field-level reasons
    /// the rejected one gets (`rejected.reasons.json`).
    /// - Parameter schemas: Loads the schema of an event type.
    public static func files(schemas: (EventType) throws -> JSONSchema) throws -> [String: String] {
        let encoder = ContractCoding.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        func text(_ value: some Encodable) throws -> String {
            String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
        }
        var files: [String: String] = [:]
        let agencyTypes = Set(Contracts.agencyPayloads.map { $0.eventType })
        for payload in valid where agencyTypes.contains(type(of: payload).eventType) {
            let eventType = type(of: payload).eventType
            let schema = try schemas(eventType)
            let document = try JSONValue.parse(Array(try ContractCoding.encoder().encode(payload)))
            let rejected = broken(document, schema: schema)
            files["\(eventType.name)/accepted.json"] = try text(document)
            files["\(eventType.name)/rejected.json"] = try text(rejected)
            files["\(eventType.name)/rejected.reasons.json"] = try text(schema.validate(rejected))
        }
        return files
    }
}
