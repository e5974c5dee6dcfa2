import Base
import Floor
import Messaging
import Synchronization

/// The robot link of one hub site on one node: bound when the site's controller is first activated
/// here (its region is served here), at the site's fixed endpoint, which the robots dial (a robot's
/// DEALER reconnects by itself when the node that bound it died and another binds it).
///
/// Ownership: the link's receive loop runs in `run()`, which the node runs for its lifetime (a node
/// service, or the test's task group); `close()` ends it and frees the endpoint. Isolation: an actor.
public actor HubFloorHost {
    public nonisolated let context: MessagingContext
    public nonisolated let endpoint: String
    public let configuration: RobotLink.Configuration
    private var link: RobotLink?
    private var closed = false
    private let links: AsyncStream<RobotLink>
    private let linksInput: AsyncStream<RobotLink>.Continuation

    public init(context: MessagingContext, endpoint: String, configuration: RobotLink.Configuration = .init()) {
        self.context = context; self.endpoint = endpoint; self.configuration = configuration
        (links, linksInput) = AsyncStream<RobotLink>.makeStream()
    }

    /// The link, bound on first use.
    public func bound() async throws(FloorError) -> RobotLink {
        if let link { return link }
        guard !closed else { throw FloorError(.closed, "the floor host at \(endpoint) is closed") }
        let l = try await RobotLink.bind(context, endpoint: endpoint, configuration: configuration)
        if let link {  // bound meanwhile by another caller (the actor was re-entered at the await)
            await l.close()
            return link
        }
        link = l
        linksInput.yield(l)
        return l
    }

    /// Runs the receive loop of the link once it is bound; returns after `close()`.
    public nonisolated func run() async {
        await withDiscardingTaskGroup { group in
            for await l in links { group.addTask { await l.run() } }
        }
    }

    public func close() async {
        closed = true
        linksInput.finish()
        await link?.close()
    }
}
