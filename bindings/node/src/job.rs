//! Work for the libuv thread pool.
//!
//! Every operation that can touch the disk is a [`Job`]: a closure run by
//! `compute` on a pool thread (where the stratalog call is made, and where
//! its thread-local error is read right after it), whose result becomes a
//! JavaScript value or error in `resolve`, on the JS thread.

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};

use crate::error::Failure;
use crate::value::Output;

type Work = Box<dyn FnOnce(&[u8]) -> Result<Output, Failure> + Send>;

/// One operation, run once on the libuv pool.
pub struct Job {
    work: Option<Work>,
    /// Bytes the work reads (the events of an append). The Job owns the
    /// reference to the JS Buffer, so the Buffer stays alive until the Job
    /// is dropped on the JS thread after `resolve`.
    input: Option<Buffer>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("pending", &self.work.is_some())
            .finish()
    }
}

impl Job {
    pub(crate) fn spawn(
        work: impl FnOnce() -> Result<Output, Failure> + Send + 'static,
    ) -> AsyncTask<Job> {
        AsyncTask::new(Job {
            work: Some(Box::new(move |_: &[u8]| work())),
            input: None,
        })
    }

    /// A job that reads `input` on the pool thread. `input` must be a Buffer
    /// no JavaScript code writes to while the job runs (the JS layer passes
    /// a fresh copy it keeps to itself).
    pub(crate) fn spawn_with(
        input: Buffer,
        work: impl FnOnce(&[u8]) -> Result<Output, Failure> + Send + 'static,
    ) -> AsyncTask<Job> {
        AsyncTask::new(Job {
            work: Some(Box::new(work)),
            input: Some(input),
        })
    }
}

impl Task for Job {
    type Output = Result<Output, Failure>;
    type JsValue = Output;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        // napi runs compute once per task; a second run has nothing to do.
        let input: &[u8] = self.input.as_deref().unwrap_or(&[]);
        Ok(match self.work.take() {
            Some(work) => work(input),
            None => Ok(Output::Undefined),
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Output> {
        output.map_err(|failure| failure.into_js(&env))
    }
}
