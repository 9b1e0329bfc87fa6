@testable import Console
import AsyncHTTPClient
import Contracts
import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import ServiceKit
import Storage
import Testing

@Suite("Console exports and charts")
struct ConsoleExportTests {
    static let table = ExportTable(
        name: "心理风险学生台账", header: ["编号", "说明", "分值"],
        rows: [
            [.text("s-1"), .text("家访, \"约谈\"\n两次"), .number(45)],
            [.text("=HYPERLINK(\"x\")"), .text("-1"), .number(2.5)],
        ])

    @Test("CSV: a UTF-8 byte order mark, CRLF lines, fields with commas, quotes or line breaks quoted, formulas defused")
    func csv() {
        let bytes = Self.table.csv()
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        #expect(text == "编号,说明,分值\r\ns-1,\"家访, \"\"约谈\"\"\n两次\",45\r\n\"'=HYPERLINK(\"\"x\"\")\",'-1,2.5\r\n", "\(text.debugDescription)")
    }

    @Test("XLSX: a zip whose entries are stored with the right CRC-32, a workbook naming its one sheet, every cell in place")
    func xlsx() throws {
        #expect(StoredZip.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        let bytes = Self.table.xlsx()
        let entries = try Self.unzip(bytes)
        #expect(Set(entries.keys) == ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                                      "xl/worksheets/sheet1.xml"])
        let sheet = String(decoding: entries["xl/worksheets/sheet1.xml"] ?? [], as: UTF8.self)
        #expect(sheet.contains(#"<c r="A1" t="inlineStr" s="1"><is><t xml:space="preserve">编号</t></is></c>"#))
        #expect(sheet.contains(#"<c r="C2"><v>45</v></c>"#) && sheet.contains(#"<c r="C3"><v>2.5</v></c>"#))
        #expect(sheet.contains("家访, &quot;约谈&quot;\n两次") && sheet.contains("=HYPERLINK(&quot;x&quot;)"))
        #expect(String(decoding: entries["xl/workbook.xml"] ?? [], as: UTF8.self).contains(#"<sheet name="心理风险学生台账" sheetId="1""#))
        #expect(ExportTable.column(0) == "A" && ExportTable.column(25) == "Z" && ExportTable.column(26) == "AA" && ExportTable.column(701) == "ZZ")
    }

    /// Reads a stored zip by its central directory, checking each entry's CRC-32 against its bytes.
    static func unzip(_ bytes: [UInt8]) throws -> [String: [UInt8]] {
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        let end = try #require((0...(bytes.count - 22)).reversed().first { u32($0) == 0x0605_4B50 })
        var at = u32(end + 16)
        var entries: [String: [UInt8]] = [:]
        for _ in 0..<u16(end + 10) {
            #expect(u32(at) == 0x0201_4B50)
            let method = u16(at + 10), crc = u32(at + 16), size = u32(at + 20), nameLength = u16(at + 28)
            let extra = u16(at + 30), comment = u16(at + 32), local = u32(at + 42)
            let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            #expect(method == 0 && u32(local) == 0x0403_4B50)
            let start = local + 30 + u16(local + 26) + u16(local + 28)
            let content = Array(bytes[start..<(start + size)])
            #expect(Int(StoredZip.crc32(content)) == crc, "CRC of \(name)")
            entries[name] = content
            at += 46 + nameLength + extra + comment
        }
        return entries
    }

    @Test("a service's figures from its Prometheus text: each series by name and labels, comments left out")
    func prometheusFigures() {
        let figures = ServiceCalls.figures(prometheus: """
            # TYPE huhang_messages_consumed_total counter
            huhang_messages_consumed_total{outcome="done"} 1203
            huhang_messages_consumed_total{outcome="set_aside"} 2
            huhang_outbox_unsent 0.0
            """)
        #expect(figures == [#"huhang_messages_consumed_total{outcome="done"}"#: 1203, #"huhang_messages_consumed_total{outcome="set_aside"}"#: 2,
                            "huhang_outbox_unsent": 0])
    }

    @Test("a horizontal chart: an image with a title and a description, a bar and its figure per category, widths in proportion")
    func horizontalChart() {
        let svg = BarChart.horizontal(id: "t", title: "按 <等级>", description: "各等级人数", labels: ["极高", "高"], values: [2, 4])
        #expect(svg.contains(#"role="img" aria-labelledby="t-t t-d""#))
        #expect(svg.contains(#"<title id="t-t">按 &lt;等级&gt;</title>"#) && svg.contains(#"<desc id="t-d">各等级人数</desc>"#))
        #expect(svg.contains(#"width="137.0""#) && svg.contains(#"width="274.0""#), "\(svg)")
        #expect(svg.contains(">极高</text>") && svg.contains(">4</text>"))
    }
}

@Suite("Console: oversight in the pages", .serialized)
struct ConsoleOversightTests {
    @Test("the task force filters a ledger, reads a subject's risk as the API explains it, exports the filtered rows (CSV, XLSX) on a stated purpose, audited; a school may not export")
    func ledgersInThePages() async throws {
        try await ConsoleLoopTests.withConsole { suite, consolePort in try await Self.ledgers(suite, consolePort: consolePort) }
    }

