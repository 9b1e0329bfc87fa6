import ArgumentParser
import AsyncHTTPClient
import Contracts
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import ServiceKit
import Storage
import ToolKit

/// What a console page costs on top of the service API it is built from: the task force's daily loop, the
/// case list and a case page with `--cases` cases in intervention's database; a watch ledger with `--subjects`
/// subjects in assessment's; the quarter's rating with `--schools` schools rated over six quarters in
/// inspection's. Each page is timed next to the API calls it makes, alternately, in the same run.
struct ConsoleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "p50/p95 of console pages against the service API calls each is built from: 10,000 cases, 50,000 subjects, 2,000 schools.")

    @Option(help: "The services' AMQP URL (a virtual host of the benchmark's own).")
    var amqpURL = "amqp://huhang:huhang@127.0.0.1:5672/huhang-load"
    @Option(help: "PostgreSQL (a database of the benchmark's own; the schemas of intervention, assessment, inspection and the console are dropped first).")
    var databaseURL = "postgres://huhang:huhang@127.0.0.1:5432/huhang_load"
    @Option(help: "The repository (for the logs).") var root = FileManager.default.currentDirectoryPath
    @Option(help: "Cases in the database.") var cases = 10_000
    @Option(help: "Subjects assessed, on the watch ledgers.") var subjects = 50_000
    @Option(help: "Schools in the registry, each rated in the last six quarters.") var schools = 2_000
    @Option(help: "Timed requests per page and per API call.") var requests = 300
    @Option(help: "First HTTP port of the processes.") var port = 18300

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let logs = URL(fileURLWithPath: root).appendingPathComponent(".bench/logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let database = try Database(configuration: try DatabaseConfiguration(url: databaseURL, maximumConnections: 2), schema: "intervention", logger: logger)
        let dbTask = Task { await database.run() }
        defer { dbTask.cancel() }
        say("clearing the schemas of intervention, assessment, inspection and the console …")
        try await database.query("DROP SCHEMA IF EXISTS intervention, assessment, inspection, console CASCADE", logger: logger)

        let ports = ["intervention": port + 1, "assessment": port + 3, "inspection": port + 4]
        let consolePort = port + 2
        let settings = ["AMQP_URL": amqpURL, "DATABASE_URL": databaseURL, "LOG_LEVEL": "warning"]
        var processes: [ServiceProcess] = []
        for name in ["intervention", "assessment", "inspection"] {
            processes.append(try ServiceProcess(name, binaries: binaries, environment: settings, port: ports[name]!, logs: logs))
        }
        // Password only for the bench's person: the console honours this on loopback alone.
        processes.append(try ServiceProcess("console", binaries: binaries, environment: settings.merging([
            "INTERVENTION_URL": "http://127.0.0.1:\(ports["intervention"]!)", "ASSESSMENT_URL": "http://127.0.0.1:\(ports["assessment"]!)",
            "INSPECTION_URL": "http://127.0.0.1:\(ports["inspection"]!)", "CONSOLE_DEMO_SKIP_TOTP": "true",
        ]) { _, new in new }, port: consolePort, logs: logs))
        let report: String
        do {
            for process in processes {
                guard await process.ready(within: 60) else { throw CommandFailure(description: "a process did not become ready; see \(logs.path)") }
            }
            say("writing \(cases) cases with their tasks and chronology, \(subjects) subjects on the ledgers, \(schools) schools rated over six quarters …")
            try await seed(database, logger: logger)
            report = try await measure(ports: ports, consolePort: consolePort, database: database, logger: logger)
        } catch {
            for process in processes.reversed() { await process.stop() }
            throw error
        }
        for process in processes.reversed() { await process.stop() }
        say(report)
    }

    /// The quarter the rating page shows: this one.
    var quarter: String { Quarter.of(Date()) }

    /// School `n` of the bench (`0 ..< schools`), in one of twenty districts.
    static func school(_ n: Int) -> String { String(format: "3701%02d-B%04d", n % 20, n) }

    /// Cases as the loop leaves them, written in bulk: a tenth closed, each with two or three tasks (some late,
    /// some completed) and four chronology entries, spread over the last 90 days.
    func seed(_ database: Database, logger: Logger) async throws {
        try await database.withTransaction { connection in
            try await connection.query("""
                INSERT INTO intervention.cases (case_id, subject_id, tier, status, opened_by_event, opened_at, school_code, reason, closed_at)
                SELECT gen_random_uuid(), 's-bench-' || n, (ARRAY['critical','high','medium'])[1 + n % 3],
                       CASE WHEN n % 10 = 0 THEN 'closed' ELSE 'open' END, 'bench-' || n,
                       now() - (n % 90) * interval '1 day' - (n % 1440) * interval '1 minute', 'BENCH-' || (n % 200),
                       'incident: bullying (benchmark)', CASE WHEN n % 10 = 0 THEN now() - (n % 30) * interval '1 day' END
                FROM generate_series(1, \(cases)) AS n
                """, logger: logger)
            try await connection.query("""
                INSERT INTO intervention.tasks (task_id, case_id, unit, measure, due_at, status, created_at, subject_id, completed_at)
                SELECT gen_random_uuid(), c.case_id, 'unit-' || (k + abs(hashtext(c.subject_id)) % 50),
                       (ARRAY['first_response','counselling','family_education'])[k],
                       c.opened_at + k * interval '2 days',
                       CASE WHEN c.status = 'closed' OR k = 1 THEN 'completed' WHEN k = 2 THEN 'progress' ELSE 'assigned' END,
                       c.opened_at, c.subject_id,
                       CASE WHEN c.status = 'closed' OR k = 1 THEN c.opened_at + interval '1 day' END
                FROM intervention.cases c, generate_series(1, 2 + abs(hashtext(c.subject_id)) % 2) AS k
                WHERE c.opened_by_event LIKE 'bench-%'
                """, logger: logger)
            try await connection.query("""
                INSERT INTO intervention.chronology (case_id, kind, detail, event_id, at)
                SELECT c.case_id, (ARRAY['opened','task','feedback','team'])[k], 'benchmark entry ' || k, 'api:bench/task-force',
                       c.opened_at + k * interval '1 hour'
                FROM intervention.cases c, generate_series(1, 4) AS k WHERE c.opened_by_event LIKE 'bench-%'
                """, logger: logger)
        }
        // Subjects assessed, each at a school, most on one ledger or two; the schools rated each of the last six quarters.
        try await database.withTransaction { connection in
            try await connection.query("""
                INSERT INTO assessment.subjects (subject_id, tier, score, school_code, district, assessed_at, model_version, factors)
                SELECT 's-bench-' || n, (ARRAY['low','medium','high','critical'])[1 + n % 4], 10 + (n % 4) * 20,
                       '3701' || lpad(((n % \(schools)) % 20)::text, 2, '0') || '-B' || lpad((n % \(schools))::text, 4, '0'),
                       '3701' || lpad(((n % \(schools)) % 20)::text, 2, '0'), now() - (n % 300) * interval '1 hour', 'cangshan-21.v1', '[]'
                FROM generate_series(1, \(subjects)) AS n
                """, logger: logger)
            try await connection.query("""
                INSERT INTO assessment.ledger_entries (ledger, subject_id, entered_at, reason, school_code, district)
                SELECT (ARRAY['psychological_risk','bully_prone','dropout_risk','victims_needing_aid','children_in_hardship'])[1 + (n + k) % 5],
                       s.subject_id, s.assessed_at, 'positive_screening: benchmark', s.school_code, s.district
                FROM assessment.subjects s, generate_series(0, 1) AS k, LATERAL (SELECT substr(s.subject_id, 9)::int AS n) AS x
                WHERE s.subject_id LIKE 's-bench-%' AND (k = 0 OR n % 3 = 0)
                """, logger: logger)
            let quarters = Quarter.recent(6, upTo: quarter)
            try await connection.query("""
                INSERT INTO inspection.schools (code, name, type, district, guard_posts)
                SELECT '3701' || lpad((n % 20)::text, 2, '0') || '-B' || lpad(n::text, 4, '0'), '第' || n || '中学', 'middle',
                       '3701' || lpad((n % 20)::text, 2, '0'), 1 + n % 3
                FROM generate_series(0, \(schools - 1)) AS n
                """, logger: logger)
            try await connection.query("""
                INSERT INTO inspection.ratings (school_code, quarter, rating, reasons, facts, computed_at)
                SELECT s.code, q, (ARRAY['model','compliant','non_compliant'])[1 + abs(hashtext(s.code || q)) % 3],
                       '["benchmark: 2 inspections, 1 hazard late"]'::jsonb, '{}'::jsonb, now()
                FROM inspection.schools s, unnest(\(quarters)::text[]) AS q
                """, logger: logger)
        }
        for table in ["assessment.subjects", "assessment.ledger_entries", "inspection.schools", "inspection.ratings"] {
            try await database.query("ANALYZE \(unescaped: table)", logger: logger)
        }
        try await database.query("ANALYZE intervention.cases", logger: logger)
        try await database.query("ANALYZE intervention.tasks", logger: logger)
        try await database.query("ANALYZE intervention.chronology", logger: logger)
    }

    func measure(ports: [String: Int], consolePort: Int, database: Database, logger: Logger) async throws -> String {
        let tokens = try APITokens(secret: ProcessInfo.processInfo.environment["API_TOKEN_KEY"] ?? APITokens.developmentSecret)
        let operatorToken = try await tokens.issue(APIIdentity(agency: "ops", role: .operator), lifetime: .seconds(300))
        let console = "http://127.0.0.1:\(consolePort)"
        let person = "bench-tf-\(UUID().uuidString.prefix(6).lowercased())", password = "a long bench password"
        let added = try await HTTPExchange.send("POST", console + "/v1/people", headers: [("Authorization", "Bearer \(operatorToken)")], body: Array("""
            {"username":"\(person)","displayName":"Bench","agency":"district-task-force","unit":"district-task-force","role":"task-force","password":"\(password)"}
            """.utf8))
        guard added.status == 201 else { throw CommandFailure(description: "person not added: \(added.status)") }
        let cookie = try await signIn(console, person, password)
        let identity = APIIdentity(agency: "district-task-force", role: .taskForce, unit: "district-task-force", person: person)
        let bearer = "Bearer \(try await tokens.issue(identity, lifetime: .seconds(3600)))"

        // A case in the middle of the list, with its tasks and chronology.
        let rows = try await database.query(
            "SELECT case_id::text FROM intervention.cases WHERE status = 'open' ORDER BY opened_at DESC OFFSET 500 LIMIT 1", logger: logger)
        var caseID = ""
        for try await id in rows.decode(String.self) { caseID = id }

        // Each page and the API calls it is built from (those of the home page are made at once, as the page does).
        let school = Self.school(schools / 2), district = String(Self.school(schools / 2).prefix(6))
        let pairs: [(page: String, path: String, service: String, calls: [String])] = [
            ("daily loop", "/", "intervention", ["/v1/daily", "/v1/days"]),
            ("case list", "/cases", "intervention", ["/v1/cases?limit=50&order=newest&"]),
            ("case page", "/cases/\(caseID)", "intervention", ["/v1/cases/\(caseID)"]),
            ("ledger", "/ledgers/psychological_risk", "assessment", ["/v1/ledgers/psychological_risk?limit=50"]),
            ("ledger, one school", "/ledgers/psychological_risk?school=\(school)", "assessment",
             ["/v1/ledgers/psychological_risk?limit=50&school=\(school)"]),
            ("subject", "/subjects/s-bench-4242", "assessment", ["/v1/subjects/s-bench-4242/risk"]),
            ("rating, every school", "/ratings?quarter=\(quarter)", "inspection",
             ["/v1/ratings/\(quarter)?order=attention&limit=100&offset=0", "/v1/ratings/\(quarter)/trend?quarters=6"]),
            ("rating, one district", "/ratings?quarter=\(quarter)&district=\(district)", "inspection",
             ["/v1/ratings/\(quarter)?order=attention&limit=100&offset=0&district=\(district)",
              "/v1/ratings/\(quarter)/trend?quarters=6&district=\(district)"]),
        ]
        var lines: [String] = []
        for pair in pairs {
            func page() async throws -> Double {
                let start = ContinuousClock.now
                let answer = try await HTTPExchange.send("GET", console + pair.path, headers: [("Cookie", cookie)])
                guard answer.status == 200 else { throw CommandFailure(description: "\(pair.path) answered \(answer.status)") }
                return durationSeconds(ContinuousClock.now - start) * 1000
            }
            func calls() async throws -> Double {
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for call in pair.calls {
                        group.addTask {
                            try await HTTPExchange.send("GET", "http://127.0.0.1:\(ports[pair.service]!)" + call, headers: [("Authorization", bearer)]).status
                        }
                    }
                    for try await status in group where status != 200 { throw CommandFailure(description: "\(pair.calls) answered \(status)") }
                }
                return durationSeconds(ContinuousClock.now - start) * 1000
            }
            for _ in 0..<20 { _ = try await page(); _ = try await calls() }
            var pages: [Double] = [], apis: [Double] = []
            for index in 0..<requests {
                // Alternately first, so neither always meets a warm cache the other left.
                if index % 2 == 0 { pages.append(try await page()); apis.append(try await calls()) }
                else { apis.append(try await calls()); pages.append(try await page()) }
            }
            let p = { (values: [Double], q: Double) -> Double in values.sorted()[min(values.count - 1, Int(Double(values.count) * q))] }
            let added = p(pages, 0.95) - p(apis, 0.95)
            func shown(_ path: String) -> String {
                path.replacingOccurrences(of: caseID, with: "{id}").replacingOccurrences(of: quarter, with: "{quarter}")
                    .replacingOccurrences(of: school, with: "{school}").replacingOccurrences(of: "=\(district)", with: "={district}")
            }
            lines.append(String(format: "| %@ | `%@` | %.1f | %.1f | `%@` | %.1f | %.1f | %.1f | %@ |",
                                pair.page, shown(pair.path), p(pages, 0.5), p(pages, 0.95),
                                pair.calls.map(shown).joined(separator: " + "), p(apis, 0.5), p(apis, 0.95),
                                added, added <= 20 ? "yes" : "NO"))
        }
        return """

            \(cases) cases, \(subjects) subjects on the ledgers, \(schools) schools rated over six quarters; \(requests) timed requests each (after 20 untimed), page and API alternately; release build; times in ms.

            | page | path | page p50 | page p95 | built from | API p50 | API p95 | p95 added by the page | ≤ 20 ms |
            |---|---|---|---|---|---|---|---|---|
            \(lines.joined(separator: "\n"))
            """
    }

    /// Signs in with the password alone (the demo setting the bench starts the console with). - Returns: The session cookie.
    func signIn(_ console: String, _ person: String, _ password: String) async throws -> String {
        // The session cookie comes with the redirect: a client that does not follow it.
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        defer { _ = client.shutdown() }
        var request = HTTPClientRequest(url: console + "/signin")
        let form = try await client.execute(request, timeout: .seconds(10))
        let text = String(buffer: try await form.body.collect(upTo: 1 << 20))
        let signInCookie = form.headers["Set-Cookie"].first.map { String($0.split(separator: ";")[0]) } ?? ""
        guard let range = text.range(of: #"name="_csrf" value=""#) else { throw CommandFailure(description: "no sign-in form") }
        let csrf = String(text[range.upperBound...].prefix { $0 != "\"" })
        request = HTTPClientRequest(url: console + "/signin")
        request.method = .POST
        request.headers.add(name: "Cookie", value: signInCookie)
        request.headers.add(name: "Origin", value: console)
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let body = ["_csrf": csrf, "username": person, "password": password]
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: body))
        let answer = try await client.execute(request, timeout: .seconds(10))
        guard let session = answer.headers["Set-Cookie"].first(where: { $0.hasPrefix("huhang_session=") }) else {
            throw CommandFailure(description: "sign-in refused (\(answer.status))")
        }
        return String(session.split(separator: ";")[0])
    }
}
