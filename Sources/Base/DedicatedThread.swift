#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Runs `body` on a new OS thread and resumes the caller with its result; the thread ends with the
/// body. For CPU-bound work (a solver, a dawn wave, a re-optimisation) and blocking C calls, which
/// must never run on Swift's cooperative pool. With `forEachInParallel` (fork-join on several threads,
/// from a thread that may block) the only thread helpers in Daybreak.
public func onDedicatedThread<T: Sendable, E: Error>(name: String, stackSize: Int = 16 << 20,
                                                     _ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { (c: CheckedContinuation<Result<T, E>, Never>) in
        let t = Thread {
            do throws(E) { c.resume(returning: .success(try body())) } catch { c.resume(returning: .failure(error)) }
        }
        t.name = name
        t.stackSize = stackSize
        t.start()
    }
    return try result.get()
}

/// Runs `body(0)` on the calling thread and `body(1)`, …, `body(count − 1)` on as many new OS threads,
/// and returns when all have finished (the new threads are joined). Never touches Swift's cooperative
/// pool; like `solve` itself, it blocks its caller, so callers run it on a dedicated thread
/// (`onDedicatedThread`). Each index's state must be owned by that index alone while `body` runs;
/// `pthread_create`/`pthread_join` order every write before the caller's later reads.
public func forEachInParallel(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    guard count > 1 else { if count == 1 { body(0) }; return }
    final class Job: Sendable {
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