    static func ledgers(_ suite: ScenarioTests.Suite, consolePort: Int) async throws {
        let schoolA = ScenarioTests.schoolCode(), schoolB = ScenarioTests.schoolCode()
        let a = try ScenarioTests.Agency("sch", kind: "school", unit: schoolA, intakePort: suite.ports["intake"]!)
        let b = try ScenarioTests.Agency("sch", kind: "school", unit: schoolB, intakePort: suite.ports["intake"]!)
        for (agency, school, students) in [(a, schoolA, ["A-1", "A-2", "A-3"]), (b, schoolB, ["B-1"])] {
            for student in students {
                try await agency.send("report.incident.v1", """
                    {"externalId":"\(ScenarioTests.ext())","category":"bullying","immediateDanger":false,"occurredAt":"\(ScenarioTests.now())",
                     "schoolCode":"\(school)","people":[{"role":"victim","studentNumber":"\(student)"}]}
                    """)
            }
        }
        var subjectsA: [String] = [], subjectsB: [String] = []
        #expect(try await eventually {
            let pageA = try await suite.call("assessment", "/v1/ledgers/victims_needing_aid?school=\(schoolA)", as: ScenarioTests.taskForce)
            let pageB = try await suite.call("assessment", "/v1/ledgers/victims_needing_aid?school=\(schoolB)", as: ScenarioTests.taskForce)
            subjectsA = ScenarioTests.array(pageA.json, "entries").compactMap { ScenarioTests.string($0, "subjectId") }
            subjectsB = ScenarioTests.array(pageB.json, "entries").compactMap { ScenarioTests.string($0, "subjectId") }
            return subjectsA.count == 3 && subjectsB.count == 1
        }, "the victims are not on the ledger")

        let run = UUID().uuidString.prefix(6).lowercased()
        let password = "a long password 123"
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "tf-\(run)", name: "张专班", agency: "district-task-force",
                                             unit: "district-task-force", role: "task-force", password: password)
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "sch-\(run)", name: "王老师", agency: a.code, unit: schoolA,
                                             role: "caseworker", password: password)
        let taskForce = ConsoleLoopTests.Browser(base: "http://127.0.0.1:\(consolePort)")
        try await taskForce.signIn("tf-\(run)", password)

        // The ledgers, then one filtered by school: A's three, not B's.
        let overview = try await taskForce.go("/ledgers")
        #expect(overview.status == 200 && overview.text.contains(#"<a href="/ledgers/victims_needing_aid">需救助受害者台账</a>"#), "\(overview.text)")
        let filtered = try await taskForce.go("/ledgers/victims_needing_aid?school=\(schoolA)")
        #expect(filtered.status == 200)
        #expect(subjectsA.allSatisfy { filtered.text.contains(#"href="/subjects/\#($0)""#) } && !filtered.text.contains(subjectsB[0]), "\(filtered.text)")
        let wrongDay = try await taskForce.go("/ledgers/victims_needing_aid?since=yesterday")
        #expect(wrongDay.status == 400 && wrongDay.text.contains(#"id="since-error""#) && wrongDay.text.contains(#"aria-invalid="true""#))
        #expect(try await taskForce.go("/ledgers/wishlist").status == 404)

        // A subject's page says what the API says: every factor with its weight, the ledger, the model.
        let subject = subjectsA[0]
        let risk = try await suite.call("assessment", "/v1/subjects/\(subject)/risk", as: ScenarioTests.taskForce)
        let page = try await taskForce.go("/subjects/\(subject)")
        #expect(page.status == 200)
        let factors = ScenarioTests.array(risk.json, "factors")
        #expect(!factors.isEmpty)
        for factor in factors {
            let id = ScenarioTests.string(factor, "id") ?? "?", weight = ScenarioTests.number(factor, "weight") ?? -1
            #expect(page.text.contains("<span class=\"by\">(\(id))</span></th><td>") && page.text.contains("<td>\(Int(weight))</td>"), "factor \(id)")
        }
        #expect(page.text.contains(ScenarioTests.string(risk.json, "modelVersion") ?? "?") && page.text.contains("需救助受害者台账"))
        #expect(page.text.contains("欺凌受害者 <span class=\"by\">(bullying_victim)</span>"), "the factor is named as the model names it: \(page.text)")
        // The read is the person's, in the assessment service's audit.
        let assessmentAudit = try await suite.call("assessment", "/v1/audit?person=tf-\(run)", as: ScenarioTests.taskForce)
        #expect(ScenarioTests.array(assessmentAudit.json).contains { ScenarioTests.string($0, "resource") == "subject/\(subject)/risk" })

        // The export: no purpose, said next to the field, the format kept; then CSV and XLSX of the filtered rows.
        let form = ["_csrf": ConsoleLoopTests.Browser.csrf(filtered), "school": schoolA, "district": "", "tier": "", "since": ""]
        let missing = try await taskForce.go("/ledgers/victims_needing_aid/export", form: form.merging(["format": "xlsx", "purpose": " "]) { $1 })
        #expect(missing.status == 400 && missing.text.contains(#"id="purpose-error""#) && missing.text.contains(#"value="xlsx" checked"#))
        let csv = try await taskForce.download("/ledgers/victims_needing_aid/export", form: form.merging(["format": "csv", "purpose": "季度研判会材料"]) { $1 })
        #expect(csv.status == 200 && csv.type.hasPrefix("text/csv") && csv.disposition.contains("attachment"))
        #expect(Array(csv.bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let lines = String(decoding: csv.bytes.dropFirst(3), as: UTF8.self).split(separator: "\r\n")
        #expect(lines.first == "条目编号,对象编号,风险等级,风险分值,学校,区县代码,列入时间,列入原因")
        #expect(lines.count == 4 && subjectsA.allSatisfy { id in lines.contains { $0.contains(id) } }, "\(lines)")
        let xlsx = try await taskForce.download("/ledgers/victims_needing_aid/export", form: form.merging(["format": "xlsx", "purpose": "季度研判会材料"]) { $1 })
        #expect(xlsx.status == 200 && xlsx.type.contains("spreadsheetml"))
        let sheet = String(decoding: try ConsoleExportTests.unzip(xlsx.bytes)["xl/worksheets/sheet1.xml"] ?? [], as: UTF8.self)
        #expect(subjectsA.allSatisfy(sheet.contains) && !sheet.contains(subjectsB[0]) && sheet.contains(#"<row r="4">"#) && !sheet.contains(#"<row r="5">"#))

        // The console's audit: who exported, which ledger and filter, how many rows, why.
        let operatorToken = try await APITokens(secret: APITokens.developmentSecret).issue(APIIdentity(agency: "ops", role: .operator), lifetime: .seconds(60))
        let audit = try await httpGet("http://127.0.0.1:\(consolePort)/v1/audit?person=tf-\(run)", headers: ["Authorization": "Bearer \(operatorToken)"])
        let exports = ScenarioTests.array(try JSONValue.parse(Array(audit.body.utf8))).filter { ScenarioTests.string($0, "action") == "export" }
        #expect(exports.count == 2, "\(audit.body)")
        #expect(exports.allSatisfy {
            ScenarioTests.string($0, "resource") == "ledger/victims_needing_aid?school=\(schoolA)"
                && (ScenarioTests.string($0, "reason") ?? "").hasPrefix("季度研判会材料 · 3 rows")
        }, "\(audit.body)")

        // The audit page lists the console's own entries with the services'.
        let auditPage = try await taskForce.go("/audit?person=tf-\(run)")
        #expect(auditPage.text.contains("导出 (export)") && auditPage.text.contains("ledger/victims_needing_aid?school=\(schoolA)"), "\(auditPage.text)")

        // The statistics: charts that are images with a title and a description, and their tables.
        let stats = try await taskForce.go("/stats")
        #expect(stats.status == 200 && stats.text.contains(#"role="img""#) && stats.text.contains("<desc id=\"chart-ledgers-d\">")
                && stats.text.contains("<th scope=\"row\">需救助受害者台账</th>"), "\(stats.text)")

        // The quarter's summary, picked as 年 and 季度: the services' counts, and the days of the quarter charted and tabled.
        let quarter = try #require(Quarter.of(Date()).split(separator: "-Q").last)
        let year = Periods.calendar.component(.year, from: Date())
        let summary = try await taskForce.go("/summary?period=quarter&year=\(year)&quarter=\(quarter)")
        let counts = try await suite.call("intervention", "/v1/summary?period=quarter", as: ScenarioTests.taskForce)
        #expect(summary.status == 200 && summary.text.contains("\(year)年第\(quarter)季度"), "\(summary.text)")
        #expect(summary.text.contains("新增案件 <strong>\(Int(ScenarioTests.number(counts.json, "casesOpened") ?? -1))</strong>"), "\(counts.text)")
        #expect(summary.text.contains(#"id="chart-casesOpened-t""#) && summary.text.contains("<th scope=\"row\">\(Periods.day(Date()))</th>"))
        let badWeek = try await taskForce.go("/summary?period=week&day=2026-13-45")
        #expect(badWeek.status == 400 && badWeek.text.contains(#"id="day-error""#))

        // A school's person: its own subjects on the ledger, no export.
        let staff = ConsoleLoopTests.Browser(base: "http://127.0.0.1:\(consolePort)")
        try await staff.signIn("sch-\(run)", password)
        let own = try await staff.go("/ledgers/victims_needing_aid")
        #expect(own.status == 200 && subjectsA.allSatisfy { own.text.contains($0) } && !own.text.contains(subjectsB[0]))
        #expect(!own.text.contains("/export"))
        let refused = try await staff.go("/ledgers/victims_needing_aid/export",
                                         form: ["_csrf": ConsoleLoopTests.Browser.csrf(own), "format": "csv", "purpose": "想看看"])
        #expect(refused.status == 403)
        #expect(try await staff.go("/stats").status == 403)
        #expect(try await staff.go("/summary").status == 403)
    }
}

