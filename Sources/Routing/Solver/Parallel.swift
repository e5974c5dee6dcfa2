#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body(0)` on the calling thread and `body(1)`, …, `body(count − 1)` on as many new OS threads,
/// and returns when all have finished (the new threads are joined). Never touches Swift's cooperative
/// pool; like `solve` itself, it blocks its caller, so callers run it on a dedicated thread
/// (`Base.onDedicatedThread`). Each index's state must be owned by that index alone while `body` runs;
/// `pthread_create`/`pthread_join` order every write before the caller's later reads.
func forEachInParallel(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    guard count > 1 else { if count == 1 { body(0) }; return }
    final class Job: @unchecked Sendable {
        // Invariant: set once before the thread starts, read only by that thread.
        let index: Int; let body: @Sendable (Int) -> Void
        init(_ index: Int, _ body: @escaping @Sendable (Int) -> Void) { self.index = index; self.body = body }
    }
    #if canImport(Glibc)
    var threads: [pthread_t] = []
    #else
    var threads: [pthread_t?] = []
    #endif
    var inline: [Int] = []
    for k in 1..<count {
        let job = Unmanaged.passRetained(Job(k, body)).toOpaque()
        #if canImport(Glibc)
        var t = pthread_t()
        #else
        var t: pthread_t? = nil
        #endif
        let rc = pthread_create(&t, nil, { raw in
            #if canImport(Glibc)
            let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
            #else
            let job = Unmanaged<Job>.fromOpaque(raw).takeRetainedValue()
            #endif
            job.body(job.index)
            return nil
        }, job)
        if rc == 0 { threads.append(t) } else {
            // No thread available: run that index here after our own (same results, only slower).
            Unmanaged<Job>.fromOpaque(job).release()
            inline.append(k)
        }
    }
    body(0)
    for k in inline { body(k) }
    #if canImport(Glibc)
    for t in threads { pthread_join(t, nil) }
    #else
    for t in threads { if let t { pthread_join(t, nil) } }
    #endif
}
