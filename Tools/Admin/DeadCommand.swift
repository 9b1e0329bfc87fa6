import ArgumentParser
import Contracts
import Foundation
import Logging
import Messaging

/// Dead letters: what a service set aside in `<service>.dead`, and putting it back.
struct DeadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead",
        abstract: "List the messages a service set aside in <service>.dead, and replay them.",
        discussion: """
            A message is set aside with its reason (x-huhang-dead-reason) when it cannot succeed: a body that does
            not match its contract, an unknown version, a handler that kept failing. Fix the cause (a deployment,
            a configuration, an agency's integration), then replay: the message goes back to <service>.events with
            its id, so a service that already applied it skips it.
            """,
        subcommands: [List.self, Replay.self])

    struct Options: ParsableArguments {
        @Option(help: "An operator's AMQP URL.")
        var amqpURL = ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://huhang:huhang@127.0.0.1:5672"

        @Option(help: "The service: intake, assessment, intervention, inspection or notification.")
        var service: String

        @Option(help: "Look at no more than this many messages.")
        var limit = 1000

        var deadQueue: String { "\(service).dead" }

        func connect() async throws -> AMQPConnection {
            var logger = Logger(label: "huhang-admin")
            logger.logLevel = .warning
            return try await AMQPConnection.connect(try AMQPConfiguration(url: amqpURL, connectionName: "huhang-admin"), logger: logger)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per dead letter: id, type, when, the reason. Bodies are not shown (they may name a child).")
        @OptionGroup var options: Options

        func run() async throws {
            let connection = try await options.connect()
            let letters = try await DeadLetters.take(from: options.deadQueue, limit: options.limit, on: connection)
            await connection.close()
            for letter in letters.map(DeadLetters.Letter.init) {
                print([letter.messageId, letter.type, letter.deadAt ?? "-", letter.sender ?? "-", letter.reason].joined(separator: "\t"))
            }
            print("\(letters.count) dead letter(s) in \(options.deadQueue)")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put dead letters back on <service>.events: the ones named with --id, or --all.")
        @OptionGroup var options: Options
        @Option(name: .customLong("id"), help: "A message id to replay (repeat for more).") var ids: [String] = []
        @Flag(help: "Replay every dead letter.") var all = false

        func validate() throws {
            guard all != !ids.isEmpty else { throw ValidationError("name the messages with --id, or give --all") }
        }

        func run() async throws {
            let connection = try await options.connect()
            let letters = try await DeadLetters.take(from: options.deadQueue, limit: options.limit, on: connection)
            let chosen = letters.filter { all || ids.contains($0.properties.messageID ?? "") }
            var replayed = 0
            for letter in chosen {
                guard try await DeadLetters.replay(letter, to: "\(options.service).events", on: connection) else {
                    print("\(letter.properties.messageID ?? "-")\tnot taken by the broker; left in \(options.deadQueue)")
                    continue
                }
                replayed += 1
            }
            await connection.close()
            let missing = Set(ids).subtracting(chosen.compactMap(\.properties.messageID))
            for id in missing.sorted() { print("\(id)\tnot found in \(options.deadQueue)") }
            print("\(replayed) replayed to \(options.service).events")
            if !missing.isEmpty { throw ExitCode(2) }
        }
    }
}
