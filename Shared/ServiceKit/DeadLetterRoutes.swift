import Foundation
import Hummingbird
import Logging
import Messaging
import Storage

/// `GET /v1/dead?limit=` and `POST /v1/dead/{messageId}/replay`: what a service set aside in `<service>.dead`
/// with each reason, and putting one back on `<service>.events` once its cause is fixed — for operators (the
/// console's operators' page; `huhang-admin dead` does the same from a shell). Never the bodies, which may name
/// a child. A replay is audited; it finds its letter among the first thousand in the queue. Each call uses a broker connection of its own, closed when it answers, so that
/// what was looked at and not replayed goes back to the dead queue.
public enum DeadLetterRoutes {
    struct Listing: Codable {
        var queue: String
        var letters: [DeadLetters.Letter]
    }

    /// - Parameters:
    ///   - v1: The service's `/v1` group.
    ///   - service: The service's name (its queues are `<service>.events` and `<service>.dead`).
    ///   - amqp: The service's broker settings.
    ///   - database: The service's database (for the audit).
    ///   - logger: The service's logger.
    public static func add(
        to v1: RouterGroup<HuhangRequestContext>, service: String, amqp: AMQPConfiguration, database: Database, logger: Logger
    ) {
        var settings = amqp
        settings.connectionName = "\(service)-dead-letters"
        let connectionSettings = settings
        let dead = "\(service).dead"
        @Sendable func connect() async throws -> AMQPConnection {
            do {
                return try await AMQPConnection.connect(connectionSettings, logger: logger)
            } catch {
                throw HTTPError(.serviceUnavailable, message: "the broker cannot be reached")
            }
        }
        v1.get("dead") { request, context in
            try context.requireIdentity().require(.operator, otherwise: "dead letters are for operators")
            let limit = min(max(Int(request.uri.queryParameters["limit"].map(String.init) ?? "") ?? 100, 1), 1000)
            let connection = try await connect()
            let letters: [Delivery]
            do {
                letters = try await DeadLetters.take(from: dead, limit: limit, on: connection)
            } catch {
                await connection.close()
                throw HTTPError(.serviceUnavailable, message: "\(dead) cannot be read: \(error)")
            }
            await connection.close()
            return try JSONResponse.make(Listing(queue: dead, letters: letters.map(DeadLetters.Letter.init)))
        }
        v1.post("dead/:id/replay") { _, context in
            let identity = try context.requireIdentity()
            try identity.require(.operator, otherwise: "dead letters are for operators")
            let id = try context.parameters.require("id")
            let connection = try await connect()
            let letter: Delivery?
            do {
                letter = try await DeadLetters.take(from: dead, limit: 1000, on: connection).first { $0.properties.messageID == id }
            } catch {
                await connection.close()
                throw HTTPError(.serviceUnavailable, message: "\(dead) cannot be read: \(error)")
            }
            guard let letter else {
                await connection.close()
                throw HTTPError(.notFound, message: "no dead letter \(id) among the first thousand in \(dead) (or someone is looking at them: try again)")
            }
            // The entry first: no replay stands without it (a database failure here replays nothing).
            do {
                try await Audit.record(identity, action: "replay", resource: "dead/\(id)", in: database)
            } catch {
                await connection.close()
                throw error
            }
            let replayed = (try? await DeadLetters.replay(letter, to: "\(service).events", on: connection)) ?? false
            await connection.close()
            guard replayed else {
                try? await Audit.record(identity, action: "replay-refused", resource: "dead/\(id)", in: database)
                throw HTTPError(.serviceUnavailable, message: "the broker did not take \(id) back; it stays in \(dead)")
            }
            logger.notice("dead letter replayed", metadata: ["dead.queue": "\(dead)"])
            return Response(status: .noContent)
        }
    }
}
