import Contracts
import Foundation
import Hummingbird
import ServiceKit
import Storage

/// The watch ledgers (台账): open entries, filtered and paged on the server. Every listing is audited.
///
///     GET /v1/ledgers/{name}?school=&district=&tier=&since=&limit=&after=    (since: entered on or after, a day or a time)    (the task force: every entry; an agency: the subjects it reported)
struct LedgerRoutes {
    let subjects: SubjectStore
    let database: Database

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self).get(":name", use: page)
    }

    @Sendable func page(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let name = try context.parameters.require("name")
        guard let ledger = LedgerChangedV1.Ledger(rawValue: name) else {
            throw HTTPError(.notFound, message: "no ledger \(name); ledgers: \(LedgerChangedV1.Ledger.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let query = request.uri.queryParameters
        var filter = SubjectStore.LedgerFilter(ledger: ledger)
        filter.limit = min(max(Int(query["limit"].map(String.init) ?? "") ?? 50, 1), 500)
        filter.after = Int64(query["after"].map(String.init) ?? "") ?? 0
        filter.school = query["school"].map(String.init)
        filter.district = query["district"].map(String.init)
        filter.since = try QueryValues.day(query["since"].map(String.init), field: "since")
        if let tier = query["tier"].map(String.init) {
            guard let known = RiskTier(rawValue: tier) else { throw HTTPError(.badRequest, message: "tier is one of low, medium, high, critical") }
            filter.tier = known
        }
        try await Audit.record(identity, action: "list", resource: "ledger/\(name)", in: database)
        let page = try await subjects.ledgerPage(filter, reportedBy: SubjectPolicy(subjects: subjects).ledgerScope(identity))
        return try JSONResponse.make(page)
    }
}
