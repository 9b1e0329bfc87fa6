import Contracts
import Crypto
import Foundation

/// What a webhook receives: ids and the fixed words, never a child's name.
struct WebhookPayload: Codable {
    var deliveryID: String
    var eventID: String
    var eventType: String
    var correlationID: String
    var recipient: String
    var text: String
    enum CodingKeys: String, CodingKey {
        case deliveryID = "deliveryId", eventID = "eventId", eventType, correlationID = "correlationId", recipient, text
    }
}

/// A webhook's signature, for the receiving agency to verify: HMAC-SHA256 of
/// `<timestamp>.<body>` with the endpoint's secret, hex, in `X-Huhang-Signature: sha256=<hex>`,
/// the timestamp (Unix seconds) in `X-Huhang-Timestamp`.
enum WebhookSignature {
    static func sign(body: [UInt8], timestamp: Int, secret: String) -> String {
        var message = Array("\(timestamp).".utf8)
        message += body
        return "sha256=" + Hex.string(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8))))
    }
}

/// What an SMS or e-mail provider gateway receives (one adapter shape; the provider's URL and key configure it).
struct ProviderMessage: Codable {
    var to: String
    var subject: String?
    var text: String
    /// The delivery id, for the provider's receipts.
    var reference: String
}