@Suite("Console: schools and safety in the pages", .serialized)
struct ConsoleSafetyTests {
    @Test("the registry edited (a mistake said next to its field), a school that fell shown on the rating page and in the bulletin, the bulletin and the ratings downloaded (audited), hazards and inspections listed; a caseworker may not")
    func safetyInThePages() async throws {
        try await ConsoleLoopTests.withConsole { suite, consolePort in try await Self.safety(suite, consolePort: consolePort) }
    }

    static func safety(_ suite: ScenarioTests.Suite, consolePort: Int) async throws {
        let fell = ScenarioTests.schoolCode(), other = ScenarioTests.schoolCode()
        let district = String(fell.prefix(6))
        let school = try ScenarioTests.Agency("sch", kind: "school", unit: fell, intakePort: suite.ports["intake"]!)
        let otherSchool = try ScenarioTests.Agency("sch", kind: "school", unit: other, intakePort: suite.ports["intake"]!)
        let quarter = Quarter.of(Date()), previous = try #require(Quarter.previous(quarter))
        let lastQuarter = ContractCoding.formatTime(try #require(Quarter.bounds(previous)).start.addingTimeInterval(86_400))
        // Inspected last quarter, all passed: compliant then; not inspected this quarter: non-compliant now — it fell.
        try await school.send("inspection.report.v1", """
            {"externalId":"\(ScenarioTests.ext())","schoolCode":"\(fell)","kind":"daily_check","inspectedAt":"\(lastQuarter)",
             "checks":[{"item":"one_key_alarm","passed":true}]}
            """)
        // Another school inspected today with a broken alarm: a hazard open now.
        try await otherSchool.send("inspection.report.v1", """
            {"externalId":"\(ScenarioTests.ext())","schoolCode":"\(other)","kind":"supervisory_patrol","inspectedAt":"\(ScenarioTests.now())",
             "checks":[{"item":"one_key_alarm","passed":false}]}
            """)
        #expect(try await eventually {
            let inspected = try await suite.call("inspection", "/v1/inspections?school=\(fell)", as: ScenarioTests.taskForce)
            let hazards = try await suite.call("inspection", "/v1/hazards?school=\(other)", as: ScenarioTests.taskForce)
            return !ScenarioTests.array(inspected.json).isEmpty && !ScenarioTests.array(hazards.json).isEmpty
        }, "the inspections were not recorded")

