//! What the examples share: the choice between the configured account and the embedded fake,
//! the customer to work on, and the flags every example that calls the API takes. Each example
//! parses its arguments with clap (`--help`; an unknown or misspelt flag is refused before
//! anything is sent).

// Not every example uses every helper.
#![allow(dead_code)]

use google_ads::fake::{FakeServer, FakeServerBuilder};
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
