//! Adds keywords to an ad group in several requests while the server refuses some of them with
//! quota errors (RESOURCE_EXHAUSTED): the client's retry policy waits them out, and each wait is
//! printed as it starts (the attempt that failed, its error, how long the wait is), then each
//! request's success.
//!
//! Run with: cargo run --example handle_rate_exceeded --features fake [-- --customer-id 1234567890 --ad-group-id 456 --requests 3]
//!
//! Against the embedded fake (no credentials configured) the fake refuses the first keyword
//! request three times: once with QuotaError RESOURCE_EXHAUSTED and no retry delay (the policy
//! backs off: 5 s jittered down to between 2.5 and 5 s), then twice with QuotaError
//! RESOURCE_TEMPORARILY_EXHAUSTED and a retry delay of 1 s (the policy waits at least that
//! long, plus up to 10%). With credentials
//! configured (google-ads.yaml or GOOGLE_ADS_* variables) it calls that account
//! (`--customer-id` required) with the same policy, the client's default, printing whatever
//! waits the real quota causes. Without `--ad-group-id` it first creates a paused campaign and
//! an ad group to add the keywords to.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use google_ads::fake::{FakeServer, Fault};

mod common;

use clap::Parser as _;
use common::{Connected, CustomerArg};
use google_ads::latest::common::KeywordInfo;
use google_ads::latest::enums::{
    advertising_channel_type_enum::AdvertisingChannelType, campaign_status_enum::CampaignStatus,
    keyword_match_type_enum::KeywordMatchType,
};
use google_ads::latest::resources::{
    AdGroup, AdGroupCriterion, Campaign, CampaignBudget, ad_group_criterion::Criterion,
    campaign::CampaignBiddingStrategy,
};
use google_ads::mutate::Operations;
use google_ads::resource_names::AdGroupName;
use google_ads::retry::Retrying;
use google_ads::{CallOptions, CustomerId, Error, GoogleAdsClient};

const KEYWORDS_PER_REQUEST: usize = 5;

/// Adds keywords while the server refuses some requests with quota errors, and waits them out.
#[derive(clap::Parser)]
struct Args {
    #[command(flatten)]
    customer: CustomerArg,
    /// The ad group to add keywords to; without it, one is created first.
    #[arg(long = "ad-group-id", value_name = "ID")]
    ad_group_id: Option<String>,
    /// How many keyword requests to send.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    requests: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The waits of one call, as the retry observer saw them.
type Waits = Arc<Mutex<Vec<Duration>>>;

/// Call options that print each wait of the call's retries and note it in `waits`.
fn watched(waits: &Waits) -> CallOptions {
    let waits = waits.clone();
    CallOptions::new().on_retry(move |retry: &Retrying<'_>| {
        // The error's first line: code, request id, the GoogleAdsError; the rest (retry delay,
        // attempts) is said here.
        let error = retry.error.to_string();
        let error = error.lines().next().unwrap_or_default();
        println!("  attempt {} failed: {error}", retry.attempt);
        let next = retry.attempt + 1;
        match retry.error.retry_delay() {
            Some(asked) => println!(
                "    the server asks for {asked:?}: waiting {:.2?} before attempt {next}",
                retry.delay
            ),
            None => println!("    backing off {:.2?} before attempt {next}", retry.delay),
        }
        waits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(retry.delay);
    })
}

async fn run(args: Args) -> Result<(), Error> {
    let connected =
        Connected::or_fake(FakeServer::builder(), args.customer.customer_id.as_deref()).await?;
    let customer_id = connected.customer_id(args.customer.customer_id.as_deref())?;
    let client = &connected.client;
    let requests =
        usize::try_from(args.requests).map_err(|_| Error::invalid("--requests", "is too large"))?;
    let suffix = std::process::id();
    let ad_group = match args.ad_group_id {
        Some(id) => AdGroupName::new(customer_id, id)?.to_string(),
        None => create_ad_group(client, customer_id, suffix).await?,
    };

    if let Some(fake) = &connected.fake {
        // Faults fire in the order scripted, one per call.
        let method = "GoogleAdsService/Mutate";
        fake.inject(
            method,
            Fault::Status(google_ads::tonic::Code::ResourceExhausted),
        );
        let temporarily = Fault::Quota {
            retry_delay: Duration::from_secs(1),
            developer: false,
        };
        fake.inject_times(method, temporarily, 2);
        println!("the fake refuses the next 3 mutates with quota errors");
    }

    let mut retries = 0;
    let mut waited = Duration::ZERO;
    for request in 1..=requests {
        let mut operations = Operations::new(customer_id)?;
        for k in 0..KEYWORDS_PER_REQUEST {
            operations.create(AdGroupCriterion {
                ad_group: Some(ad_group.clone()),
                criterion: Some(Criterion::Keyword(KeywordInfo {
                    text: Some(format!("mars cruise {suffix} {request} {k}")),
                    match_type: KeywordMatchType::Phrase as i32,
                })),
                ..Default::default()
            })?;
        }
        println!("request {request}: adding {KEYWORDS_PER_REQUEST} keywords");
        let waits = Waits::default();
        let started = Instant::now();
        let results = client
            .mutate(operations)
            .call_options(watched(&waits))
            .send()
            .await;
        let waits = std::mem::take(&mut *waits.lock().unwrap_or_else(|e| e.into_inner()));
        retries += waits.len();
        waited += waits.iter().sum::<Duration>();
        let results = results?;
        let attempts = waits.len() + 1;
        println!(
            "request {request}: added {} keywords in {attempts} attempt{} ({:.1?})",
            results.resource_names().iter().flatten().count(),
            if attempts == 1 { "" } else { "s" },
            started.elapsed()
        );
    }
    println!(
        "done: {} keywords in {requests} requests, {retries} retries, {:.1?} waited",
        requests * KEYWORDS_PER_REQUEST,
        waited
    );
    Ok(())
}

/// A paused campaign with an ad group, to add the keywords to; its name.
async fn create_ad_group(
    client: &GoogleAdsClient,
    customer_id: CustomerId,
    suffix: u32,
) -> Result<String, Error> {
    let mut operations = Operations::new(customer_id)?;
    let budget = operations.create(CampaignBudget {
        name: Some(format!("Rate example budget {suffix}")),
        amount_micros: Some(10_000_000),
        ..Default::default()
    })?;
    let campaign = operations.create(Campaign {
        name: Some(format!("Rate example {suffix}")),
        advertising_channel_type: AdvertisingChannelType::Search as i32,
        status: CampaignStatus::Paused as i32,
        campaign_budget: Some(budget.to_string()),
        campaign_bidding_strategy: Some(CampaignBiddingStrategy::ManualCpc(Default::default())),
        ..Default::default()
    })?;
    operations.create(AdGroup {
        name: Some(format!("Rate example group {suffix}")),
        campaign: Some(campaign.to_string()),
        cpc_bid_micros: Some(1_000_000),
        ..Default::default()
    })?;
    let waits = Waits::default();
    let results = client
        .mutate(operations)
        .call_options(watched(&waits))
        .send()
        .await?;
    let ad_group = results.resource_names()[2].unwrap_or_default().to_owned();
    println!("created {ad_group}");
    Ok(ad_group)
}
