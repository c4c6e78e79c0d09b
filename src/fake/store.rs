//! The fake's in-memory state: resources per customer, batch jobs, long-running operations.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use prost_reflect::{DynamicMessage, ReflectMessage};

/// One customer's resources, keyed by resource name.
#[derive(Clone, Debug, Default)]
pub(crate) struct CustomerData {
    resources: BTreeMap<String, DynamicMessage>,
    /// (message, `name` field) -> the resources of that type with that name: a create's
    /// duplicate-name check is a lookup, not a scan of every resource of its type.
    names: HashMap<(String, String), BTreeSet<String>>,
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

    pub fn get(&self, name: &str) -> Option<&DynamicMessage> {
        self.resources.get(name)
    }

    pub fn insert(&mut self, name: String, resource: DynamicMessage) {
        if let Some(old) = self.resources.get(&name).cloned() {
            self.unindex(&name, &old);
        }
        self.index(&name, &resource);
        self.resources.insert(name, resource);
    }

    pub fn remove(&mut self, name: &str) {
        if let Some(old) = self.resources.remove(name) {
            self.unindex(name, &old);
        }
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

    /// Resources of type `message` whose `name` field is `name`.
    pub fn named<'a>(
        &'a self,
        message: &str,
        name: &str,
    ) -> impl Iterator<Item = &'a DynamicMessage> + 'a {
        self.names
            .get(&(message.to_owned(), name.to_owned()))
            .into_iter()
            .flatten()
            .filter_map(|n| self.resources.get(n))
    }

    fn key(resource: &DynamicMessage) -> Option<(String, String)> {
        let name = resource.get_field_by_name("name")?;
        let name = name.as_str()?;
        (!name.is_empty()).then(|| {
            (
                resource.descriptor().full_name().to_owned(),
                name.to_owned(),
            )
        })
    }

    fn index(&mut self, resource_name: &str, resource: &DynamicMessage) {
        if let Some(key) = Self::key(resource) {
            self.names
                .entry(key)
                .or_default()
                .insert(resource_name.to_owned());
        }
    }

    fn unindex(&mut self, resource_name: &str, resource: &DynamicMessage) {
        if let Some(key) = Self::key(resource)
            && let Some(set) = self.names.get_mut(&key)
        {
            set.remove(resource_name);
        }
    }
}
