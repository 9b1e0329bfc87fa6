import Contracts
import Foundation

// What the API's requests carry.

struct TeamBody: Codable { var members: [CareTeamMember] }
struct PlanBody: Codable {
    struct Item: Codable { var measure: Measure; var unit: String; var note: String? }
    var measures: [Item]
}
struct FeedbackBody: Codable { var status: TaskUpdatedV1.Status; var note: String?; var reason: String? }
struct TextBody: Codable { var review: String?; var reason: String?; var order: String?; var note: String? }
struct UnitBody: Codable { var superior: String }
struct OutcomeBody: Codable { var outcome: String; var note: String? }
struct DepartmentsBody: Codable { var units: [String] }
