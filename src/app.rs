//! The shared application handle: configuration and state. Cheap to clone (one `Arc`).

use crate::config::Config;
use crate::events::EventBus;
use crate::protocol::Scope;
use crate::runtime::timers::TimerWheel;
use crate::runtime::{Due, TimerKey};
use crate::store::persistence::Persistence;
use crate::store::Store;
use std::ops::Deref;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The engine's timer wheel.
pub type Timers = TimerWheel<TimerKey, Due>;

/// After a change could not be persisted and was rolled back, the region's executions are
/// resumed this much later (and again after every further failure, until writes succeed).
const RESUME_AFTER_ROLLBACK: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub store: Store,
    pub events: EventBus,
    /// The timer wheel of the engine (one task for all timers of all regions).
    pub timers: Timers,
    /// The real actions running in the background (see `actions::running`).
    pub running: crate::actions::running::Running,
    /// What loaded templates left for pipelines: stack outputs, CodeBuild projects, exports.
    pub stacks: crate::runtime::stacks::LoadedStacks,
    /// Webhook delivery ids already handled (`store::deliveries`, served by `webhooks`).
    pub webhook_deliveries: crate::store::deliveries::Deliveries,
    /// What `--events-endpoint` forwarding delivered (`forward::eventbridge`).
    pub eventbridge: crate::events::Delivery,
}

impl App {
    /// An application with the state of `config.data_dir` (or an empty in-memory state).
    /// `listen` names this server in the data directory's lock file.
    pub fn new(config: Config, listen: &str) -> Result<Self, String> {
        let persistence = match &config.data_dir {
            Some(dir) => Some(Persistence::open(
                dir,
                config.data_dir_full_sync,
                config.data_dir_max_bytes,
                &format!("pid {}, listening on {listen}", std::process::id()),
            )?),
            None => None,
        };
        let store = Store::open(persistence)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| format!("codepipeline-local needs a tokio runtime: {e}"))?;
        // The wheel holds a weak handle: it ends when the application is dropped.
        let app = App(Arc::new_cyclic(|app: &Weak<AppInner>| {
            let app = app.clone();
            AppInner {
                config,
                store,
                events: EventBus::default(),
                timers: Timers::start(&runtime, move |(scope, timer)| {
                    if let Some(app) = app.upgrade() {
                        crate::runtime::fire(&App(app), &scope, timer);
                    }
                }),
                running: Default::default(),
                stacks: Default::default(),
                webhook_deliveries: Default::default(),
                eventbridge: Default::default(),
            }
        }));
        let weak = Arc::downgrade(&app.0);
        app.store
            .on_rollback(Box::new(move |scope| resume_later(weak.clone(), scope)));
        Ok(app)
    }
}

/// Resumes a rolled-back region's executions (`runtime::resume`): a timer or an advance whose
/// change was lost runs again.
fn resume_later(app: Weak<AppInner>, scope: &Scope) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::error!("cannot resume executions after a rollback: no async runtime");
        return;
    };
    let scope = scope.clone();
    runtime.spawn(async move {
        tokio::time::sleep(RESUME_AFTER_ROLLBACK).await;
        let Some(app) = app.upgrade().map(App) else {
            return;
        };
        if let Some(region) = app.store.get(&scope) {
            region.resume_started();
            crate::runtime::resume(&app, &region);
        }
    });
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// A handle on the application that does not keep it alive: background tasks (the repository
/// watcher) end when it is gone.
#[derive(Clone)]
pub struct WeakApp(Weak<AppInner>);

impl App {
    pub fn downgrade(&self) -> WeakApp {
        WeakApp(Arc::downgrade(&self.0))
    }
}

impl WeakApp {
    pub fn upgrade(&self) -> Option<App> {
        self.0.upgrade().map(App)
    }
}