        let run = UUID().uuidString.prefix(6).lowercased()
        let password = "a long password 123"
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "tf-\(run)", name: "张专班", agency: "district-task-force",
                                             unit: "district-task-force", role: "task-force", password: password)
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "edu-\(run)", name: "刘科长", agency: "education-\(district)",
                                             unit: "education-\(district)", role: "education", password: password)
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "cw-\(run)", name: "王老师", agency: school.code, unit: fell,
                                             role: "caseworker", password: password)
        let taskForce = ConsoleLoopTests.Browser(base: "http://127.0.0.1:\(consolePort)")
        try await taskForce.signIn("tf-\(run)", password)

        // Compute last quarter, then this one, through the console's form.
        for q in [previous, quarter] {
            let page = try await taskForce.go("/ratings?quarter=\(q)&district=\(district)")
            #expect(page.status == 200 && page.text.contains(#"action="/ratings/\#(q)/compute""#))
            let computed = try await taskForce.go("/ratings/\(q)/compute", form: ["_csrf": ConsoleLoopTests.Browser.csrf(page), "district": district])
            #expect(computed.status == 303 && (computed.location ?? "").hasPrefix("/ratings?quarter=\(q)&district=\(district)&done="), "\(computed)")
        }
        let ratings = try await taskForce.go("/ratings?quarter=\(quarter)&district=\(district)")
        let row = try #require(ratings.text.components(separatedBy: "<tr").first { $0.contains("/schools/\(fell)") }, "\(ratings.text)")
        #expect(row.hasPrefix(#" class="late""#) && row.contains("↓ 下降") && row.contains("不合格") && row.contains("达标"), "\(row)")
        #expect(ratings.text.contains(#"aria-labelledby="chart-trend-t chart-trend-d""#) && ratings.text.contains("<polyline"))
        let trend = try await suite.call("inspection", "/v1/ratings/\(quarter)/trend?district=\(district)&quarters=2", as: ScenarioTests.taskForce)
        #expect(ScenarioTests.array(trend.json).map { ScenarioTests.string($0, "quarter") ?? "" } == [previous, quarter], "\(trend.text)")
        #expect((ScenarioTests.number(ScenarioTests.array(trend.json)[1], "nonCompliant") ?? 0) >= 1
                && (ScenarioTests.number(ScenarioTests.array(trend.json)[1], "fell") ?? 0) >= 1, "\(trend.text)")
        let first = try await suite.call("inspection", "/v1/ratings/\(quarter)?district=\(district)&order=attention&limit=1", as: ScenarioTests.taskForce)
        #expect(ScenarioTests.array(first.json).count == 1 && ScenarioTests.string(ScenarioTests.array(first.json)[0], "movement") == "down", "\(first.text)")

        // The bulletin to print names the school among those that fell; as a file, it is the service's Markdown.
        let bulletin = try await taskForce.go("/ratings/\(quarter)/bulletin?district=\(district)")
        let fellSection = try #require(bulletin.text.components(separatedBy: "评级下降的学校").dropFirst().first)
        #expect(bulletin.status == 200 && fellSection.contains(fell), "\(bulletin.text)")
        let markdown = try await taskForce.download("/ratings/\(quarter)/bulletin.md?district=\(district)", form: nil)
        #expect(markdown.status == 200 && markdown.type.hasPrefix("text/markdown") && String(decoding: markdown.bytes, as: UTF8.self).contains(fell))
        let csv = try await taskForce.download("/ratings/\(quarter)/export?format=csv&district=\(district)", form: nil)
        let lines = String(decoding: csv.bytes.dropFirst(3), as: UTF8.self).split(separator: "\r\n")
        #expect(lines.first == "学校代码,学校名称,评级,上季度评级,变化,依据" && lines.contains { $0.hasPrefix("\(fell),") && $0.contains("下降") }, "\(lines)")
        let operatorToken = try await APITokens(secret: APITokens.developmentSecret).issue(APIIdentity(agency: "ops", role: .operator), lifetime: .seconds(60))
        let audit = try await httpGet("http://127.0.0.1:\(consolePort)/v1/audit?person=tf-\(run)", headers: ["Authorization": "Bearer \(operatorToken)"])
        let resources = ScenarioTests.array(try JSONValue.parse(Array(audit.body.utf8))).compactMap { ScenarioTests.string($0, "resource") }
        #expect(resources.contains("bulletin/\(quarter)?district=\(district)") && resources.contains("rating/\(quarter)?district=\(district)"), "\(resources)")
        let computeAudit = try await suite.call("inspection", "/v1/audit?person=tf-\(run)", as: ScenarioTests.taskForce)
        #expect(ScenarioTests.array(computeAudit.json).contains { ScenarioTests.string($0, "resource") == "rating/\(quarter)" })

        // The education bureau edits the registry: a wrong unit code is said next to its field, what was typed kept; the
        // district, which the page does not edit, survives the save.
        #expect(try await suite.call(method: "PUT", "inspection", "/v1/schools/\(fell)", as: ScenarioTests.taskForce,
                                     body: #"{"district":"370199"}"#).status == 204)
        let education = ConsoleLoopTests.Browser(base: "http://127.0.0.1:\(consolePort)")
        try await education.signIn("edu-\(run)", password)
        let entry = try await education.go("/schools/\(fell)")
        #expect(entry.status == 200 && entry.text.contains(#"action="/schools/\#(fell)""#))
        // The page's own hidden fields (the CSRF token, the district as the registry has it) and what the person types.
        let formHTML = try #require(entry.text.components(separatedBy: #"<form method="post" action="/schools/\#(fell)""#).dropFirst().first)
        let form = ConsoleLoopTests.Browser.hiddenFields(formHTML).merging([
            "name": "历下实验中学", "type": "middle", "policeOfficer": "赵警官", "policeUnit": "psb 370102", "legalVicePrincipal": "钱检察官",
            "legalVicePrincipalUnit": "procuratorate-370102", "guardPosts": "2",
        ]) { $1 }
        #expect(form["district"] == "370199" && form["_csrf"] != nil, "\(form)")
        let wrong = try await education.go("/schools/\(fell)", form: form)
        #expect(wrong.status == 400 && wrong.text.contains(#"id="policeUnit-error""#) && wrong.text.contains(#"value="psb 370102""#), "\(wrong.text)")
        let saved = try await education.go("/schools/\(fell)", form: form.merging(["policeUnit": "psb-370102-lx"]) { $1 })
        #expect(saved.status == 303 && saved.location == "/schools/\(fell)?saved=1")
        let registry = try await suite.call("inspection", "/v1/schools/\(fell)", as: ScenarioTests.taskForce)
        #expect(ScenarioTests.string(registry.json, "school", "policeUnit") == "psb-370102-lx" && ScenarioTests.string(registry.json, "school", "name") == "历下实验中学"
                && ScenarioTests.string(registry.json, "school", "district") == "370199", "\(registry.text)")
        #expect(try await education.go("/schools?district=370199").text.contains("历下实验中学"))
        // The bureau may not compute a rating.
        let refusedCompute = try await education.go("/ratings/\(quarter)/compute", form: ["_csrf": ConsoleLoopTests.Browser.csrf(entry), "district": ""])
        #expect(refusedCompute.status == 403)

        // Hazards open now, with the school and unit tallies; this quarter's inspections; venues.
        let hazards = try await taskForce.go("/hazards?school=\(other)")
        #expect(hazards.status == 200 && hazards.text.contains("一键报警") && hazards.text.contains(#"href="/hazards?state=all&amp;school=\#(other)""#))
        let inspections = try await taskForce.go("/inspections")
        #expect(inspections.status == 200 && inspections.text.contains(other) && !inspections.text.contains(">\(fell)<"), "last quarter's inspection is not this quarter's")
        #expect(try await taskForce.go("/inspections?quarter=\(previous)").text.contains(">\(fell)<"))
        #expect(try await taskForce.go("/venues").status == 200)

        // A school's caseworker has no safety pages.
        let caseworker = ConsoleLoopTests.Browser(base: "http://127.0.0.1:\(consolePort)")
        try await caseworker.signIn("cw-\(run)", password)
        #expect(try await caseworker.go("/ratings").status == 403)
        #expect(!(try await caseworker.go("/").text.contains(#"href="/ratings""#)))
    }
}

