//! The shared application handle: configuration and state. Cheap to clone (one `Arc`).

use crate::config::Config;
use crate::events::EventBus;
use crate::store::persistence::Persistence;
use crate::store::Store;
use std::ops::Deref;
use std::sync::Arc;

#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub store: Store,
    pub events: EventBus,
    /// What loaded templates left for pipelines: stack outputs, CodeBuild projects, exports.
    pub stacks: crate::templates::LoadedStacks,
}

impl App {
    /// An application with the state of `config.data_dir` (or an empty in-memory state).
    pub fn new(config: Config) -> Result<Self, String> {
        let persistence = match &config.data_dir {
            Some(dir) => Some(Persistence::open(dir, config.data_dir_full_sync)?),
            None => None,
        };
        let store = Store::open(persistence)?;
        Ok(App(Arc::new(AppInner {
            config,
            store,
            events: EventBus::default(),
            stacks: Default::default(),
        })))
    }
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}
