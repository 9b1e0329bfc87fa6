import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceKit

/// Schools and safety, for the education bureau, the task force and operators: the schools registry (and its
/// editing), inspections and coverage this quarter, hazards open and late, venues flagged, the quarterly rating
/// per district with each school's movement and the trend over the last quarters, the bulletin (通报) to print or
/// download, a quarter's rating computed. All of it comes from the inspection service's API as the person; none
/// of it is a minor's data.
struct SafetyPages: Sendable {
    let pages: ConsolePages

    /// Schools on one page of the registry.
    static let perPage = 50
    /// Schools on one page of a quarter's ratings.
    static let ratingsPerPage = 100
    /// The most inspections of a quarter the page lists.
    static let inspectionsShown = 5000
    /// Quarters in the rating's trend.
    static let trendQuarters = 6
    static let ratings = ["model", "compliant", "non_compliant"]

    func add(to router: Router<HuhangRequestContext>) {
        get(router, "/schools") { request, _, session in
            let query = request.uri.queryParameters
            return try await schools(session, district: Self.text(query["district"]), after: Self.text(query["after"]))
        }
        get(router, "/schools/:code") { request, context, session in
            try await school(session, try context.parameters.require("code"), saved: request.uri.queryParameters["saved"] != nil)
        }
        pages.postForm(router, "/schools/:code", back: { context in "/schools/\((try? context.parameters.require("code")) ?? "")" }) {
            _, context, session, form in
            try await save(session, try context.parameters.require("code"), form: form)
        }
        get(router, "/inspections") { request, _, session in
            try await inspections(session, quarter: Self.quarter(request, now: pages.clock.now()))
        }
        get(router, "/hazards") { request, _, session in
            let query = request.uri.queryParameters
            return try await hazards(session, state: Self.text(query["state"]), school: Self.text(query["school"]), unit: Self.text(query["unit"]))
        }
        get(router, "/venues") { request, _, session in
            try await venues(session, flaggedOnly: request.uri.queryParameters["all"] == nil)
        }
        get(router, "/ratings") { request, _, session in
            let query = request.uri.queryParameters
            return try await ratingsPage(session, quarter: Self.quarter(request, now: pages.clock.now()), district: Self.text(query["district"]),
                                         page: min(max(Int(Self.text(query["page"])) ?? 1, 1), 10_000),
                                         done: Self.text(query["done"]).allSatisfy(\.isNumber) ? Self.text(query["done"]) : "")
        }
        pages.postForm(router, "/ratings/:quarter/compute", back: { _ in "/ratings" }) { _, context, session, form in
            try await compute(session, quarter: try context.parameters.require("quarter"), district: form["district"] ?? "")
        }
        get(router, "/ratings/:quarter/bulletin") { request, context, session in
            try await bulletin(session, quarter: try context.parameters.require("quarter"), district: Self.text(request.uri.queryParameters["district"]))
        }
        get(router, "/ratings/:quarter/bulletin.md") { request, context, session in
            try await bulletinFile(session, quarter: try context.parameters.require("quarter"),
                                   district: Self.text(request.uri.queryParameters["district"]), context: context)
        }
        get(router, "/ratings/:quarter/export") { request, context, session in
            let query = request.uri.queryParameters
            return try await export(session, quarter: try context.parameters.require("quarter"), district: Self.text(query["district"]),
                                    format: ExportTable.Format(rawValue: Self.text(query["format"])) ?? .csv, context: context)
        }
    }

    /// A page for the people who look after schools' safety: the task force, the education bureau, operators.
    func get(
        _ router: Router<HuhangRequestContext>, _ path: RouterPath,
        _ handle: @escaping @Sendable (Request, HuhangRequestContext, Session) async throws -> Response
    ) {
        router.get(path) { request, context in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            guard Self.mayRead(session.person.role) else {
                return try pages.page("problem", title: "problemTitle", session: session, status: .forbidden,
                                      values: ["message": Words.table(session.person.language)["safetyRoles"]!, "back": "/"])
            }
            do {
                return try await handle(request, context, session)
            } catch let refused as ServiceCalls.Refused {
                return try pages.problem(refused, back: "/", session: session)
            } catch let down as ServiceCalls.Unavailable {
                return try pages.problem(message: Words.table(session.person.language)["serviceDown"]! + " " + down.service, back: "/", session: session)
            }
        }
    }

