import Foundation
import Synchronization
import ToolKit

/// A TCP proxy on loopback between the services and the broker, for the
/// connection faults: `reset` closes every open connection at once with a TCP
/// reset; `blackHole` stops passing bytes on the open connections while keeping
/// them open (a peer that went silent, as behind a dropped NAT entry). New
/// connections always pass.
final class TCPProxy: Sendable {
    let port: Int
    let target: Int
    private let listener: Int32
    private let pairs = Mutex<[Int: Pair]>([:])
    private let nextID = Atomic<Int>(0)
    private let acceptedCount = Atomic<Int>(0)

    /// Connections accepted so far.
    var accepted: Int { acceptedCount.load(ordering: .relaxed) }

    final class Pair: Sendable {
        let client: Int32
        let server: Int32
        let blackHoled = Atomic<Bool>(false)
        let closed = Atomic<Bool>(false)
        init(client: Int32, server: Int32) {
            self.client = client
            self.server = server
        }
    }

    /// Listens on `port` and forwards each connection to `target` on 127.0.0.1.
    init(port: Int, target: Int) throws {
        self.port = port
        self.target = target
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 128) == 0 else { throw CommandFailure(description: "proxy cannot listen on \(port)") }
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(target)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(client)
                close(server)
                continue
            }
            acceptedCount.add(1, ordering: .relaxed)
            let pair = Pair(client: client, server: server)
            let id = nextID.add(1, ordering: .relaxed).newValue
            pairs.withLock { $0[id] = pair }
            for (from, to) in [(client, server), (server, client)] {
                Thread { [self] in pump(from: from, to: to, pair: pair, id: id) }.start()
            }
        }
    }

    private func pump(from: Int32, to: Int32, pair: Pair, id: Int) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !pair.closed.load(ordering: .relaxed) {
            if pair.blackHoled.load(ordering: .relaxed) {
                // Read nothing, send nothing: the peer's bytes wait in the kernel, unanswered.
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            var descriptor = pollfd(fd: from, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready <= 0 { continue }
            let count = read(from, &buffer, buffer.count)
            if count <= 0 { break }
            if pair.blackHoled.load(ordering: .relaxed) { continue }
            var sent = 0
            while sent < count {
                let written = buffer.withUnsafeBytes { write(to, $0.baseAddress! + sent, count - sent) }
                if written <= 0 { break }
                sent += written
            }
        }
        finish(pair, id: id, reset: false)
    }

    private func finish(_ pair: Pair, id: Int, reset: Bool) {
        guard !pair.closed.exchange(true, ordering: .relaxed) else { return }
        pairs.withLock { _ = $0.removeValue(forKey: id) }
        for socket in [pair.client, pair.server] {
            if reset {
                // SO_LINGER 0: close sends a TCP reset instead of a FIN.
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(socket, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            }
            shutdown(socket, Int32(SHUT_RDWR))
            close(socket)
        }
    }

    /// How many connections are open through the proxy.
    var openConnections: Int { pairs.withLock { $0.count } }

    /// Resets every open connection (both ends get a TCP reset).
    func resetAll() {
        for (id, pair) in pairs.withLock({ $0 }) { finish(pair, id: id, reset: true) }
    }

    /// Stops passing bytes on every open connection, leaving them open.
    func blackHoleAll() {
        for pair in pairs.withLock({ $0.values }) { pair.blackHoled.store(true, ordering: .relaxed) }
    }
}
