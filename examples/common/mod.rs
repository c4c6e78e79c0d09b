//! What the examples share: the choice between the configured account and the embedded fake,
//! the customer to work on, and the flags every example that calls the API takes. Each example
//! parses its arguments with clap (`--help`; an unknown or misspelt flag is refused before
//! anything is sent).

// Not every example uses every helper.
#![allow(dead_code)]

use google_ads::fake::{FakeAccount, FakeServer, FakeServerBuilder};
use google_ads::latest::enums::customer_status_enum::CustomerStatus;
use google_ads::{Config, CustomerId, Error, GoogleAdsClient};

/// The flag every example that calls an account takes.
#[derive(clap::Args, Debug, Clone)]
pub struct CustomerArg {
    /// The account to work on (10 digits). Required against the real API; against the
    /// embedded fake it becomes the fake's account.
    #[arg(long = "customer-id", value_name = "ID")]
    pub customer_id: Option<String>,
}

/// What an example runs against: the configured account when there is configuration
/// (google-ads.yaml, `GOOGLE_ADS_CONFIGURATION_FILE_PATH` or `GOOGLE_ADS_*` variables), else a
/// fake started in this process. The first line printed says which. Configured credentials
/// that fail are never replaced by the fake: their error is the answer.
pub struct Connected {
    pub client: GoogleAdsClient,
    /// The fake, when there was no configuration (kept alive while the client is used).
    pub fake: Option<FakeServer>,
}

impl Connected {
    /// The configured client, else one on a new fake with `builder`'s settings (whose account
    /// is `customer_id` when that is 10 digits); the line saying which goes to stdout.
    pub async fn or_fake(
        builder: FakeServerBuilder,
        customer_id: Option<&str>,
    ) -> Result<Self, Error> {
        Self::connect(builder, customer_id, |line| println!("{line}")).await
    }

    /// Like [`or_fake`](Self::or_fake), with the line saying which on stderr: for examples
    /// whose stdout is their data (CSV, JSON lines).
    pub async fn or_fake_stderr(
        builder: FakeServerBuilder,
        customer_id: Option<&str>,
    ) -> Result<Self, Error> {
        Self::connect(builder, customer_id, |line| eprintln!("{line}")).await
    }

    async fn connect(
        mut builder: FakeServerBuilder,
        customer_id: Option<&str>,
        say: impl Fn(&str),
    ) -> Result<Self, Error> {
        // The line comes before the client is built: when configured credentials are broken,
        // the output says they were the ones used, then why they fail.
        if let Some(config) = Config::discover()? {
            say(&format!(
                "using the configured credentials: {}",
                config.endpoint
            ));
            let client = GoogleAdsClient::builder(config).build()?;
            return Ok(Self { client, fake: None });
        }
        if let Some(id) = customer_id.filter(|id| id.parse::<CustomerId>().is_ok()) {
            builder = builder.customer(id);
        }
        let fake = builder
            .start()
            .await
            .map_err(|e| Error::invalid("fake server", e.to_string()))?;
        say(&format!(
            "no credentials configured: using the embedded fake server at {}",
            fake.uri()
        ));
        let ignored = Config::ignored_env_variables();
        if !ignored.is_empty() {
            say(&format!(
                "warning: ignored, not configuration keys: {} (misspelt?)",
                ignored.join(", ")
            ));
        }

        let config = Config::builder()
            .with_developer_token("fake-developer-token")
            .with_access_token("fake-access-token")
            .with_endpoint(fake.uri())
            .build()?;
        let client = GoogleAdsClient::builder(config).build()?;
        Ok(Self {
            client,
            fake: Some(fake),
        })
    }

    /// The customer to work on: `given` (`--customer-id`), else with the fake its first
    /// customer; with the real API one must be given.
    pub fn customer_id(&self, given: Option<&str>) -> Result<CustomerId, Error> {
        match (given, &self.fake) {
            (Some(id), _) => Ok(id.parse()?),
            (None, Some(fake)) => Ok(fake.customer_ids()[0].parse()?),
            (None, None) => Err(Error::invalid(
                "--customer-id",
                "is required against the real API (10 digits, e.g. --customer-id 1234567890)",
            )),
        }
    }

