//! The shared application handle: configuration and state. Cheap to clone (one `Arc`).

use crate::config::Config;
use crate::events::EventBus;
use crate::store::Store;
use std::ops::Deref;
use std::sync::Arc;

#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub store: Store,
    pub events: EventBus,
}

impl App {
    pub fn new(config: Config) -> Self {
        App(Arc::new(AppInner {
            config,
            store: Store::default(),
            events: EventBus::default(),
        }))
    }
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}