    static func mayRead(_ role: ConsoleRole) -> Bool { [.taskForce, .education, .operator].contains(role) }
    static func mayEditSchools(_ role: ConsoleRole) -> Bool { [.taskForce, .education, .operator].contains(role) }
    static func mayCompute(_ role: ConsoleRole) -> Bool { [.taskForce, .operator].contains(role) }

    static func text(_ value: Substring?) -> String { (value.map(String.init) ?? "").trimmingCharacters(in: .whitespaces) }

    /// The quarter asked for (`?quarter=YYYY-Qn`), else this one.
    static func quarter(_ request: Request, now: Date) -> String {
        let asked = text(request.uri.queryParameters["quarter"])
        return Quarter.bounds(asked) != nil ? asked : Quarter.of(now)
    }

    /// `2026-Q4` as a person reads it: 2026年第4季度, or Q4 2026.
    static func quarterName(_ quarter: String, _ language: Language) -> String {
        let parts = quarter.split(separator: "-Q")
        guard parts.count == 2 else { return quarter }
        return language == .en ? "Q\(parts[1]) \(parts[0])" : "\(parts[0])年第\(parts[1])季度"
    }

    /// The quarters a picker offers: the last eight, newest first, the chosen one selected.
    static func quarterChoices(_ chosen: String, now: Date, _ language: Language) -> [[String: Any]] {
        Quarter.recent(8, upTo: Quarter.of(now)).reversed().map { ["value": $0, "label": quarterName($0, language), "selected": $0 == chosen] }
    }

    func percent(_ value: JSONValue?) -> Int {
        if case .number(let share)? = value { return Int((share * 100).rounded()) }
        return 0
    }

    // MARK: The registry

    func schools(_ session: Session, district: String, after: String) async throws -> Response {
        let words = Words.table(session.person.language)
        let identity = pages.identity(session)
        async let listAnswer = pages.services.get("inspection", "/v1/schools" + (district.isEmpty ? "" : "?district=\(pages.path(district))"), as: identity)
        async let coverageAnswer = pages.services.get("inspection", "/v1/coverage", as: identity)
        let (list, coverage) = try await (listAnswer, coverageAnswer)
        let all = ConsolePages.items(list)
        let shown = all.filter { after.isEmpty || ConsolePages.plain($0["code"] ?? .null) > after }.prefix(Self.perPage)
        let rows: [[String: Any]] = shown.map { school in
            let type = ConsolePages.plain(school["type"] ?? .null)
            return [
                "code": ConsolePages.plain(school["code"] ?? .null), "name": ConsolePages.plain(school["name"] ?? .null),
                "type": type.isEmpty ? "" : words["schoolType.\(type)"] ?? type, "district": ConsolePages.plain(school["district"] ?? .null),
                "officer": ConsolePages.plain(school["policeOfficer"] ?? .null), "officerUnit": ConsolePages.plain(school["policeUnit"] ?? .null),
                "vice": ConsolePages.plain(school["legalVicePrincipal"] ?? .null),
                "viceUnit": ConsolePages.plain(school["legalVicePrincipalUnit"] ?? .null),
                "posts": ConsolePages.plain(school["guardPosts"] ?? .null),
            ]
        }
        var values: [String: Any] = ["schools": rows, "empty": rows.isEmpty, "filterDistrict": district, "total": all.count]
        if case .object(let shares) = coverage {
            values["hasCoverage"] = true
            values["coverage"] = [
                ["label": words["coverage.alarm"]!, "percent": percent(shares["alarmLinked"])],
                ["label": words["coverage.officer"]!, "percent": percent(shares["policeOfficer"])],
                ["label": words["coverage.vice"]!, "percent": percent(shares["legalVicePrincipal"])],
                ["label": words["coverage.post"]!, "percent": percent(shares["guardPostStaffed"])],
            ]
        }
        let filter = district.isEmpty ? [] : ["district=\(pages.path(district))"]
        if shown.count == Self.perPage, let last = rows.last?["code"] as? String, all.last.map({ ConsolePages.plain($0["code"] ?? .null) }) != last {
            values["next"] = "/schools?" + (filter + ["after=\(pages.path(last))"]).joined(separator: "&")
        }
        if !after.isEmpty { values["first"] = "/schools" + (filter.isEmpty ? "" : "?" + filter.joined(separator: "&")) }
        return try pages.page("schools", title: "schoolsTitle", session: session, values: values)
    }

