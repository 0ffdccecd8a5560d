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

type Work = Box<dyn FnOnce(&[Buffer]) -> Result<Output, Failure> + Send>;

/// One operation, run once on the libuv pool.
pub struct Job {
    work: Option<Work>,
    /// Bytes the work reads (the events of appends). The Job owns the
    /// references to the JS Buffers, so they stay alive until the Job is
    /// dropped on the JS thread after `resolve`.
    inputs: Vec<Buffer>,
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
            work: Some(Box::new(move |_: &[Buffer]| work())),
            inputs: Vec::new(),
        })
    }

    /// A job that reads `inputs` on the pool thread. They must be Buffers
    /// no JavaScript code writes to while the job runs (the JS layer passes
    /// fresh copies it keeps to itself).
    pub(crate) fn spawn_with(
        inputs: Vec<Buffer>,
        work: impl FnOnce(&[Buffer]) -> Result<Output, Failure> + Send + 'static,
    ) -> AsyncTask<Job> {
        AsyncTask::new(Job {
            work: Some(Box::new(work)),
            inputs,
        })
    }
}

impl Task for Job {
    type Output = Result<Output, Failure>;
    type JsValue = Output;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        // napi runs compute once per task; a second run has nothing to do.
        Ok(match self.work.take() {
            Some(work) => work(&self.inputs),
            None => Ok(Output::Undefined),
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Output> {
        output.map_err(|failure| failure.into_js(&env))
    }
}
