//! Creates complete campaigns (budget, campaign, ad groups, ads, keywords) in one batch job:
//! operations linked by temporary names across upload calls, uploaded exactly once, run,
//! watched and read back, with a progress bar on a terminal (plain lines otherwise: the job's
//! resource name, the first failures and their count); then the summary.
//!
//! Run with: cargo run --example add_complete_campaigns_using_batch_job --features fake [-- --campaigns 20 --state job.json --resume --customer-id 1234567890]
//!
//! `--state FILE` saves the job's state after every step (and on Ctrl-C), durably, the file
//! locked while the run lasts (a second run on it is refused); `--resume`
//! carries on from it in another process, against the server the job ran on (the real API,
//! or the `fake_server` example: the embedded fake forgets its jobs when the process ends).
//! With credentials configured (google-ads.yaml or GOOGLE_ADS_* variables) it calls that
//! account (`--customer-id` required); with none, the embedded fake server. A server that
//! answers as the fake (the embedded one, or `fake_server`, wherever it listens) is polled
//! every 100 ms, any other on the API's schedule.

use std::io::IsTerminal as _;
use std::time::Duration;

use google_ads::Error;
use google_ads::batch::{BatchJobDriver, Event, OperationSource, PollSchedule, Stage, StateFile};
use google_ads::fake::{FakeServer, answers_as_fake};

mod common;

use clap::Parser as _;
use common::{Connected, CustomerArg};
use google_ads::latest::common::{AdTextAsset, KeywordInfo, ResponsiveSearchAdInfo};
use google_ads::latest::enums::{
    advertising_channel_type_enum::AdvertisingChannelType, campaign_status_enum::CampaignStatus,
    keyword_match_type_enum::KeywordMatchType,
};
use google_ads::latest::resources::{
    Ad, AdGroup, AdGroupAd, AdGroupCriterion, Campaign, CampaignBudget, ad::AdData,
    ad_group_criterion::Criterion, campaign::CampaignBiddingStrategy,
};
use google_ads::latest::services::MutateOperation;
use google_ads::mutate::Operations;
use indicatif::{ProgressBar, ProgressStyle};