    /// One school: the registry's entry (a form for those who may change it), its ratings, inspections and hazards.
    func school(
        _ session: Session, _ code: String, saved: Bool = false, failed: [String: String] = [:], typed: [String: String]? = nil
    ) async throws -> Response {
        let words = Words.table(session.person.language)
        let identity = pages.identity(session)
        let codePath = pages.path(code)
        let answer: JSONValue
        do {
            answer = try await pages.services.get("inspection", "/v1/schools/\(codePath)", as: identity)
        } catch let refused as ServiceCalls.Refused {
            return try pages.problem(refused, back: "/schools", session: session)
        }
        async let inspectionsAnswer = pages.services.get("inspection", "/v1/inspections?school=\(codePath)", as: identity)
        async let hazardsAnswer = pages.services.get("inspection", "/v1/hazards?state=all&school=\(codePath)", as: identity)
        let (inspections, hazards) = try await (inspectionsAnswer, hazardsAnswer)
        guard case .object(let found) = answer, case .object(let school)? = found["school"] else {
            return try pages.problem(message: "?", back: "/schools", session: session)
        }
        func field(_ key: String) -> String { typed?[key] ?? ConsolePages.plain(school[key] ?? .null) }
        let type = field("type")
        let ratings: [[String: Any]] = ConsolePages.items(found["ratings"] ?? .null).reversed().map { rated in
            let rating = ConsolePages.plain(rated["rating"] ?? .null)
            return ["quarter": Self.quarterName(ConsolePages.plain(rated["quarter"] ?? .null), session.person.language),
                    "rating": words["rating.\(rating)"] ?? rating, "icon": Self.ratingIcon(rating)]
        }
        var values: [String: Any] = [
            "code": code, "name": field("name"), "district": ConsolePages.plain(school["district"] ?? .null),
            "policeOfficer": field("policeOfficer"), "policeUnit": field("policeUnit"), "legalVicePrincipal": field("legalVicePrincipal"),
            "legalVicePrincipalUnit": field("legalVicePrincipalUnit"), "guardPosts": field("guardPosts"),
            "types": ["kindergarten", "primary", "middle", "vocational"].map { ["value": $0, "label": words["schoolType.\($0)"] ?? $0, "selected": type == $0] },
            "typeName": type.isEmpty ? "—" : words["schoolType.\(type)"] ?? type,
            "mayEdit": Self.mayEditSchools(session.person.role), "saved": saved,
            "ratings": ratings, "hasRatings": !ratings.isEmpty,
            "inspections": ConsolePages.items(inspections).prefix(20).map(inspectionRow(words)),
            "hazards": ConsolePages.items(hazards).map(hazardRow(words)),
        ]
        values["hasInspections"] = !((values["inspections"] as? [[String: Any]])?.isEmpty ?? true)
        values["hasHazards"] = !((values["hazards"] as? [[String: Any]])?.isEmpty ?? true)
        for (key, message) in failed { values["error_\(key)"] = message }
        return try pages.page("school", title: "schoolTitle", session: session, status: failed.isEmpty ? .ok : .badRequest, values: values)
    }

