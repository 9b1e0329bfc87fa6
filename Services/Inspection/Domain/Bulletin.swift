import Contracts
import Foundation

/// A school's rating for a quarter, as listed (`GET /v1/ratings/{quarter}`) and in the bulletin.
struct RatedSchool: Codable, Sendable {
    var schoolCode: String
    var name: String?
    var rating: String
    var previousRating: String?
    /// `up`, `down`, `same` or `new` against the quarter before.
    var movement: String
    var reasons: [String]

    /// How a school's rating moved since the quarter before: `new` when it had none then, else `up`, `down` or `same`.
    /// - Parameters:
    ///   - rating: This quarter's rating.
    ///   - previous: The quarter before's, if the school had one.
    static func movement(rating: String, previous: String?) -> String {
        let now = RatingChangedV1.Rating(rawValue: rating), then = previous.flatMap(RatingChangedV1.Rating.init(rawValue:))
        return then == nil ? "new" : now! > then! ? "up" : now! < then! ? "down" : "same"
    }
}

/// The quarter's bulletin (通报) as a readable document.
enum Bulletin {
    static let names: [String: String] = ["model": "示范 model", "compliant": "达标 compliant", "non_compliant": "不合格 non-compliant"]
    static let arrows: [String: String] = ["up": "↑", "down": "↓", "same": "=", "new": "new"]

    /// The bulletin in Markdown: the counts, then every school, model schools first.
    /// - Parameters:
    ///   - quarter: `YYYY-Qn`.
    ///   - district: The district the bulletin covers, if only one.
    ///   - ratings: The quarter's ratings.
    static func markdown(quarter: String, district: String? = nil, ratings: [RatedSchool]) -> String {
        var lines = ["# School safety bulletin (校园安全通报), \(quarter)\(district.map { ", district \($0)" } ?? "")", ""]
        let counts = Dictionary(grouping: ratings, by: \.rating).mapValues(\.count)
        lines.append("\(ratings.count) schools rated: \(counts["model"] ?? 0) model, \(counts["compliant"] ?? 0) compliant, "
            + "\(counts["non_compliant"] ?? 0) non-compliant; \(ratings.filter { $0.movement == "down" }.count) fell and are put under focus.")
        lines += ["", "| school | rating | movement | why |", "|---|---|---|---|"]
        let rank = ["model": 0, "compliant": 1, "non_compliant": 2]
        for rated in ratings.sorted(by: { (rank[$0.rating] ?? 3, $0.schoolCode) < (rank[$1.rating] ?? 3, $1.schoolCode) }) {
            let school = rated.name.map { "\($0) (\(rated.schoolCode))" } ?? rated.schoolCode
            let movement = (arrows[rated.movement] ?? rated.movement) + (rated.previousRating.map { " from \(names[$0] ?? $0)" } ?? "")
            lines.append("| \(school) | \(names[rated.rating] ?? rated.rating) | \(movement) | \(rated.reasons.joined(separator: "; ")) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
