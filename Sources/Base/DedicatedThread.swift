import Foundation

/// Runs `body` on a new OS thread and resumes the caller with its result; the thread ends with the
/// body. For CPU-bound work (a solver, a dawn wave, a re-optimisation) and blocking C calls, which
/// must never run on Swift's cooperative pool. The one such helper in Daybreak.
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
