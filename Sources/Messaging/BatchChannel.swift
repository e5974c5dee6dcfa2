import Synchronization

/// The hand-over from the I/O thread to one consuming task: batches, with backpressure.
///
/// The I/O thread pushes everything it read in one wake as one batch. When the consumer is
/// waiting, the batch resumes it directly; otherwise batches coalesce in `buffer`. When the buffer
/// reaches `limit` elements, `push` answers "pause" and the I/O thread stops reading that socket
/// (messages wait in libzmq's receive high-water mark, then the sender's); the consumer's next
/// take sends `resume`. The same happens when the buffered payload reaches `byteLimit` bytes.
/// So memory is bounded and nothing is dropped here.
///
/// One consumer at a time: a second concurrent `next()` is a programming error (precondition).
final class BatchChannel<Element: Sendable>: Sendable {
    private struct State {
        var buffer: [Element] = []
        var bufferedBytes = 0
        var waiter: UnsafeContinuation<[Element]?, Never>? = nil
        var finished = false
        var paused = false
    }
    private let state = Mutex(State())
    private let limit: Int
    private let byteLimit: Int
    /// Called (outside the lock) when a take unpaused the channel: asks the I/O thread to read again.
    private let onResume: @Sendable () -> Void

    init(limit: Int, byteLimit: Int = .max, onResume: @escaping @Sendable () -> Void) {
        self.limit = max(1, limit)
        self.byteLimit = max(1, byteLimit)
        self.onResume = onResume
    }

    /// I/O thread: delivers a batch of `bytes` payload bytes. Returns true when the socket should
    /// stop being read.
    func push(_ batch: [Element], bytes: Int = 0) -> Bool {
        if batch.isEmpty { return false }
        let (waiter, pause): (UnsafeContinuation<[Element]?, Never>?, Bool) = state.withLock { s in
            if s.finished { return (nil, false) }
            if let w = s.waiter {
                s.waiter = nil
                return (w, false)
            }
            s.buffer.append(contentsOf: batch)
            s.bufferedBytes += bytes
            if s.buffer.count >= limit || s.bufferedBytes >= byteLimit {
                s.paused = true
                return (nil, true)
            }
            return (nil, false)
        }
        waiter?.resume(returning: batch)
        return pause
    }

    /// Ends the sequence after what is buffered. Idempotent.
    func finish() {
        let waiter: UnsafeContinuation<[Element]?, Never>? = state.withLock { s in
            s.finished = true
            let w = s.waiter
            s.waiter = nil
            return w
        }
        waiter?.resume(returning: nil)
    }

    private enum Take { case batch([Element], resume: Bool), end, wait }

    private func take(_ s: inout State) -> Take {
        if !s.buffer.isEmpty {
            let b = s.buffer
            s.buffer = []
            s.bufferedBytes = 0
            let resume = s.paused
            s.paused = false
            return .batch(b, resume: resume)
        }
        return s.finished ? .end : .wait
    }

    /// Consumer: the next batch (all that is buffered), or nil at the end or on cancellation.
    func next() async -> [Element]? {
        switch state.withLock({ take(&$0) }) {
        case .batch(let b, let resume):
            if resume { onResume() }
            return b
        case .end:
            return nil
        case .wait:
            break
        }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (c: UnsafeContinuation<[Element]?, Never>) in
                let now: Take? = state.withLock { s in
                    let t = take(&s)
                    if case .wait = t {
                        if Task.isCancelled { return .end }
                        precondition(s.waiter == nil, "a batch sequence supports one consumer at a time")
                        s.waiter = c
                        return nil
                    }
                    return t
                }
                switch now {
                case nil: break
                case .batch(let b, let resume)?:
                    if resume { onResume() }
                    c.resume(returning: b)
                case .end?, .wait?:
                    c.resume(returning: nil)
                }
            }
        } onCancel: {
            let w = state.withLock { s in
                let w = s.waiter
                s.waiter = nil
                return w
            }
            w?.resume(returning: nil)
        }
    }

    /// Elements buffered now (for tests and stats).
    var bufferedCount: Int { state.withLock { $0.buffer.count } }
    /// Payload bytes buffered now.
    var bufferedBytes: Int { state.withLock { $0.bufferedBytes } }
}

/// An async sequence of batches read by the I/O thread: each element is everything that arrived
/// since the previous one (at least one item). Ends when the socket or context shuts down.
///
/// Batches amortise the cost of a task resumption (~2–3 µs) over many messages.
/// Iterate from one task at a time.
public struct Batches<Element: Sendable>: AsyncSequence, Sendable {
    let channel: BatchChannel<Element>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: BatchChannel<Element>
        public mutating func next() async -> [Element]? { await channel.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }
}