@Suite("Console: the operators' pages", .serialized)
struct ConsoleOperatorTests {
    @Test("an operator sees each service's health and figures, an agency's refused event among intake's dead letters with its reason, widens the agency's event types (its next call accepted), replays the letter (audited; intake skips an id it answered), sets a routing rule (a mistake said beside it) and deactivates the agency")
    func operatorsInThePages() async throws {
        try await ConsoleLoopTests.withConsole { suite, consolePort in try await Self.operate(suite, consolePort: consolePort) }
    }

    static func operate(_ suite: ScenarioTests.Suite, consolePort: Int) async throws {
        let police = try ScenarioTests.Agency("psb", kind: "police", eventTypes: ["report.incident.v1"], intakePort: suite.ports["intake"]!)
        // A hotline call from an agency registered for incident reports only: refused, set aside with why.
        let refusedID = try await police.publish("hotline.call.v1", """
            {"externalId":"\(ScenarioTests.ext())","receivedAt":"\(ScenarioTests.now())","callerRole":"parent","topic":"family",
             "riskFlags":[],"immediateDanger":false,"cityMatter":false,"minor":{"idNumber":"\(ScenarioTests.idNumber())"}}
            """)
        let run = UUID().uuidString.prefix(6).lowercased()
        let password = "a long password 123"
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "ops-\(run)", name: "运维小刘", agency: "operations",
                                             unit: "operations", role: "operator", password: password)
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "tf-\(run)", name: "张专班", agency: "district-task-force",
                                             unit: "district-task-force", role: "task-force", password: password)
        let ops = ConsoleLoopTests.Browser(base: "http://127.0.0.1:\(consolePort)")
        try await ops.signIn("ops-\(run)", password)

        // Health and figures: five services ready, each one's figures read (in this test's one process the metrics
        // backend is not installed, so they are zero; the parsing is tested on its own).
        let glance = try await ops.go("/operations")
        #expect(glance.text.components(separatedBy: "✔ 正常").count - 1 == 5 && !glance.text.contains("<td>—</td>"), "\(glance.text)")

        // The dead letter, with its reason and never its body.
        var dead = try await ops.go("/dead?service=intake")
        #expect(try await eventually {
            dead = try await ops.go("/dead?service=intake")
            return dead.text.contains(refusedID)
        }, "\(dead.text)")
        let row = try #require(dead.text.components(separatedBy: "<tr>").first { $0.contains(refusedID) })
        #expect(row.contains("may not send hotline.call.v1") && !row.contains("idNumber") && !row.contains("family"), "\(row)")

        // The cause fixed: the agency may now send hotline calls.
        let agencies = try await ops.go("/agencies")
        #expect(agencies.text.contains("<th scope=\"row\">\(police.code)</th>"))
        let saved = try await ops.go("/agencies", form: [
            "_csrf": ConsoleLoopTests.Browser.csrf(agencies), "code": police.code, "name": "历下公安分局", "kind": "police", "unit": "",
            "type:report.incident.v1": "on", "type:hotline.call.v1": "on",
        ])
        #expect(saved.status == 303 && saved.location == "/agencies?done=saved", "\(saved)")
        #expect(try await ops.go("/agencies").text.contains("hotline.call.v1, report.incident.v1"))

        // The replay, audited in intake with the operator's name.
        let replayed = try await ops.go("/dead/intake/\(refusedID)/replay", form: ["_csrf": ConsoleLoopTests.Browser.csrf(dead)])
        #expect(replayed.status == 303 && replayed.location == "/dead?service=intake&done=1", "\(replayed)")
        let audit = try await suite.call("intake", "/v1/audit?person=ops-\(run)", as: ScenarioTests.taskForce)
        let actions = ScenarioTests.array(audit.json).map { "\(ScenarioTests.string($0, "action") ?? "") \(ScenarioTests.string($0, "resource") ?? "")" }
        #expect(actions.contains("replay dead/\(refusedID)") && actions.contains("agency agency/\(police.code)"), "\(actions)")
        // Back on intake's queue, the letter leaves the dead letters: intake had answered that id (forbidden) and
        // skips it; the agency, now allowed, sends its call again under a new id, and it is accepted.
        #expect(try await eventually { !(try await ops.go("/dead?service=intake").text.contains(refusedID)) }, "the replayed letter is still dead")
        let receipt = try await suite.call("intake", "/v1/events/\(refusedID)", as: police.identity)
        #expect(ScenarioTests.string(receipt.json, "status") == "forbidden", "\(receipt.text)")
        try await police.send("hotline.call.v1", """
            {"externalId":"\(ScenarioTests.ext())","receivedAt":"\(ScenarioTests.now())","callerRole":"parent","topic":"family",
             "riskFlags":[],"immediateDanger":false,"cityMatter":false,"minor":{"idNumber":"\(ScenarioTests.idNumber())"}}
            """)
        #expect((try await ops.go("/dead/intake/no-such-letter/replay", form: ["_csrf": ConsoleLoopTests.Browser.csrf(dead)])).status == 400)

        // A routing rule: none named is said beside the rule; then saved, and notification has it. The rule is the
        // test database's, shared with other tests: it is put back as it was at the end.
        let original = try await suite.call("notification", "/v1/rules/task.assigned.v1", as: ScenarioTests.taskForce)
        let routing = try await ops.go("/routing")
        #expect(routing.status == 200 && routing.text.contains(#"action="/routing/rules/task.assigned.v1""#), "\(routing.text)")
        let mistake = try await ops.go("/routing/rules/task.assigned.v1", form: [
            "_csrf": ConsoleLoopTests.Browser.csrf(routing), "recipients": " ", "channel-task-assigned-v1-inbox": "on",
        ])
        #expect(mistake.status == 400 && mistake.text.contains(#"id="error-task-assigned-v1""#), "\(mistake.text)")
        let rule = try await ops.go("/routing/rules/task.assigned.v1", form: [
            "_csrf": ConsoleLoopTests.Browser.csrf(routing), "recipients": "unit, care_team", "channel-task-assigned-v1-inbox": "on",
            "channel-task-assigned-v1-webhook": "on",
        ])
        #expect(rule.status == 303)
        let stored = try await suite.call("notification", "/v1/rules/task.assigned.v1", as: ScenarioTests.taskForce)
        func texts(_ key: String) -> [String] { ScenarioTests.array(stored.json, key).compactMap { if case .string(let s) = $0 { s } else { nil } } }
        #expect(texts("recipients") == ["unit", "care_team"] && texts("channels") == ["inbox", "webhook"], "\(stored.text)")
        #expect(try await suite.call(method: "PUT", "notification", "/v1/rules/task.assigned.v1", as: APIIdentity(agency: "operations", role: .operator),
                                     body: original.text).status == 204, "the rule as it was: \(original.text)")

        // A unit's webhook set with its signing secret; its address changed later without one keeps the secret
        // (the page never shows a secret again, so leaving the field empty must not erase it).
        let unit = "unit-\(run)"
        for (address, secret) in [("http://127.0.0.1:9/first", "signing-secret-1"), ("http://127.0.0.1:9/second", "")] {
            let set = try await ops.go("/routing/endpoints", form: [
                "_csrf": ConsoleLoopTests.Browser.csrf(routing), "recipient": unit, "channel": "webhook", "address": address, "secret": secret,
            ])
            #expect(set.status == 303 && set.location == "/routing?done=endpoint", "\(set)")
        }
        var endpoint: (String, String?) = ("", nil)
        for try await row in try await suite.notification.database.query(
            "SELECT address, secret FROM notification.endpoints WHERE recipient = \(unit) AND channel = 'webhook'").decode((String, String?).self) {
            endpoint = row
        }
        #expect(endpoint.0 == "http://127.0.0.1:9/second" && endpoint.1 == "signing-secret-1", "\(endpoint)")
        let endpointAudit = try await suite.call("notification", "/v1/audit?person=ops-\(run)", as: ScenarioTests.taskForce)
        #expect(ScenarioTests.array(endpointAudit.json).filter { ScenarioTests.string($0, "resource") == "endpoint/\(unit)/webhook" }.count == 2,
                "\(endpointAudit.text)")

        // Deactivated by the row's own button (its hidden fields as the page gives them, after a mistake in the form
        // below has put a typed unit on the page): the agency keeps its name, kind, unit and event types.
        let typedMistake = try await ops.go("/agencies", form: [
            "_csrf": ConsoleLoopTests.Browser.csrf(agencies), "code": "", "name": "", "kind": "police", "unit": "typed-unit",
        ])
        #expect(typedMistake.status == 400 && typedMistake.text.contains(#"id="code-error""#))
        let agencyRow = try #require(typedMistake.text.components(separatedBy: "<tr>").first { $0.contains("<th scope=\"row\">\(police.code)</th>") })
        let fields = ConsoleLoopTests.Browser.hiddenFields(agencyRow)
        #expect(fields["unit"] == police.code && fields["active"] == "false", "\(fields)")
        let deactivated = try await ops.go("/agencies", form: fields)
        #expect(deactivated.location == "/agencies?done=deactivated", "\(deactivated)")
        let registry = try await suite.call("intake", "/v1/agencies", as: APIIdentity(agency: "operations", role: .operator))
        let agency = try #require(ScenarioTests.array(registry.json).first { ScenarioTests.string($0, "code") == police.code })
        let types = ScenarioTests.array(agency, "eventTypes").compactMap { if case .string(let type) = $0 { type } else { nil } }
        var active = true
        if case .object(let object) = agency, object["active"] == JSONValue.bool(false) { active = false }
        #expect(ScenarioTests.string(agency, "unit") == police.code && ScenarioTests.string(agency, "name") == "历下公安分局"
                && types == ["hotline.call.v1", "report.incident.v1"] && !active, "\(registry.text)")
        #expect(try await ops.go("/agencies").text.contains("✖ 已停用"))

        // Not for the task force.
        let taskForce = ConsoleLoopTests.Browser(base: "http://127.0.0.1:\(consolePort)")
        try await taskForce.signIn("tf-\(run)", password)
        for path in ["/operations", "/dead", "/agencies", "/routing"] { #expect(try await taskForce.go(path).status == 403, "\(path)") }
    }
}

