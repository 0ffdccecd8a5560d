//! Work a few threads share for one call: the caller's own and helpers it
//! starts for the call, all gone when the call returns.

/// Runs `worker` on this thread and on up to `helpers` more (named
/// `name`), returning once every one has returned. The workers take their
/// work from a source they share until it runs out, so a helper that
/// cannot start only leaves its share to the others.
pub(crate) fn with_helpers(helpers: usize, name: &str, worker: impl Fn() + Sync) {
    std::thread::scope(|scope| {
        for _ in 0..helpers {
            let _ = std::thread::Builder::new()
                .name(name.to_owned())
                .spawn_scoped(scope, &worker);
        }
        worker();
    });
}
