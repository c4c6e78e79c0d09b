//! Manager account trees: what `customer_client` answers on a manager (itself at level 0,
//! every account below it at its depth, each once), the status each account has (a call for
//! an account that is not ENABLED is refused, as the API refuses it), and which managers may
//! act for an account (a call for an account under a manager whose `login-customer-id` is
//! missing, or neither the account nor a manager above it, is refused).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use crate::latest::enums::customer_status_enum::CustomerStatus;
use crate::latest::resources::CustomerClient;

/// An account of a fake manager tree ([`crate::fake::FakeServer::account_tree`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FakeAccount {
    /// The customer id, 10 digits.
    pub id: String,
    /// `descriptive_name`.
    pub name: String,
    /// A manager account (it has accounts under it).
    pub manager: bool,
    /// ENABLED unless set otherwise.
    pub status: CustomerStatus,
    /// `currency_code`, `EUR` unless set.
    pub currency_code: String,
    /// `time_zone`, `Europe/London` unless set.
    pub time_zone: String,
}

impl FakeAccount {
    /// A client (non-manager) account, ENABLED.
    pub fn client(id: &str, name: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            manager: false,
            status: CustomerStatus::Enabled,
            currency_code: "EUR".to_owned(),
            time_zone: "Europe/London".to_owned(),
        }
    }

    /// A manager account, ENABLED.
    pub fn manager(id: &str, name: &str) -> Self {
        Self {
            manager: true,
            ..Self::client(id, name)
        }
    }

    /// With this status (SUSPENDED, CANCELED, CLOSED...).
    pub fn with_status(mut self, status: CustomerStatus) -> Self {
        self.status = status;
        self
    }
}

/// Who may act for whom, and the accounts' statuses.
#[derive(Default)]
pub(crate) struct Trees {
    /// Account -> the managers above it, at any depth.
    above: HashMap<String, HashSet<String>>,
    status: HashMap<String, CustomerStatus>,
}

impl Trees {
    /// Why a call for `customer` with `login` as its login-customer-id is refused, if it is.
    pub(crate) fn refusal(
        &self,
        customer: &str,
        login: Option<&str>,
    ) -> Option<(&'static str, &'static str)> {
        // Reached through a manager: the call must say which (the API's rule for an account
        // the user reaches only through a manager, as every account of a fake tree is).
        let login = login.filter(|l| !l.is_empty());
        if let Some(above) = self.above.get(customer)
            && login.is_none_or(|l| l != customer && !above.contains(l))
        {
            return Some((
                "USER_PERMISSION_DENIED",
                "User doesn't have permission to access customer. Note: If you're accessing a \
                 client customer, the manager's customer id must be set in the \
                 'login-customer-id' header.",
            ));
        }
        match self.status.get(customer) {
            Some(CustomerStatus::Enabled) | None => None,
            Some(_) => Some((
                "CUSTOMER_NOT_ENABLED",
                "The customer account can't be accessed because it is not yet enabled or has \
                 been deactivated.",
            )),
        }
    }
}

/// A manager and its customer_client rows.
pub(crate) type Listing = (String, Vec<CustomerClient>);

/// The customer_client rows of every manager of the tree: (manager, rows), and the tree's
/// rules. Levels are the shortest distance from the manager; an account two managers reach is
/// listed under each, once.
pub(crate) fn build(
    accounts: &[FakeAccount],
    links: &[(&str, &str)],
) -> Result<(Vec<Listing>, Trees), String> {
    let by_id: BTreeMap<&str, &FakeAccount> = accounts.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (manager, child) in links {
        let parent = by_id
            .get(manager)
            .ok_or_else(|| format!("link {manager} -> {child}: {manager} is not an account"))?;
        if !parent.manager {
            return Err(format!(
                "link {manager} -> {child}: {manager} is not a manager"
            ));
        }
        if !by_id.contains_key(child) {
            return Err(format!(
                "link {manager} -> {child}: {child} is not an account"
            ));
        }
        children.entry(manager).or_default().push(child);
    }
    let mut trees = Trees::default();
    let mut rows = Vec::new();
    for account in accounts {
        trees.status.insert(account.id.clone(), account.status);
        if !account.manager {
            continue;
        }
        // Breadth first: each account once, at its shortest depth.
        let mut levels: BTreeMap<&str, i64> = BTreeMap::from([(account.id.as_str(), 0)]);
        let mut queue = VecDeque::from([account.id.as_str()]);
        while let Some(at) = queue.pop_front() {
            let level = levels[at];
            for child in children.get(at).into_iter().flatten() {
                if !levels.contains_key(child) {
                    levels.insert(child, level + 1);
                    queue.push_back(child);
                }
            }
        }
        let mut listed = Vec::new();
        for (id, level) in levels {
            let client = by_id[id];
            if level > 0 {
                trees
                    .above
                    .entry(id.to_owned())
                    .or_default()
                    .insert(account.id.clone());
            }
            listed.push(CustomerClient {
                resource_name: format!("customers/{}/customerClients/{id}", account.id),
                client_customer: Some(format!("customers/{id}")),
                hidden: Some(false),
                level: Some(level),
                time_zone: Some(client.time_zone.clone()),
                test_account: Some(false),
                manager: Some(client.manager),
                descriptive_name: Some(client.name.clone()),
                currency_code: Some(client.currency_code.clone()),
                id: id.parse().ok(),
                status: client.status as i32,
                ..Default::default()
            });
        }
        rows.push((account.id.clone(), listed));
    }
    Ok((rows, trees))
}
