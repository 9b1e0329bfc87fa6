import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceKit

/// The overseers' pages: the watch ledgers (台账) filtered and paged on the server, a subject's risk explained
/// with the cases that name them, the statistics as charts with their tables, and a ledger's export. Every
/// read goes through the assessment service's API as the person, which audits it; an export holds personal
/// data, so only the task force makes one, on a stated purpose, and the console's audit keeps who, which
/// filter, how many rows and why.
struct OversightPages: Sendable {
    let pages: ConsolePages

    /// Entries on one page of a ledger.
    static let perPage = 50
    /// The most rows one export holds; a larger ledger is exported a filter at a time.
    static let exportLimit = 100_000
    /// The ledgers, in the order the pages list them.
    static let ledgers = LedgerChangedV1.Ledger.allCases.map(\.rawValue)
    static let tiers = ["critical", "high", "medium", "low"]
    /// Factor names of the risk models seen so far, by version (a version never changes once loaded).
    static let factorNames = FactorNames()

    func add(to router: Router<HuhangRequestContext>) {
        router.get("/ledgers") { request, _ in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await overview(session)
        }
        router.get("/ledgers/:name") { request, context in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await ledger(session, try context.parameters.require("name"), LedgerQuery(request))
        }
        pages.postForm(router, "/ledgers/:name/export", back: { context in "/ledgers/\((try? context.parameters.require("name")) ?? "")" }) {
            request, context, session, form in
            try await export(session, try context.parameters.require("name"), form: form, context: context)
        }
        router.get("/subjects/:id") { request, context in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await subject(session, try context.parameters.require("id"))
        }
        router.get("/summary") { request, _ in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await summary(session, SummaryPeriod(request, now: pages.clock.now()))
        }
        router.get("/stats") { request, _ in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await statistics(session)
        }
    }

    // MARK: Ledgers

    /// The filters of a ledger's page, from its query string or the export form's hidden fields.
    struct LedgerQuery: Sendable {
        var school = "", district = "", tier = "", since = "", after = ""

        init(_ query: [String: String]) {
            func value(_ key: String) -> String { (query[key] ?? "").trimmingCharacters(in: .whitespaces) }
            school = value("school")
            district = value("district")
            tier = OversightPages.tiers.contains(value("tier")) ? value("tier") : ""
            since = value("since")
            after = value("after").allSatisfy(\.isNumber) ? value("after") : ""
        }

        /// The filters in a page's query string.
        init(_ request: Request) {
            let parameters = request.uri.queryParameters
            var query: [String: String] = [:]
            for key in ["school", "district", "tier", "since", "after"] {
                if let value = parameters[Substring(key)] { query[key] = String(value) }
            }
            self.init(query)
        }

