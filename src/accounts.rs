//! The accounts under managers: [`AccountTree::walk`] lists every account reachable from one
//! or more manager ids, with `customer_client` queries (each manager's own accounts, one level
//! at a time) down through every enabled sub-manager. Each account is listed once, where the
//! walk first reached it (breadth first, roots in the order given), with the manager it was
//! reached through and the root manager whose id its calls need as `login-customer-id`.
//!
//! Owns: the hierarchy and what each account is (name, currency, time zone, status, level).
//! Does not own: running anything on the accounts.
//!
//! ```no_run
//! # async fn demo(client: google_ads::GoogleAdsClient) -> Result<(), google_ads::Error> {
//! use google_ads::accounts::AccountTree;
//!
//! let tree = AccountTree::walk(&client, &["1234567890".parse()?]).await?;
//! print!("{tree}");
//! for account in tree.clients() {
//!     // Enabled client accounts: where reports run (login-customer-id: account.login_customer_id).
//!     println!("{} {}", account.id, account.descriptive_name);
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;

use crate::latest::enums::customer_status_enum::CustomerStatus;
use crate::search::StreamExt as _;
use crate::{CallOptions, CustomerId, Error, GoogleAdsClient, Violation};

/// Each manager's own accounts (level 1) and itself (level 0): the walk goes down one level
/// per query, so that a sub-manager's accounts are listed with the sub-manager as their parent.
const QUERY: &str = "SELECT customer_client.client_customer, customer_client.level, \
     customer_client.manager, customer_client.descriptive_name, customer_client.currency_code, \
     customer_client.time_zone, customer_client.id, customer_client.status, \
     customer_client.test_account FROM customer_client WHERE customer_client.level <= 1";

/// One account of the tree.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Account {
    /// The customer id.
    pub id: CustomerId,
    /// `descriptive_name` (empty when the account has none).
    pub descriptive_name: String,
    /// `currency_code`, e.g. `EUR`.
    pub currency_code: String,
    /// `time_zone`, e.g. `Europe/London`.
    pub time_zone: String,
    /// ENABLED, or CANCELED, SUSPENDED, CLOSED...
    pub status: CustomerStatus,
    /// A manager account.
    pub manager: bool,
    /// A test account.
    pub test_account: bool,
    /// Depth below the root manager it was reached from (the root itself: 0).
    pub level: u32,
    /// The manager that listed it (none for a root).
    pub parent: Option<CustomerId>,
    /// The root manager it was reached from: the `login-customer-id` its calls need.
    pub login_customer_id: CustomerId,
}

impl Account {
    /// Whether calls for it can work: its status is ENABLED.
    pub fn is_enabled(&self) -> bool {
        self.status == CustomerStatus::Enabled
    }
}

/// Every account under some managers ([`walk`](Self::walk)), printed as an indented tree by
/// `Display`.
#[derive(Debug)]
pub struct AccountTree {
    accounts: Vec<Account>,
    problems: Vec<(CustomerId, Error)>,
}

impl AccountTree {
    /// Lists every account under `managers`. A sub-manager is walked when it is enabled; one
    /// whose accounts cannot be listed (no access, a failed call) is kept, with its error in
    /// [`problems`](Self::problems), and the walk goes on. Fails only when no manager is
    /// given, or when a root's own accounts cannot be listed (its error, as it is).
    pub async fn walk(client: &GoogleAdsClient, managers: &[CustomerId]) -> Result<Self, Error> {
        if managers.is_empty() {
            return Err(Error::violated(vec![Violation::new(
                None,
                "managers",
                "at least one manager id is needed",
            )]));
        }
        let mut tree = Self {
            accounts: Vec::new(),
            problems: Vec::new(),
        };
        let mut seen = HashSet::new();
        for &root in managers {
            if seen.contains(&root) {
                continue;
            }
            // (manager to list, its level); breadth first.
            let mut queue = VecDeque::from([(root, 0u32)]);
            while let Some((manager, level)) = queue.pop_front() {
                let listed = match list(client, manager, root).await {
                    Ok(listed) => listed,
                    Err(error) if manager == root => return Err(error),
                    Err(error) => {
                        tree.problems.push((manager, error));
                        continue;
                    }
                };
                for (row_level, mut account) in listed {
                    account.login_customer_id = root;
                    if row_level == 0 {
                        // The manager itself: a root is listed from its own answer.
                        if seen.insert(account.id) {
                            tree.accounts.push(account);
                        }
                        continue;
                    }
                    if !seen.insert(account.id) {
                        continue;
                    }
                    account.level = level + 1;
                    account.parent = Some(manager);
                    if account.manager && account.is_enabled() {
                        queue.push_back((account.id, level + 1));
                    }
                    tree.accounts.push(account);
                }
            }
        }
        Ok(tree)
    }

