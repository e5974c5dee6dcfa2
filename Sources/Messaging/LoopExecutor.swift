/// A TaskExecutor that runs jobs on a context's I/O thread, between polls.
///
/// A task that prefers it (`withTaskExecutorPreference(ctx.taskExecutor) { … }` or
/// `group.addTask(executorPreference: ctx.taskExecutor)`) is resumed by the I/O thread inline when
/// its reply arrives: no wake-up of a pool thread, and its next request is sent without an
/// eventfd write. That removes the two thread hand-offs of a round trip.
///
/// Code on this executor shares the thread with every socket of the context: keep it short and
/// never block. After shutdown, jobs go to the global concurrent executor, so no task is stranded.
final class LoopExecutor: TaskExecutor {
    let loop: IOLoop

    init(loop: IOLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        if !loop.submit(.run(unowned, asUnownedTaskExecutor())) {
            globalConcurrentExecutor.enqueue(ExecutorJob(unowned))
        }
    }
}