        /// The filters (not the page) as `key=value` pairs, percent-encoded, in a fixed order.
        var filters: [String] {
            [("school", school), ("district", district), ("tier", tier), ("since", since)].compactMap { key, value in
                value.isEmpty ? nil : "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._:"))) ?? "")"
            }
        }
    }

    /// Every ledger with its open entries (from `/v1/stats` for those who may read it).
    func overview(_ session: Session) async throws -> Response {
        let words = Words.table(session.person.language)
        var counts: [String: Int] = [:]
        if [.taskForce, .operator].contains(session.person.role),
           case .object(let stats)? = try? await pages.services.get("assessment", "/v1/stats", as: pages.identity(session)),
           case .object(let byLedger)? = stats["byLedger"] {
            for (ledger, count) in byLedger { if case .number(let value) = count { counts[ledger] = Int(value) } }
        }
        let rows: [[String: Any]] = Self.ledgers.map { ledger in
            ["ledger": ledger, "name": words["ledger.\(ledger)"] ?? ledger, "about": words["ledgerAbout.\(ledger)"] ?? "",
             "count": counts[ledger].map(String.init) ?? "—"]
        }
        return try pages.page("ledgers", title: "ledgersTitle", session: session, values: ["ledgers": rows])
    }

    /// One ledger's open entries, a page at a time, with the filters and (for the task force) the export form.
    /// - Parameters:
    ///   - failed: A mistake to show next to its field (`since`, `purpose`), the page answering 400.
    ///   - typed: What the person typed into the export form, kept when it is shown again.
    func ledger(
        _ session: Session, _ name: String, _ query: LedgerQuery, failed: [String: String] = [:], typed: [String: String] = [:]
    ) async throws -> Response {
        let words = Words.table(session.person.language)
        guard Self.ledgers.contains(name) else {
            return try pages.page("problem", title: "problemTitle", session: session, status: .notFound,
                                  values: ["message": words["noSuchLedger"]!, "back": "/ledgers"])
        }
        var failed = failed
        var entries: [[String: JSONValue]] = []
        var next: String?
        do {
            let path = "/v1/ledgers/\(name)?" + (["limit=\(Self.perPage)"] + query.filters + (query.after.isEmpty ? [] : ["after=\(query.after)"]))
                .joined(separator: "&")
            let answer = try await pages.services.get("assessment", path, as: pages.identity(session))
            if case .object(let page) = answer {
                entries = ConsolePages.items(page["entries"] ?? .null)
                if case .number(let after)? = page["next"] { next = String(Int64(after)) }
            }
        } catch let refused as ServiceCalls.Refused where refused.status == 400 {
            // The one filter the service can refuse is the day.
            failed["since"] = words["sinceFormat"]!
        } catch let refused as ServiceCalls.Refused {
            return try pages.problem(refused, back: "/ledgers", session: session)
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/ledgers", session: session)
        }
        let rows: [[String: Any]] = entries.map { entry in
            let subject = ConsolePages.plain(entry["subjectId"] ?? .null), tier = ConsolePages.plain(entry["tier"] ?? .null)
            return [
                "subjectId": subject, "short": Self.short(subject), "tier": words["tier.\(tier)"] ?? tier, "tierIcon": ConsolePages.tierIcon(tier),
                "score": ConsolePages.plain(entry["score"] ?? .null), "entrySchool": ConsolePages.plain(entry["schoolCode"] ?? .null),
                "entryDistrict": ConsolePages.plain(entry["district"] ?? .null), "entered": ConsolePages.when(entry["enteredAt"]),
                "reason": ConsolePages.plain(entry["reason"] ?? .null),
            ]
        }
        let base = "/ledgers/\(name)"
        var values: [String: Any] = [
            "ledger": name, "entries": rows, "empty": rows.isEmpty, "school": query.school, "district": query.district, "since": query.since,
            "tiers": Self.tiers.map { ["value": $0, "label": words["tier.\($0)"] ?? $0, "selected": query.tier == $0] as [String: Any] },
            "tier": query.tier, "about": words["ledgerAbout.\(name)"] ?? "",
            "taskForce": session.person.role == .taskForce, "exportAction": "/ledgers/\(name)/export", "exportTitle": words["exportTitle"]!,
            "exportHidden": [("school", query.school), ("district", query.district), ("tier", query.tier), ("since", query.since)]
                .map { ["name": $0.0, "value": $0.1] },
        ]
        values.merge(Self.exportValues(typed: typed, filtered: !query.filters.isEmpty)) { $1 }
        for (field, message) in failed { values["error_\(field)"] = message }
        if let next { values["next"] = base + "?" + (query.filters + ["after=\(next)"]).joined(separator: "&") }
        if !query.after.isEmpty { values["first"] = base + (query.filters.isEmpty ? "" : "?" + query.filters.joined(separator: "&")) }
        let title = words["ledger.\(name)"] ?? name
        return try pages.page("ledger", title: title, session: session, status: failed.isEmpty ? .ok : .badRequest, values: values)
    }

    /// A ledger's entries as a file: the task force only, on a stated purpose; the console's audit keeps the
    /// person, the ledger and filter, the number of rows, the format and the purpose.
    func export(_ session: Session, _ name: String, form: [String: String], context: HuhangRequestContext) async throws -> Response {
        let words = Words.table(session.person.language)
        let query = LedgerQuery(form)
        guard session.person.role == .taskForce else {
            return try pages.page("problem", title: "problemTitle", session: session, status: .forbidden,
                                  values: ["message": words["exportTaskForceOnly"]!, "back": "/ledgers/\(name)"])
        }
        guard Self.ledgers.contains(name) else { return try await ledger(session, name, query) }
        let purpose: String, format: ExportTable.Format
        switch Self.purpose(form, words: words) {
        case .success(let stated): (purpose, format) = stated
        case .failure(let mistake): return try await ledger(session, name, query, failed: [mistake.field: mistake.message], typed: form)
        }
        var rows: [[ExportTable.Cell]] = []
        var after = ""
        do {
            while rows.count <= Self.exportLimit {
                let path = "/v1/ledgers/\(name)?" + (["limit=500"] + query.filters + (after.isEmpty ? [] : ["after=\(after)"])).joined(separator: "&")
                guard case .object(let page) = try await pages.services.get("assessment", path, as: pages.identity(session)) else { break }
                for entry in ConsolePages.items(page["entries"] ?? .null) {
                    let tier = ConsolePages.plain(entry["tier"] ?? .null)
                    var score = 0.0
                    if case .number(let value)? = entry["score"] { score = value }
                    rows.append([
                        .number(Double(ConsolePages.plain(entry["entryId"] ?? .null)) ?? 0), .text(ConsolePages.plain(entry["subjectId"] ?? .null)),
                        .text(words["tier.\(tier)"] ?? tier), .number(score), .text(ConsolePages.plain(entry["schoolCode"] ?? .null)),
                        .text(ConsolePages.plain(entry["district"] ?? .null)), .text(ConsolePages.when(entry["enteredAt"])),
                        .text(ConsolePages.plain(entry["reason"] ?? .null)),
                    ])
                }
                guard case .number(let next)? = page["next"] else { break }
                after = String(Int64(next))
            }
        } catch let refused as ServiceCalls.Refused where refused.status == 400 {
            return try await ledger(session, name, query, failed: ["since": words["sinceFormat"]!], typed: form)
        } catch let refused as ServiceCalls.Refused {
            return try pages.problem(refused, back: "/ledgers/\(name)", session: session)
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/ledgers/\(name)", session: session)
        }
        // More than one file should hold: nothing is exported, and the person is asked to narrow the filter.
        guard rows.count <= Self.exportLimit else {
            return try await ledger(session, name, query, failed: ["purpose": words["exportTooLarge"]!], typed: form)
        }
        let table = ExportTable(
            name: words["ledger.\(name)"] ?? name,
            header: ["entryCol", "subjectCol", "tier", "scoreCol", "school", "districtCol", "enteredCol", "ledgerReasonCol"].map { words[$0] ?? $0 },
            rows: rows)
        let filter = query.filters.isEmpty ? "" : "?" + query.filters.joined(separator: "&")
        try await Audit.record(
            pages.identity(session), action: "export", resource: "ledger/\(name)\(filter)",
            reason: "\(purpose) · \(rows.count) rows · \(format.rawValue)", in: pages.store.database)
        context.logger.notice("ledger exported", metadata: ["console.export.rows": "\(rows.count)", "console.export.format": "\(format.rawValue)"])
        return Self.download(table.bytes(format), format: format, filename: "ledger-\(name)-\(ConsolePages.day(pages.clock.now())).\(format.rawValue)")
    }

    /// What the export form shows again after a mistake: the purpose typed, the format picked.
    static func exportValues(typed: [String: String], filtered: Bool) -> [String: Any] {
        ["purpose": typed["purpose"] ?? "", "csvChecked": typed["format"] != "xlsx", "xlsxChecked": typed["format"] == "xlsx", "filtered": filtered]
    }

    /// The purpose of an export of personal data, or the mistake to say next to its field.
    static func purpose(_ form: [String: String], words: [String: String]) -> Result<(purpose: String, format: ExportTable.Format), ExportMistake> {
        let purpose = (form["purpose"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !purpose.isEmpty else { return .failure(ExportMistake(field: "purpose", message: words["purposeRequired"]!)) }
        guard let format = ExportTable.Format(rawValue: form["format"] ?? "csv") else {
            return .failure(ExportMistake(field: "format", message: words["required"]!))
        }
        return .success((String(purpose.prefix(500)), format))
    }

    struct ExportMistake: Error {
        var field: String
        var message: String
    }

    /// A file to save, never cached.
    static func download(_ bytes: [UInt8], format: ExportTable.Format, filename: String) -> Response {
        var headers = ConsolePages.pageHeaders
        headers[.contentType] = format.contentType
        headers[.contentDisposition] = #"attachment; filename="\#(filename)""#
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func short(_ subjectID: String) -> String {
        subjectID.count > 14 ? String(subjectID.prefix(14)) + "…" : subjectID
    }

    // MARK: A subject

    /// A subject's tier explained (the assessment service audits the read as this person), and their cases.
    func subject(_ session: Session, _ subjectID: String) async throws -> Response {
        let words = Words.table(session.person.language)
        let identity = pages.identity(session)
        let risk: JSONValue
        do {
            risk = try await pages.services.get("assessment", "/v1/subjects/\(pages.path(subjectID))/risk", as: identity)
        } catch let refused as ServiceCalls.Refused {
            return try pages.problem(refused, back: "/ledgers", session: session)
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/ledgers", session: session)
        }
        guard case .object(let detail) = risk else { return try pages.problem(message: "?", back: "/ledgers", session: session) }
        // The cases that name the subject: those the person may see (the task force: all of them). When intervention
        // cannot say, the page says so rather than showing none.
        var cases: [[String: JSONValue]] = []
        var casesUnknown = false
        do {
            cases = ConsolePages.items(try await pages.services.get(
                "intervention", "/v1/cases?subject=\(pages.path(subjectID))&order=newest&limit=100", as: identity))
        } catch is ServiceCalls.Refused {
            casesUnknown = true
        } catch is ServiceCalls.Unavailable {
            casesUnknown = true
        }
        let version = ConsolePages.plain(detail["modelVersion"] ?? .null)
        let names = await Self.factorNames.names(version: version) {
            try? await pages.services.get("assessment", "/v1/models/\(pages.path(version))", as: identity)
        }
        func name(_ factor: String) -> String {
            guard let both = names[factor] else { return factor }
            let parts = both.components(separatedBy: " / ")
            return session.person.language == .en && parts.count > 1 ? parts[1] : parts[0]
        }
        let tier = ConsolePages.plain(detail["tier"] ?? .null)
        let factors: [[String: Any]] = ConsolePages.items(detail["factors"] ?? .null).map { factor in
            let id = ConsolePages.plain(factor["id"] ?? .null), dimension = ConsolePages.plain(factor["dimension"] ?? .null)
            return [
                "name": name(id), "id": id, "dimension": words["dimension.\(dimension)"] ?? dimension,
                "weight": ConsolePages.plain(factor["weight"] ?? .null), "since": ConsolePages.when(factor["since"]),
                "event": ConsolePages.plain(factor["event"] ?? .null), "detail": ConsolePages.plain(factor["detail"] ?? .null),
            ]
        }
        let ledgers: [[String: Any]] = ConsolePages.items(detail["ledgers"] ?? .null).map { entry in
            let ledger = ConsolePages.plain(entry["ledger"] ?? .null)
            return [
                "name": words["ledger.\(ledger)"] ?? ledger, "ledger": ledger, "entered": ConsolePages.when(entry["enteredAt"]),
                "reason": ConsolePages.plain(entry["reason"] ?? .null),
                "left": ConsolePages.date(entry["leftAt"]).map(ConsolePages.time) ?? words["stillOn"]!,
                "leftReason": ConsolePages.plain(entry["leftReason"] ?? .null),
            ]
        }
        let history: [[String: Any]] = ConsolePages.items(detail["history"] ?? .null).map { past in
            let tier = ConsolePages.plain(past["tier"] ?? .null), previous = ConsolePages.plain(past["previousTier"] ?? .null)
            var reasons: [String] = []
            if case .array(let listed)? = past["reasons"] { reasons = listed.map(ConsolePages.plain) }
            return [
                "at": ConsolePages.when(past["assessedAt"]), "tier": words["tier.\(tier)"] ?? tier, "tierIcon": ConsolePages.tierIcon(tier),
                "previous": previous.isEmpty ? "—" : words["tier.\(previous)"] ?? previous, "score": ConsolePages.plain(past["score"] ?? .null),
                "urgent": past["urgent"] == .bool(true), "cause": ConsolePages.plain(past["cause"] ?? .null),
                "model": ConsolePages.plain(past["modelVersion"] ?? .null), "reasons": reasons.joined(separator: "; "),
            ]
        }
        let caseRows: [[String: Any]] = cases.map { line in
            let tier = ConsolePages.plain(line["tier"] ?? .null), status = ConsolePages.plain(line["status"] ?? .null)
            return [
                "caseId": ConsolePages.plain(line["caseId"] ?? .null), "short": String(ConsolePages.plain(line["caseId"] ?? .null).prefix(8)),
                "tier": words["tier.\(tier)"] ?? tier, "status": words["caseStatus.\(status)"] ?? status, "opened": ConsolePages.when(line["openedAt"]),
            ]
        }
        return try pages.page("subject", title: "subjectTitle", session: session, values: [
            "subjectId": subjectID, "tier": words["tier.\(tier)"] ?? tier, "tierIcon": ConsolePages.tierIcon(tier),
            "score": ConsolePages.plain(detail["score"] ?? .null), "urgent": detail["urgent"] == .bool(true), "model": version,
            "assessed": ConsolePages.when(detail["assessedAt"]), "review": ConsolePages.date(detail["reviewAt"]).map(ConsolePages.time) ?? "",
            "school": ConsolePages.plain(detail["schoolCode"] ?? .null), "district": ConsolePages.plain(detail["district"] ?? .null),
            "factors": factors, "hasFactors": !factors.isEmpty, "ledgers": ledgers, "hasLedgers": !ledgers.isEmpty,
            "history": history, "cases": caseRows, "hasCases": !caseRows.isEmpty, "casesUnknown": casesUnknown,
            "noCasesKnown": caseRows.isEmpty && !casesUnknown,
        ])
    }

    // MARK: Summaries

    /// The period a summary covers, picked as a person names it: a month of a year, a quarter of a year, or the
    /// week holding a day.
    struct SummaryPeriod: Sendable {
        var kind = "month"
        var year: Int
        var month: Int
        var quarter: Int
        var day: String
        /// The anchor day the services take (`YYYY-MM-DD`).
        var date: String {
            switch kind {
            case "quarter": String(format: "%04d-%02d-01", year, (quarter - 1) * 3 + 1)
            case "week": day
            default: String(format: "%04d-%02d-01", year, month)
            }
        }

        init(_ request: Request, now: Date) {
            let query = request.uri.queryParameters
            let today = Periods.day(now)
            let parts = today.split(separator: "-").compactMap { Int($0) }
            func number(_ key: String, _ range: ClosedRange<Int>, _ fallback: Int) -> Int {
                query[Substring(key)].flatMap { Int($0) }.flatMap { range.contains($0) ? $0 : nil } ?? fallback
            }
            let asked = query["period"].map(String.init) ?? ""
            kind = ["week", "month", "quarter"].contains(asked) ? asked : "month"
            year = number("year", 2000...2100, parts[0])
            month = number("month", 1...12, parts[1])
            quarter = number("quarter", 1...4, (parts[1] - 1) / 3 + 1)
            let typed = query["day"].map(String.init) ?? ""
            day = typed.isEmpty ? today : typed
        }
    }

    /// A week's, month's or quarter's work in numbers, and the daily loop over it as charts with their table.
    func summary(_ session: Session, _ period: SummaryPeriod) async throws -> Response {
        let words = Words.table(session.person.language)
        let language = session.person.language
        var values: [String: Any] = [
            "isWeek": period.kind == "week", "isMonth": period.kind == "month", "isQuarter": period.kind == "quarter", "day": period.day,
            "years": (0..<3).map { offset -> [String: Any] in
                let year = Periods.calendar.component(.year, from: pages.clock.now()) - offset
                return ["value": year, "selected": year == period.year]
            },
            "months": (1...12).map { ["value": $0, "label": language == .en ? Self.monthNames[$0 - 1] : "\($0)月", "selected": $0 == period.month] },
            "quarterChoices": (1...4).map { ["value": $0, "label": language == .en ? "Q\($0)" : "第\($0)季度", "selected": $0 == period.quarter] },
        ]
        let bounds: (Date, Date)
        do {
            bounds = try Periods.period(period.kind, period.date, now: pages.clock.now())
        } catch {
            values["error_day"] = words["sinceFormat"]!
            return try pages.page("summary", title: "summaryTitle", session: session, status: .badRequest, values: values)
        }
        let identity = pages.identity(session)
        let last = Periods.day(bounds.1.addingTimeInterval(-1))
        do {
            async let counts = pages.services.get("intervention", "/v1/summary?period=\(period.kind)&date=\(period.date)", as: identity)
            async let days = pages.services.get("intervention", "/v1/days?from=\(Periods.day(bounds.0))&to=\(last)", as: identity)
            let (summary, daily) = try await (counts, days)
            if case .object(let figures) = summary { values["counts"] = figures.mapValues(ConsolePages.plain) }
            values.merge(ConsolePages.fortnight(ConsolePages.items(daily), words: words)) { $1 }
            values["loopTitle"] = words["dailyLoop"]
            values["loopCaption"] = words["dailyLoopCaption"]
        } catch let refused as ServiceCalls.Refused {
            return try pages.page("problem", title: "problemTitle", session: session, status: .init(code: refused.status),
                                  values: ["message": refused.status == 403 ? words["taskForceOnly"]! : ServiceCalls.message(refused), "back": "/"])
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/", session: session)
        }
        values["periodName"] = switch period.kind {
        case "quarter": SafetyPages.quarterName(String(format: "%04d-Q%d", period.year, period.quarter), language)
        case "week": "\(Periods.day(bounds.0)) — \(last)"
        default: language == .en ? "\(Self.monthNames[period.month - 1]) \(period.year)" : "\(period.year)年\(period.month)月"
        }
        return try pages.page("summary", title: "summaryTitle", session: session, values: values)
    }

    static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]

    // MARK: Statistics

    /// Subjects by tier, ledger, district and school, each as bars with the same figures in a table.
    func statistics(_ session: Session) async throws -> Response {
        let words = Words.table(session.person.language)
        let answer: JSONValue
        do {
            answer = try await pages.services.get("assessment", "/v1/stats", as: pages.identity(session))
        } catch let refused as ServiceCalls.Refused {
            return try pages.page("problem", title: "problemTitle", session: session, status: .init(code: refused.status),
                                  values: ["message": words["taskForceOrOperators"]!, "back": "/"])
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/", session: session)
        }
        guard case .object(let stats) = answer else { return try pages.problem(message: "?", back: "/", session: session) }
        func counts(_ key: String) -> [String: Int] {
            guard case .object(let object)? = stats[key] else { return [:] }
            return object.compactMapValues { if case .number(let value) = $0 { Int(value) } else { nil } }
        }
        func largestFirst(_ counts: [String: Int]) -> [(String, Int)] {
            counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        }
        let byTier = counts("byTier"), byLedger = counts("byLedger")
        let sections: [(id: String, title: String, caption: String, rows: [(label: String, count: Int)])] = [
            ("tiers", words["statsByTier"]!, words["statsByTierAbout"]!, Self.tiers.map { (words["tier.\($0)"] ?? $0, byTier[$0] ?? 0) }),
            ("ledgers", words["statsByLedger"]!, words["statsByLedgerAbout"]!,
             Self.ledgers.map { (words["ledger.\($0)"] ?? $0, byLedger[$0] ?? 0) }),
            ("districts", words["statsByDistrict"]!, words["statsByDistrictAbout"]!, largestFirst(counts("byDistrict")).map { ($0.0, $0.1) }),
            ("schools", words["statsBySchool"]!, words["statsBySchoolAbout"]!, Array(largestFirst(counts("bySchool")).prefix(20)).map { ($0.0, $0.1) }),
        ]
        let charts: [[String: Any]] = sections.map { section in
            [
                "id": section.id, "title": section.title, "caption": section.caption, "empty": section.rows.isEmpty,
                "svg": BarChart.horizontal(id: "chart-\(section.id)", title: section.title, description: section.caption,
                                           labels: section.rows.map(\.label), values: section.rows.map(\.count)),
                "rows": section.rows.map { ["label": $0.label, "count": $0.count] as [String: Any] },
            ]
        }
        return try pages.page("stats", title: "statsTitle", session: session, values: ["sections": charts])
    }
}

/// The factor names of each risk model version the console has shown, read once from the assessment
/// service (`GET /v1/models/{version}`): a loaded version never changes.
actor FactorNames {
    private var known: [String: [String: String]] = [:]

    /// - Parameters:
    ///   - version: The model version.
    ///   - fetch: Reads the model's definition; nil when the person may not (their page then shows factor ids).
    /// - Returns: Each factor's id and its name as the model gives it (`中文 / English`).
    func names(version: String, fetch: @Sendable () async -> JSONValue?) async -> [String: String] {
        if let names = known[version] { return names }
        guard case .object(let model)? = await fetch(), case .array(let factors)? = model["factors"] else { return [:] }
        var names: [String: String] = [:]
        for case .object(let factor) in factors {
            if case .string(let id)? = factor["id"], case .string(let name)? = factor["name"] { names[id] = name }
        }
        known[version] = names
        return names
    }
}
