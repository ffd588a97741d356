import Hummingbird
import HummingbirdAuth
import NIOCore
import Synchronization

/// A request context that knows its client's connection, so that generation for a client that has gone away stops
/// instead of running to `max_tokens` (Hummingbird does not cancel a handler when its client disconnects).
protocol ConnectionAwareContext: RequestContext {
    /// The client's connection; nil when there is none to watch.
    var connection: (any Channel)? { get }
}

/// The server's request context: Hummingbird's basic storage, the connection, and the API key presented (nil when
/// the server is open or outside `/v1`).
struct ServerRequestContext: ConnectionAwareContext, AuthRequestContext, APIKeyContext {
    var coreContext: CoreRequestContextStorage
    let connection: (any Channel)?
    var identity: APIKeyIdentity?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
        // Only a live connection is watched (a test's in-memory channel is never active).
        connection = source.channel.isActive ? source.channel : nil
    }
}

/// Notices a client that closes its side of the connection. The server allows half-closed connections (as
/// Hummingbird configures it), so such a channel stays active until the next write fails; like other servers we
/// take a closed input while a request is being answered as the client having given up.
final class ClientDisconnectWatcher: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny   // reads pass through untouched

    private let closed = Atomic<Bool>(false)
    var inputClosed: Bool { closed.load(ordering: .acquiring) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { closed.store(true, ordering: .releasing) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed.store(true, ordering: .releasing)
        context.fireChannelInactive()
    }

    /// Whether the client of `connection` is gone (its input closed, or the connection with it).
    static func watching(_ connection: any Channel) async -> () -> Bool {
        let watcher = try? await connection.pipeline.handler(type: ClientDisconnectWatcher.self).get()
        return { !connection.isActive || (watcher?.inputClosed ?? false) }
    }
}
