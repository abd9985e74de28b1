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
    /// Webhook delivery ids already handled (`webhooks::dedup`).
    pub webhook_deliveries: crate::webhooks::dedup::Deliveries,
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
            webhook_deliveries: Default::default(),
        })))
    }
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}
