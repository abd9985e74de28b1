//! The shared application handle: configuration and state. Cheap to clone (one `Arc`).

use crate::config::Config;
use crate::engine::timers::{self, Due, TimerKey};
use crate::events::EventBus;
use crate::runtime::timers::TimerWheel;
use crate::store::persistence::Persistence;
use crate::store::Store;
use std::ops::Deref;
use std::sync::{Arc, Weak};

/// The engine's timer wheel.
pub type Timers = TimerWheel<TimerKey, Due>;

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
}

impl App {
    /// An application with the state of `config.data_dir` (or an empty in-memory state).
    pub fn new(config: Config) -> Result<Self, String> {
        let persistence = match &config.data_dir {
            Some(dir) => Some(Persistence::open(dir, config.data_dir_full_sync)?),
            None => None,
        };
        let store = Store::open(persistence)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| format!("codepipeline-local needs a tokio runtime: {e}"))?;
        // The wheel holds a weak handle: it ends when the application is dropped.
        Ok(App(Arc::new_cyclic(|app: &Weak<AppInner>| {
            let app = app.clone();
            AppInner {
                config,
                store,
                events: EventBus::default(),
                timers: Timers::start(&runtime, move |(scope, timer)| {
                    if let Some(app) = app.upgrade() {
                        timers::fire(&App(app), &scope, timer);
                    }
                }),
                running: Default::default(),
            }
        })))
    }
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}