    /// Refuses `--resume` on the embedded fake: its jobs end with the process that ran them.
    /// Resuming needs the server the jobs ran on (the real API, or `fake_server`).
    pub fn check_resumable(&self) -> Result<(), Error> {
        match self.fake {
            Some(_) => Err(Error::invalid(
                "--resume",
                "needs the server the jobs ran on, and the embedded fake forgot them when its \
                 process ended: run `cargo run --example fake_server --features fake` and point \
                 GOOGLE_ADS_ENDPOINT (or google-ads.yaml's endpoint) at it",
            )),
            None => Ok(()),
        }
    }
}

const UNREACHABLE: &str = "1000000008";

/// The demo tree's client accounts a report reaches (enabled, and reachable).
const DEMO_CLIENTS: [&str; 4] = ["1000000003", "1000000004", "1000000005", "1000000007"];

/// The demo tree under the root: (id, name, manager, parent; the root's own id stands for
/// "root").
const DEMO: [(&str, &str, bool, &str); 8] = [
    ("1000000001", "Region North", true, "root"),
    ("1000000002", "Region South", true, "root"),
    ("1000000003", "Direct client", false, "root"),
    ("1000000004", "Bakery", false, "1000000001"),
    ("1000000005", "Shared shop", false, "1000000001"),
    ("1000000006", "Old shop", false, "1000000001"),
    ("1000000007", "Florist", false, "1000000002"),
    (UNREACHABLE, "Revoked access", false, "1000000002"),
];

/// `builder` with the demo tree's accounts as customers (all but the one the credentials
/// cannot reach).
pub fn with_demo_tree_customers(mut builder: FakeServerBuilder) -> FakeServerBuilder {
    for id in DEMO
        .iter()
        .map(|(id, ..)| *id)
        .filter(|id| *id != UNREACHABLE)
    {
        builder = builder.customer(id);
    }
    builder
}

/// The manager ids given (`flag`, e.g. `--manager-id`) and what to run against: the configured
/// account, where they are required; else the fake holding the demo tree under the first id
/// given (default 1234567890), whose root is then the one manager.
pub async fn managers_or_demo_tree(
    given: &[String],
    flag: &str,
) -> Result<(Connected, Vec<CustomerId>), Error> {
    let managers = given
        .iter()
        .map(|id| id.parse::<CustomerId>())
        .collect::<Result<Vec<_>, _>>()?;
    let root = managers
        .first()
        .map_or_else(|| "1234567890".to_owned(), ToString::to_string);
    let connected =
        Connected::or_fake(with_demo_tree_customers(FakeServer::builder()), Some(&root)).await?;
    let managers = match (&connected.fake, managers.is_empty()) {
        (Some(fake), _) => {
            demo_account_tree(fake, &root)?;
            vec![root.parse()?]
        }
        (None, true) => {
            return Err(Error::invalid(
                flag,
                "is required against the real API: the manager account(s) at the root",
            ));
        }
        (None, false) => managers,
    };
    Ok((connected, managers))
}

/// A tree of three levels under `root` on the fake: two sub-managers, an account both of them
/// manage, a suspended account, and one the credentials cannot reach; the reachable client
/// accounts have 100, 200, 300 and 400 generated campaign rows.
pub fn demo_account_tree(fake: &FakeServer, root: &str) -> Result<(), Error> {
    let mut accounts = vec![FakeAccount::manager(root, "Agency")];
    let mut links = Vec::new();
    for (id, name, manager, parent) in DEMO {
        let account = if manager {
            FakeAccount::manager(id, name)
        } else {
            FakeAccount::client(id, name)
        };
        accounts.push(if name == "Old shop" {
            account.with_status(CustomerStatus::Suspended)
        } else {
            account
        });
        links.push((if parent == "root" { root } else { parent }, id));
    }
    // The shared shop is also under the second region.
    links.push(("1000000002", "1000000005"));
    fake.account_tree(&accounts, &links)
        .map_err(|e| Error::invalid("fake server", e))?;
    for (i, account) in DEMO_CLIENTS.iter().enumerate() {
        fake.synthetic_campaigns(account, 100 * (i + 1));
    }
    Ok(())
}