@Suite("Console II in a browser", .serialized)
struct ConsoleOversightBrowserTests {
    @Test("Console II in Chromium: a ledger filtered and exported (the CSV read by Python's csv module, the export in the audit), a subject explained as the API explains it, the school that fell on the rating page, the bulletin printed to PDF naming it, a dead letter replayed; no serious accessibility violation in zh or en")
    func oversightInChromium() async throws {
        guard let python = ConsoleBrowserTests.browserPython() else { return }
        try await ConsoleLoopTests.withConsole { suite, consolePort in try await Self.run(suite, consolePort: consolePort, python: python) }
    }

    static func run(_ suite: ScenarioTests.Suite, consolePort: Int, python: URL) async throws {
        let intake = suite.ports["intake"]!
        // A ledger: three victims at school A, one at school B.
        let schoolA = ScenarioTests.schoolCode(), schoolB = ScenarioTests.schoolCode()
        for (school, students) in [(schoolA, ["A-1", "A-2", "A-3"]), (schoolB, ["B-1"])] {
            let agency = try ScenarioTests.Agency("sch", kind: "school", unit: school, intakePort: intake)
            for student in students {
                try await agency.send("report.incident.v1", """
                    {"externalId":"\(ScenarioTests.ext())","category":"bullying","immediateDanger":false,"occurredAt":"\(ScenarioTests.now())",
                     "schoolCode":"\(school)","people":[{"role":"victim","studentNumber":"\(student)"}]}
                    """)
            }
        }
        // A school inspected last quarter and not this one: it falls from compliant to non-compliant.
        let fell = ScenarioTests.schoolCode(), district = String(fell.prefix(6)), name = "历下实验中学"
        let fellAgency = try ScenarioTests.Agency("sch", kind: "school", unit: fell, intakePort: intake)
        let quarter = Quarter.of(Date()), previous = try #require(Quarter.previous(quarter))
        try await fellAgency.send("inspection.report.v1", """
            {"externalId":"\(ScenarioTests.ext())","schoolCode":"\(fell)","kind":"daily_check",
             "inspectedAt":"\(ContractCoding.formatTime(try #require(Quarter.bounds(previous)).start.addingTimeInterval(86_400)))",
             "checks":[{"item":"one_key_alarm","passed":true}]}
            """)
        // A refused event: a dead letter in intake.
        let police = try ScenarioTests.Agency("psb", kind: "police", eventTypes: ["report.incident.v1"], intakePort: intake)
        let deadID = try await police.publish("hotline.call.v1", """
            {"externalId":"\(ScenarioTests.ext())","receivedAt":"\(ScenarioTests.now())","callerRole":"parent","topic":"family",
             "riskFlags":[],"immediateDanger":false,"cityMatter":false,"minor":{"idNumber":"\(ScenarioTests.idNumber())"}}
            """)
        let operatorIdentity = APIIdentity(agency: "operations", role: .operator)
        var subjectsA: [String] = [], subjectsB: [String] = []
        #expect(try await eventually {
            let pageA = try await suite.call("assessment", "/v1/ledgers/victims_needing_aid?school=\(schoolA)", as: ScenarioTests.taskForce)
            let pageB = try await suite.call("assessment", "/v1/ledgers/victims_needing_aid?school=\(schoolB)", as: ScenarioTests.taskForce)
            subjectsA = ScenarioTests.array(pageA.json, "entries").compactMap { ScenarioTests.string($0, "subjectId") }
            subjectsB = ScenarioTests.array(pageB.json, "entries").compactMap { ScenarioTests.string($0, "subjectId") }
            return subjectsA.count == 3 && subjectsB.count == 1
        }, "the ledger: \(subjectsA.count) at A, \(subjectsB.count) at B")
        #expect(try await eventually {
            !ScenarioTests.array(try await suite.call("inspection", "/v1/inspections?school=\(fell)", as: ScenarioTests.taskForce).json).isEmpty
        }, "the inspection is not recorded")
        var dead = (status: 0, json: JSONValue.null, text: "")
        #expect(try await eventually {
            dead = try await suite.call("intake", "/v1/dead?limit=1000", as: operatorIdentity)
            return dead.text.contains(deadID)
        }, "no dead letter \(deadID): \(dead.status) \(dead.text)")
        #expect(try await suite.call(method: "PUT", "inspection", "/v1/schools/\(fell)", as: ScenarioTests.taskForce,
                                     body: #"{"name":"\#(name)","type":"middle"}"#).status == 204)
        for q in [previous, quarter] {
            #expect(try await suite.call(method: "POST", "inspection", "/v1/ratings/\(q)/compute", as: ScenarioTests.taskForce).status == 200)
        }
        let risk = try await suite.call("assessment", "/v1/subjects/\(subjectsA[0])/risk", as: ScenarioTests.taskForce)

        let run = UUID().uuidString.prefix(6).lowercased()
        let password = "a long password 123"
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "tf-\(run)", name: "张专班", agency: "district-task-force",
                                             unit: "district-task-force", role: "task-force", password: password)
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "ops-\(run)", name: "运维小刘", agency: "operations",
                                             unit: "operations", role: "operator", password: password)
        let (status, output) = try runPython(python, script: "Tests/Browser/console_oversight.py", environment: [
            "CONSOLE_URL": "http://127.0.0.1:\(consolePort)", "PASSWORD": password, "TF_USER": "tf-\(run)", "OPS_USER": "ops-\(run)",
            "SCREENSHOTS": ConsoleBrowserTests.root.appendingPathComponent(".dev/screenshots").path, "LEDGER": "victims_needing_aid",
            "SCHOOL_A": schoolA, "SUBJECTS_A": subjectsA.joined(separator: ","), "SUBJECT_B": subjectsB[0], "RISK": risk.text,
            "FELL_SCHOOL": fell, "FELL_NAME": name, "DISTRICT": district, "QUARTER": quarter, "DEAD_ID": deadID,
        ])
        print("browser: \(output.suffix(3000))")
        #expect(status == 0, "\(output.suffix(3000))")
        // The replay is in intake's audit with the operator's name.
        let audit = try await suite.call("intake", "/v1/audit?person=ops-\(run)", as: ScenarioTests.taskForce)
        #expect(ScenarioTests.array(audit.json).contains { ScenarioTests.string($0, "resource") == "dead/\(deadID)" }, "\(audit.text)")
    }
}

extension ConsoleLoopTests.Browser {
    /// The hidden fields of the first form in some HTML, by name, as a browser would send them.
    static func hiddenFields(_ html: String) -> [String: String] {
        var fields: [String: String] = [:]
        let form = html.components(separatedBy: "</form>").first ?? html
        for input in form.components(separatedBy: "<input type=\"hidden\" ").dropFirst() {
            func attribute(_ name: String) -> String? {
                input.range(of: "\(name)=\"").map { String(input[$0.upperBound...].prefix { $0 != "\"" }) }
            }
            guard let name = attribute("name") else { continue }
            fields[name] = (attribute("value") ?? "").replacingOccurrences(of: "&amp;", with: "&")
        }
        return fields
    }

    /// A link or form whose answer is a file: its status, type, disposition and bytes.
    /// - Parameter form: The fields of a form to post; nil for a link (GET).
    func download(_ path: String, form: [String: String]?) async throws -> (status: Int, type: String, disposition: String, bytes: [UInt8]) {
        let response = try await Self.client.execute(request(path, form: form), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), response.headers.first(name: "Content-Type") ?? "", response.headers.first(name: "Content-Disposition") ?? "",
                Array(body.readableBytesView))
    }
}
