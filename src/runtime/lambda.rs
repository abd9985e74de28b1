//! Handing a Lambda job to its function (`actions::lambda`), and a failed call back to the
//! engine.

use super::driver::with_engine;
use crate::app::App;
use crate::engine;
use crate::protocol::Scope;
use crate::store::RegionState;

/// Invokes the function of a Lambda job that is on the board, in a task (the caller holds the
/// region's lock). A failed call, a function error or a panic of the task fails the job and its
/// action at once; a hang is bounded by the job's timeout.
pub fn invoke(app: &App, scope: &Scope, state: &RegionState, job_id: &str) {
    let Some(job) = state.jobs.jobs.get(job_id) else {
        return;
    };
    if job.is_finished() {
        return;
    }
    let (function, payload) = crate::actions::lambda::request(job);
    let (app, scope, job_id) = (app.clone(), scope.clone(), job_id.to_string());
    let call = {
        let app = app.clone();
        tokio::spawn(
            async move { crate::actions::lambda::call(&app.config, &function, payload).await },
        )
    };
    tokio::spawn(async move {
        let failure = match call.await {
            Ok(Ok(())) => return,
            Ok(Err(message)) => message,
            Err(e) => crate::actions::running::crash_message(e),
        };
        let region = app.store.region(&scope);
        with_engine(&app, &region, |cx, state| {
            engine::inputs::on_lambda_failure(cx, state, &job_id, failure)
        });
    });
}
