//! The fake's in-memory state: resources per customer, batch jobs, long-running operations.

use std::collections::BTreeMap;

use prost_reflect::{DynamicMessage, ReflectMessage};

/// One customer's resources, keyed by resource name.
#[derive(Clone, Debug, Default)]
pub(crate) struct CustomerData {
    pub resources: BTreeMap<String, DynamicMessage>,
    /// The last id handed out; real ids are large numbers, so start high.
    pub last_id: i64,
}

impl CustomerData {
    pub fn allocate_id(&mut self) -> i64 {
        if self.last_id == 0 {
            self.last_id = 1_000_000_000;
        }
        self.last_id += 1;
        self.last_id
    }

    /// Resources of one message type, e.g. every `Campaign`.
    pub fn of_type<'a>(
        &'a self,
        message: &'a str,
    ) -> impl Iterator<Item = &'a DynamicMessage> + 'a {
        self.resources
            .values()
            .filter(move |r| r.descriptor().full_name() == message)
    }
}