    /// Saves the registry's entry through the API; a mistake is said next to its field, with what was typed kept.
    func save(_ session: Session, _ code: String, form: [String: String]) async throws -> Response {
        let words = Words.table(session.person.language)
        guard Self.mayEditSchools(session.person.role) else {
            return try pages.page("problem", title: "problemTitle", session: session, status: .forbidden,
                                  values: ["message": words["safetyRoles"]!, "back": "/schools/\(code)"])
        }
        func text(_ key: String) -> String? {
            let value = (form[key] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            return value.isEmpty ? nil : value
        }
        var failed: [String: String] = [:]
        var body: [String: Any] = [:]
        // The district is not edited here: sent as the registry has it, so that saving does not reset it.
        for key in ["name", "type", "policeOfficer", "policeUnit", "legalVicePrincipal", "legalVicePrincipalUnit", "district"] {
            if let value = text(key) { body[key] = value }
        }
        if let posts = text("guardPosts") {
            if let count = Int(posts), (0...99).contains(count) { body["guardPosts"] = count } else { failed["guardPosts"] = words["guardPostsNumber"]! }
        }
        if failed.isEmpty {
            do {
                _ = try await pages.services.send(
                    "PUT", "inspection", "/v1/schools/\(pages.path(code))", as: pages.identity(session),
                    body: Array(try JSONSerialization.data(withJSONObject: body)))
                return Response.redirect(to: "/schools/\(pages.path(code))?saved=1")
            } catch let refused as ServiceCalls.Refused {
                // The service names the field: `/policeUnit: is a unit code, …`; `type is …`.
                let message = ServiceCalls.message(refused)
                let field = ["policeUnit", "legalVicePrincipalUnit", "type"].first { message.hasPrefix("/\($0)") || message.hasPrefix($0) } ?? "name"
                failed[field] = field.hasSuffix("Unit") ? words["unitCodeFormat"]! : message
            }
        }
        return try await school(session, code, failed: failed, typed: form)
    }

    func inspectionRow(_ words: [String: String]) -> @Sendable ([String: JSONValue]) -> [String: Any] {
        { inspection in
            let kind = ConsolePages.plain(inspection["kind"] ?? .null)
            return [
                "school": ConsolePages.plain(inspection["schoolCode"] ?? .null), "kind": words["inspectionKind.\(kind)"] ?? kind,
                "unit": ConsolePages.plain(inspection["unit"] ?? .null), "at": ConsolePages.when(inspection["inspectedAt"]),
                "passed": ConsolePages.plain(inspection["passed"] ?? .null), "failed": ConsolePages.plain(inspection["failed"] ?? .null),
            ]
        }
    }

    func hazardRow(_ words: [String: String]) -> @Sendable ([String: JSONValue]) -> [String: Any] {
        { hazard in
            let severity = ConsolePages.plain(hazard["severity"] ?? .null), item = ConsolePages.plain(hazard["item"] ?? .null)
            let closed = ConsolePages.date(hazard["closedAt"]).map(ConsolePages.time)
            return [
                "item": words["item.\(item)"] ?? item, "school": ConsolePages.plain(hazard["schoolCode"] ?? .null),
                "severity": words["severity.\(severity)"] ?? severity, "unit": ConsolePages.plain(hazard["unit"] ?? .null),
                "reported": ConsolePages.when(hazard["reportedAt"]), "due": ConsolePages.when(hazard["dueAt"]),
                "closed": closed ?? words["hazardOpen"]!, "late": hazard["late"] == .bool(true),
            ]
        }
    }

    // MARK: Inspections, hazards, venues

    /// The quarter's inspections and the share of schools each safeguard covers.
    func inspections(_ session: Session, quarter: String) async throws -> Response {
        let words = Words.table(session.person.language)
        let identity = pages.identity(session)
        let (start, end) = Quarter.bounds(quarter)!
        let bounds = "since=\(ContractCoding.formatTime(start))&until=\(ContractCoding.formatTime(end))"
            .replacingOccurrences(of: "+", with: "%2B")
        async let listAnswer = pages.services.get("inspection", "/v1/inspections?\(bounds)&limit=\(Self.inspectionsShown)", as: identity)
        async let coverageAnswer = pages.services.get("inspection", "/v1/coverage", as: identity)
        let (list, coverage) = try await (listAnswer, coverageAnswer)
        let inQuarter = ConsolePages.items(list)
        let schoolsInspected = Set(inQuarter.map { ConsolePages.plain($0["schoolCode"] ?? .null) }).count
        var values: [String: Any] = [
            "inspections": inQuarter.map(inspectionRow(words)), "empty": inQuarter.isEmpty, "inspected": schoolsInspected,
            "quarterName": Self.quarterName(quarter, session.person.language),
            "quarters": Self.quarterChoices(quarter, now: pages.clock.now(), session.person.language),
        ]
        if case .object(let shares) = coverage {
            let rows: [(String, Int)] = [
                (words["coverage.alarm"]!, percent(shares["alarmLinked"])), (words["coverage.officer"]!, percent(shares["policeOfficer"])),
                (words["coverage.vice"]!, percent(shares["legalVicePrincipal"])), (words["coverage.post"]!, percent(shares["guardPostStaffed"])),
            ]
            values["schools"] = ConsolePages.plain(shares["schools"] ?? .null)
            values["coverage"] = rows.map { ["label": $0.0, "percent": $0.1] as [String: Any] }
            values["coverageChart"] = BarChart.horizontal(
                id: "chart-coverage", title: words["coverageTitle"]!, description: words["coverageAbout"]!, labels: rows.map(\.0), values: rows.map(\.1))
        }
        return try pages.page("inspections", title: "inspectionsTitle", session: session, values: values)
    }

    /// Hazards in a state (open by default), soonest deadline first, and how many each school and unit has.
    func hazards(_ session: Session, state: String, school: String, unit: String) async throws -> Response {
        let words = Words.table(session.person.language)
        let state = ["open", "late", "all"].contains(state) ? state : "open"
        var query = ["state=\(state)"]
        if !school.isEmpty { query.append("school=\(pages.path(school))") }
        if !unit.isEmpty { query.append("unit=\(pages.path(unit))") }
        let list = ConsolePages.items(try await pages.services.get("inspection", "/v1/hazards?" + query.joined(separator: "&"), as: pages.identity(session)))
        func tally(_ key: String) -> [[String: Any]] {
            var counts: [String: (all: Int, late: Int)] = [:]
            for hazard in list {
                let name = ConsolePages.plain(hazard[key] ?? .null)
                counts[name, default: (0, 0)].all += 1
                if hazard["late"] == .bool(true) { counts[name, default: (0, 0)].late += 1 }
            }
            return counts.sorted { $0.value.all != $1.value.all ? $0.value.all > $1.value.all : $0.key < $1.key }.prefix(20)
                .map { ["name": $0.key, "count": $0.value.all, "late": $0.value.late] }
        }
        return try pages.page("hazards", title: "hazardsTitle", session: session, values: [
            "hazards": list.map(hazardRow(words)), "empty": list.isEmpty, "filterSchool": school, "filterUnit": unit, "count": list.count,
            "states": ["open", "late", "all"].map { ["value": $0, "label": words["hazardState.\($0)"]!, "selected": state == $0] },
            "bySchool": tally("schoolCode"), "byUnit": tally("unit"), "hasTally": !list.isEmpty,
        ])
    }

    func venues(_ session: Session, flaggedOnly: Bool) async throws -> Response {
        let words = Words.table(session.person.language)
        let list = ConsolePages.items(try await pages.services.get(
            "inspection", "/v1/venues" + (flaggedOnly ? "?flagged=true" : ""), as: pages.identity(session)))
        let rows: [[String: Any]] = list.map { venue in
            let kind = ConsolePages.plain(venue["kind"] ?? .null)
            return [
                "name": ConsolePages.plain(venue["name"] ?? .null), "kind": words["venueKind.\(kind)"] ?? kind,
                "address": ConsolePages.plain(venue["address"] ?? .null), "findings": ConsolePages.plain(venue["findings"] ?? .null),
                "flagged": ConsolePages.date(venue["flaggedAt"]).map(ConsolePages.time) ?? "—", "isFlagged": venue["flaggedAt"].map { $0 != .null } ?? false,
                "last": ConsolePages.when(venue["lastFoundAt"]),
            ]
        }
        return try pages.page("venues", title: "venuesTitle", session: session, values: [
            "venues": rows, "empty": rows.isEmpty, "flaggedOnly": flaggedOnly,
        ])
    }

    // MARK: Ratings

    /// A school's line in a quarter's ratings, as the inspection service gives it.
    struct Rated {
        var code: String, name: String, rating: String, previous: String, movement: String, reasons: String

        init(_ school: [String: JSONValue]) {
            code = ConsolePages.plain(school["schoolCode"] ?? .null)
            name = ConsolePages.plain(school["name"] ?? .null)
            rating = ConsolePages.plain(school["rating"] ?? .null)
            previous = ConsolePages.plain(school["previousRating"] ?? .null)
            movement = ConsolePages.plain(school["movement"] ?? .null)
            var listed: [String] = []
            if case .array(let items)? = school["reasons"] { listed = items.map(ConsolePages.plain) }
            reasons = listed.joined(separator: "; ")
        }

        /// The rating, the one before and the movement in the person's words.
        func words(_ words: [String: String]) -> (rating: String, previous: String, movement: String) {
            (words["rating.\(rating)"] ?? rating, previous.isEmpty ? "—" : words["rating.\(previous)"] ?? previous, words["movement.\(movement)"] ?? movement)
        }
    }

    static func ratingIcon(_ rating: String) -> String {
        switch rating {
        case "model": "★★★"
        case "compliant": "★★☆"
        default: "★☆☆"
        }
    }

    static func movementIcon(_ movement: String) -> String {
        switch movement {
        case "up": "↑"
        case "down": "↓"
        case "same": "="
        default: "＋"
        }
    }

    /// A quarter's ratings for a district (or all), the trend over the last quarters, and what can be done. The
    /// service orders and pages the schools (those that fell first) and counts them; the page shows a hundred.
    func ratingsPage(_ session: Session, quarter: String, district: String, page: Int, done: String) async throws -> Response {
        let words = Words.table(session.person.language)
        let language = session.person.language
        let identity = pages.identity(session)
        let filter = district.isEmpty ? "" : "district=\(pages.path(district))"
        let offset = (page - 1) * Self.ratingsPerPage
        async let listAnswer = pages.services.get(
            "inspection", "/v1/ratings/\(quarter)?order=attention&limit=\(Self.ratingsPerPage)&offset=\(offset)" + (filter.isEmpty ? "" : "&" + filter),
            as: identity)
        async let trendAnswer = pages.services.get(
            "inspection", "/v1/ratings/\(quarter)/trend?quarters=\(Self.trendQuarters)" + (filter.isEmpty ? "" : "&" + filter), as: identity)
        let (list, trend) = try await (listAnswer, trendAnswer)
        let rows: [[String: Any]] = ConsolePages.items(list).map { school in
            let line = Rated(school), said = line.words(words)
            return [
                "code": line.code, "name": line.name, "rating": said.rating, "icon": Self.ratingIcon(line.rating), "previous": said.previous,
                "movement": said.movement, "arrow": Self.movementIcon(line.movement), "fell": line.movement == "down", "reasons": line.reasons,
            ]
        }
        // This quarter's counts are the trend's last.
        let now = ConsolePages.items(trend).last ?? [:]
        func figure(_ key: String) -> Int { if case .number(let value)? = now[key] { Int(value) } else { 0 } }
        let counts = ["model": figure("model"), "compliant": figure("compliant"), "non_compliant": figure("nonCompliant")]
        let total = counts.values.reduce(0, +)
        let pageCount = max((total + Self.ratingsPerPage - 1) / Self.ratingsPerPage, 1)
        let periods = ConsolePages.items(trend)
        func series(_ key: String) -> [Int] {
            periods.map { period in if case .number(let value)? = period[key] { Int(value) } else { 0 } }
        }
        let labels = periods.map { ConsolePages.plain($0["quarter"] ?? .null) }
        let trendRows: [[String: Any]] = periods.indices.map { index in
            ["quarter": Self.quarterName(labels[index], language), "model": series("model")[index], "compliant": series("compliant")[index],
             "nonCompliant": series("nonCompliant")[index]]
        }
        let base = "/ratings?quarter=\(quarter)" + (filter.isEmpty ? "" : "&" + filter)
        var values: [String: Any] = [
            "quarter": quarter, "quarterName": Self.quarterName(quarter, language), "district": district,
            "quarters": Self.quarterChoices(quarter, now: pages.clock.now(), language),
            "schools": rows, "empty": total == 0, "total": total,
            "counts": Self.ratings.map { ["label": words["rating.\($0)"]!, "icon": Self.ratingIcon($0), "count": counts[$0] ?? 0] as [String: Any] },
            "fellCount": figure("fell"), "roseCount": figure("rose"),
            "trend": LineChart.svg(
                id: "chart-trend", title: words["trendTitle"]!, description: words["trendAbout"]!, labels: labels,
                series: [.init(name: words["rating.model"]!, values: series("model")), .init(name: words["rating.compliant"]!, values: series("compliant")),
                         .init(name: words["rating.non_compliant"]!, values: series("nonCompliant"))]),
            "trendRows": trendRows, "mayCompute": Self.mayCompute(session.person.role),
            "ratingModel": words["rating.model"]!, "ratingCompliant": words["rating.compliant"]!, "ratingNonCompliant": words["rating.non_compliant"]!,
            "movementDown": words["movement.down"]!, "movementUp": words["movement.up"]!,
            "filterQuery": filter.isEmpty ? "" : "?" + filter, "filterAnd": filter.isEmpty ? "" : "&" + filter,
            "done": done.isEmpty ? "" : words["ratingDone"]!.replacingOccurrences(of: "{n}", with: done),
        ]
        if page < pageCount { values["next"] = base + "&page=\(page + 1)" }
        if page > 1 { values["first"] = base }
        values["pageOf"] = pageCount > 1 ? "\(page) / \(pageCount)" : ""
        return try pages.page("ratings", title: "ratingsTitle", session: session, values: values)
    }

    /// Computes a quarter's ratings through the API (audited there as the person), then shows them.
    func compute(_ session: Session, quarter: String, district: String) async throws -> Response {
        let words = Words.table(session.person.language)
        guard Self.mayCompute(session.person.role), Quarter.bounds(quarter) != nil else {
            return try pages.page("problem", title: "problemTitle", session: session, status: .forbidden,
                                  values: ["message": words["computeRoles"]!, "back": "/ratings"])
        }
        let answer: JSONValue
        do {
            answer = try await pages.services.send("POST", "inspection", "/v1/ratings/\(quarter)/compute", as: pages.identity(session), body: nil)
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/ratings", session: session)
        }
        var rated = "0"
        if case .object(let result) = answer { rated = ConsolePages.plain(result["schools"] ?? .null) }
        let district = district.trimmingCharacters(in: .whitespaces)
        return Response.redirect(to: "/ratings?quarter=\(quarter)" + (district.isEmpty ? "" : "&district=\(pages.path(district))") + "&done=\(rated)")
    }

    /// The bulletin (通报) as a page to print: the counts, the schools that fell with why, every school by rating.
    func bulletin(_ session: Session, quarter: String, district: String) async throws -> Response {
        let words = Words.table(session.person.language)
        guard Quarter.bounds(quarter) != nil else {
            return try pages.page("problem", title: "problemTitle", session: session, status: .notFound, values: ["message": "?", "back": "/ratings"])
        }
        let filter = district.isEmpty ? "" : "?district=\(pages.path(district))"
        let rated = ConsolePages.items(try await pages.services.get("inspection", "/v1/ratings/\(quarter)" + filter, as: pages.identity(session)))
        func row(_ school: [String: JSONValue]) -> [String: Any] {
            let line = Rated(school), said = line.words(words)
            return [
                "code": line.code, "name": line.name, "rating": said.rating, "previous": said.previous,
                "movement": "\(Self.movementIcon(line.movement)) \(said.movement)", "reasons": line.reasons,
            ]
        }
        let groups: [[String: Any]] = Self.ratings.map { rating in
            let schools = rated.filter { ConsolePages.plain($0["rating"] ?? .null) == rating }.map(row)
            return ["title": words["rating.\(rating)"]!, "schools": schools, "count": schools.count, "any": !schools.isEmpty]
        }
        let fell = rated.filter { ConsolePages.plain($0["movement"] ?? .null) == "down" }.map(row)
        let title = words["bulletinHeading"]!.replacingOccurrences(of: "{q}", with: Self.quarterName(quarter, session.person.language))
        return try pages.page("bulletin", title: "bulletinTitle", session: session, values: [
            "heading": title, "district": district.isEmpty ? words["allDistricts"]! : district, "groups": groups, "fell": fell,
            "hasFell": !fell.isEmpty, "total": rated.count, "issued": ConsolePages.day(pages.clock.now()), "quarter": quarter,
            "filterQuery": filter, "empty": rated.isEmpty,
        ])
    }

    /// The bulletin as the inspection service writes it (Markdown), as a file; the download is audited.
    func bulletinFile(_ session: Session, quarter: String, district: String, context: HuhangRequestContext) async throws -> Response {
        guard Quarter.bounds(quarter) != nil else { return Response(status: .notFound) }
        let filter = district.isEmpty ? "" : "?district=\(pages.path(district))"
        let text = try await pages.services.text("inspection", "/v1/ratings/\(quarter)/bulletin" + filter, as: pages.identity(session))
        try await Audit.record(pages.identity(session), action: "export", resource: "bulletin/\(quarter)\(filter)", reason: "markdown", in: pages.store.database)
        var headers = ConsolePages.pageHeaders
        headers[.contentType] = "text/markdown; charset=utf-8"
        let name = "bulletin-\(quarter)" + (district.isEmpty ? "" : "-\(district.filter { $0.isLetter || $0.isNumber })") + ".md"
        headers[.contentDisposition] = #"attachment; filename="\#(name)""#
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A quarter's ratings as CSV or XLSX (no one's personal data: schools only); the export is audited.
    func export(
        _ session: Session, quarter: String, district: String, format: ExportTable.Format, context: HuhangRequestContext
    ) async throws -> Response {
        let words = Words.table(session.person.language)
        guard Quarter.bounds(quarter) != nil else { return Response(status: .notFound) }
        let filter = district.isEmpty ? "" : "?district=\(pages.path(district))"
        let rated = ConsolePages.items(try await pages.services.get("inspection", "/v1/ratings/\(quarter)" + filter, as: pages.identity(session)))
        let rows: [[ExportTable.Cell]] = rated.map { school in
            let line = Rated(school), said = line.words(words)
            return [.text(line.code), .text(line.name), .text(said.rating), .text(line.previous.isEmpty ? "" : said.previous), .text(said.movement),
                    .text(line.reasons)]
        }
        let table = ExportTable(
            name: quarter, header: ["schoolCodeCol", "schoolNameCol", "ratingCol", "previousRatingCol", "movementCol", "reasonsCol"].map { words[$0]! },
            rows: rows)
        try await Audit.record(pages.identity(session), action: "export", resource: "rating/\(quarter)\(filter)",
                               reason: "\(rows.count) rows · \(format.rawValue)", in: pages.store.database)
        context.logger.notice("rating exported", metadata: ["console.export.rows": "\(rows.count)", "console.export.format": "\(format.rawValue)"])
        let name = "rating-\(quarter)" + (district.isEmpty ? "" : "-\(district.filter { $0.isLetter || $0.isNumber })")
        return OversightPages.download(table.bytes(format), format: format, filename: "\(name).\(format.rawValue)")
    }
}