    /// Every account, in the order the walk reached them.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// The enabled client (non-manager) accounts: where reports run. Cancelled, suspended and
    /// closed accounts are in [`accounts`](Self::accounts) with their status, not here.
    pub fn clients(&self) -> impl Iterator<Item = &Account> {
        self.accounts
            .iter()
            .filter(|a| !a.manager && a.is_enabled())
    }

    /// Sub-managers whose accounts could not be listed, with why.
    pub fn problems(&self) -> &[(CustomerId, Error)] {
        &self.problems
    }
}

/// A manager's answer: (level, account) for itself (0) and each account directly under it (1).
async fn list(
    client: &GoogleAdsClient,
    manager: CustomerId,
    login: CustomerId,
) -> Result<Vec<(i64, Account)>, Error> {
    let mut rows = client
        .search_stream(manager, QUERY)
        .with_call_options(CallOptions::new().login_customer_id(login))
        .await?;
    let mut listed = Vec::new();
    while let Some(row) = rows.next().await {
        let row = row?;
        let Some(client) = row.customer_client else {
            continue;
        };
        // A row without a readable id names no account it can be called for: skipped.
        let Some(id) = client
            .id
            .and_then(|id| CustomerId::parse_str(&format!("{id:010}")))
        else {
            continue;
        };
        let status = client.status();
        listed.push((
            client.level.unwrap_or_default(),
            Account {
                id,
                descriptive_name: client.descriptive_name.unwrap_or_default(),
                currency_code: client.currency_code.unwrap_or_default(),
                time_zone: client.time_zone.unwrap_or_default(),
                status,
                manager: client.manager.unwrap_or_default(),
                test_account: client.test_account.unwrap_or_default(),
                level: 0,
                parent: None,
                login_customer_id: login,
            },
        ));
    }
    Ok(listed)
}

/// `1234567890 Agency (manager, EUR, Europe/London)`, each level indented two spaces, statuses
/// other than ENABLED said.
impl fmt::Display for AccountTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut children: BTreeMap<Option<CustomerId>, Vec<&Account>> = BTreeMap::new();
        for account in &self.accounts {
            children.entry(account.parent).or_default().push(account);
        }
        let mut stack: Vec<(&Account, usize)> = children
            .get(&None)
            .into_iter()
            .flatten()
            .rev()
            .map(|a| (*a, 0))
            .collect();
        while let Some((account, depth)) = stack.pop() {
            write!(
                f,
                "{:indent$}{} {}",
                "",
                account.id,
                account.descriptive_name,
                indent = depth * 2
            )?;
            let kind = if account.manager { "manager" } else { "client" };
            write!(
                f,
                " ({kind}, {}, {}",
                account.currency_code, account.time_zone
            )?;
            if !account.is_enabled() {
                write!(f, ", {}", account.status.as_str_name())?;
            }
            writeln!(f, ")")?;
            if let Some(below) = children.get(&Some(account.id)) {
                stack.extend(below.iter().rev().map(|a| (*a, depth + 1)));
            }
        }
        for (manager, error) in &self.problems {
            writeln!(f, "{manager}: its accounts could not be listed: {error}")?;
        }
        Ok(())
    }
}