/// Creates complete campaigns in one batch job: uploaded exactly once, run, watched, read back.
#[derive(clap::Parser)]
struct Args {
    #[command(flatten)]
    customer: CustomerArg,
    /// How many complete campaigns to create (16 operations each).
    #[arg(long, default_value_t = 20)]
    campaigns: usize,
    /// Save the job's state to FILE after every step (locked while the run lasts).
    #[arg(long, value_name = "FILE")]
    state: Option<String>,
    /// Carry on from --state in a new process, against the server the job ran on.
    #[arg(long, requires = "state")]
    resume: bool,
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

/// Each campaign: a budget, the campaign, two ad groups each with an ad and five keywords.
fn operations(
    customer_id: google_ads::CustomerId,
    campaigns: usize,
    suffix: &str,
) -> Result<Vec<MutateOperation>, Error> {
    let mut operations = Operations::new(customer_id)?;
    let text = |t: &str| AdTextAsset {
        text: Some(t.into()),
        ..Default::default()
    };
    for c in 0..campaigns {
        let budget = operations.create(CampaignBudget {
            name: Some(format!("Batch budget {c} {suffix}")),
            amount_micros: Some(50_000_000),
            ..Default::default()
        })?;
        let campaign = operations.create(Campaign {
            name: Some(format!("Batch campaign {c} {suffix}")),
            advertising_channel_type: AdvertisingChannelType::Search as i32,
            status: CampaignStatus::Paused as i32,
            campaign_budget: Some(budget.to_string()),
            campaign_bidding_strategy: Some(CampaignBiddingStrategy::ManualCpc(Default::default())),
            ..Default::default()
        })?;
        for g in 0..2 {
            let group = operations.create(AdGroup {
                name: Some(format!("Batch ad group {c}.{g} {suffix}")),
                campaign: Some(campaign.to_string()),
                cpc_bid_micros: Some(1_000_000),
                ..Default::default()
            })?;
            operations.create(AdGroupAd {
                ad_group: Some(group.to_string()),
                ad: Some(Ad {
                    final_urls: vec!["https://example.com".into()],
                    ad_data: Some(AdData::ResponsiveSearchAd(ResponsiveSearchAdInfo {
                        headlines: vec![
                            text("Cruise to Mars"),
                            text("Book today"),
                            text("Low fares"),
                        ],
                        descriptions: vec![text("Space is waiting."), text("Seats are few.")],
                        ..Default::default()
                    })),
                    ..Default::default()
                }),
                ..Default::default()
            })?;
            for k in 0..5 {
                operations.create(AdGroupCriterion {
                    ad_group: Some(group.to_string()),
                    criterion: Some(Criterion::Keyword(KeywordInfo {
                        text: Some(format!("mars cruise {c} {g} {k}")),
                        match_type: KeywordMatchType::Phrase as i32,
                    })),
                    ..Default::default()
                })?;
            }
        }
    }
    Ok(operations.into_operations())
}

async fn run(args: Args) -> Result<(), Error> {
    let connected = Connected::or_fake(
        FakeServer::builder().batch_ops_per_second(2_000),
        args.customer.customer_id.as_deref(),
    )
    .await?;
    let customer_id = connected.customer_id(args.customer.customer_id.as_deref())?;
    let campaigns = args.campaigns;
    let state_path = args.state;
    let resume = args.resume;
    if resume {
        connected.check_resumable()?;
    }
    // Names stay the same across a resume (the source must be the same): the suffix is kept
    // beside the state.
    let suffix_path = state_path.as_ref().map(|p| format!("{p}.suffix"));
    let suffix = match (&suffix_path, resume) {
        (Some(path), true) => std::fs::read_to_string(path).map_err(|e| {
            Error::invalid("--resume", format!("no saved run beside the state: {e}"))
        })?,
        _ => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string(),
    };
    if let (Some(path), false) = (&suffix_path, resume) {
        std::fs::write(path, &suffix)
            .map_err(|e| Error::invalid("--state", format!("cannot be written: {e}")))?;
    }
    let ops = operations(customer_id, campaigns, &suffix)?;
    let total = ops.len() as u64;
    println!("{total} operations for {campaigns} campaigns");
    let source = OperationSource::from_vec(ops);
    // The fake is recognised by what it answers, never by where it listens: every answer of
    // the fake (embedded or `fake_server`) carries the `x-google-ads-fake` response header,
    // which `answers_as_fake` looks for with one ListAccessibleCustomers call. Only then the
    // quick schedule; any other server (the real API, even through a tunnel on loopback) gets
    // the default one, the MutateJobService guide's. A server that cannot be reached stops the
    // run here, with the same error the job's first call would have met.
    let schedule = if answers_as_fake(&connected.client).await? {
        PollSchedule::default().with_backoff(
            Duration::from_millis(100),
            1.33,
            Duration::from_secs(2),
        )
    } else {
        PollSchedule::default()
    };
    // Locked for the whole run: a second process on the same file is refused.
    let state_file = state_path.as_deref().map(StateFile::open).transpose()?;
    let driver = match (&state_file, resume) {
        (Some(file), true) => {
            let state = file.load()?.ok_or_else(|| {
                Error::invalid(
                    "--resume",
                    format!("no state saved in {}", file.path().display()),
                )
            })?;
            println!("resuming at stage {:?}", state.stage);
            BatchJobDriver::resume(&connected.client, state, source)
        }
        _ => BatchJobDriver::new(&connected.client, customer_id, source)?,
    };
    let mut driver = driver.with_poll_schedule(schedule);
    if let Some(file) = state_file {
        driver = driver.with_state_sink(file);
    }

    // A bar on a terminal; otherwise (piped, redirected) plain lines: a hidden bar's
    // `println` would print nothing.
    let plain = !std::io::stdout().is_terminal();
    let bar = if plain {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        )
    };
    let say = |line: String| {
        if plain {
            println!("{line}");
        } else {
            bar.println(line);
        }
    };
    // One Ctrl-C listener for the whole run: a new one per event would miss a signal that
    // arrives while an event is being shown.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut failures = 0u64;
    const SHOWN_FAILURES: u64 = 5;
    loop {
        let event = tokio::select! {
            event = driver.poll() => event?,
            _ = &mut ctrl_c => {
                bar.abandon_with_message("stopped");
                drop(driver);
                println!("stopped: the state is saved; carry on with --resume");
                return Ok(());
            }
        };
        match event {
            Event::Validated { .. } => bar.set_message("checked"),
            Event::Created { job } => say(format!("job {job}")),
            Event::Uploaded { acknowledged, .. } => {
                bar.set_message("uploaded");
                bar.set_position(acknowledged);
            }
            Event::Started { .. } => {
                bar.set_message("running");
                bar.set_position(0);
            }
            Event::Progress(progress) => bar.set_position(progress.executed),
            Event::Results(page) => {
                bar.set_message("results");
                bar.set_position(page.first + page.outcomes.len() as u64);
                for outcome in &page.outcomes {
                    if let Err(errors) = &outcome.outcome {
                        failures += 1;
                        if failures <= SHOWN_FAILURES {
                            say(format!(
                                "operation {} failed: {}",
                                outcome.index, errors[0].message
                            ));
                        }
                    }
                }
            }
            Event::Done(summary) => {
                bar.finish_with_message("done");
                if failures > SHOWN_FAILURES {
                    println!(
                        "... {failures} operations failed in all, the first {SHOWN_FAILURES} shown"
                    );
                }
                println!(
                    "summary: {} succeeded, {} failed, {} missing",
                    summary.succeeded,
                    summary.failed_total(),
                    summary.missing
                );
                for (code, n) in &summary.failed {
                    println!("  {n} x {code}");
                }
                let _ = Stage::Done;
                return Ok(());
            }
            _ => {}
        }
    }
}
