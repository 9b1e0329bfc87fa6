import Logging
import Messaging
import ServiceLifecycle

/// A background job run in rounds until graceful shutdown: a round that
/// reports more waiting runs again at once, otherwise the next waits
/// `interval`; a failed round backs off. Timers, sweeps and senders of every
/// service run this way.
public struct RepeatingJob: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    let round: @Sendable () async throws -> Bool

    /// - Parameters:
    ///   - name: For the logs, e.g. `escalation`.
    ///   - interval: The pause after a round that left nothing waiting.
    ///   - logger: Where failed rounds are reported.
    ///   - round: One round of work; returns `true` when more is waiting.
    public init(_ name: String, every interval: Duration, logger: Logger, round: @escaping @Sendable () async throws -> Bool) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.round = round
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
            while !Task.isCancelled {
                do {
                    let more = try await round()
                    backoff.reset()
                    if more { continue }
                    try? await Task.sleep(for: interval)
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("background round failed", metadata: ["job.name": "\(name)", "error.message": "\(error)"])
                    try? await Task.sleep(for: backoff.next())
                }
            }
        }
    }
}
