//! Pushes changes to many accounts at once through a fleet of batch jobs: each account's
//! work is cut into jobs (never inside a group linked by temporary names), the jobs run side
//! by side, paced per account, watched with one query per account; one progress bar per
//! running job under an overall bar, then a summary per account. Each job's resource name is
//! printed when it is created, and each job that fails for good when it fails; the other
//! accounts go on, and the run ends with each failed account and its errors and a non-zero
//! exit status.
//!
//! Run with: cargo run --example bulk_mutate_accounts --features fake [-- --customers 3 --operations-per-customer 2000 --job-size 500 --state fleet-state --resume --customer-id 1234567890,1000000001]
//!
//! `--state FOLDER` saves the fleet's state there (the plan once, each job's state after each
//! of its steps, durably; the folder locked while the run lasts; Ctrl-C stops with status 130);
//! `--resume` carries on from it in another process, against the server the jobs ran on
//! (the real API, or the `fake_server` example: the embedded fake forgets its jobs when the
//! process ends). With credentials configured (google-ads.yaml or GOOGLE_ADS_* variables)
//! it works on the accounts given with `--customer-id` (comma-separated, required), paced as
//! the API asks (RunBatchJob calls of one account 2 s apart, polls from 30 s). With none, on
//! `--customers` accounts of the embedded fake server, whose jobs share one execution
//! capacity. A server that answers as the fake (the embedded one, or `fake_server`, wherever
//! it listens) is polled every 100 ms and paced 200 ms apart, so the run takes seconds; any
//! other server on the API's schedule.

use std::collections::BTreeMap;
use std::time::Duration;

use google_ads::batch::{
    CustomerWork, Event, FleetEvent, FleetRunner, JobResult, OperationSource, PollSchedule,
    StateFolder,
};
use google_ads::fake::{FakeServer, answers_as_fake};

mod common;

use clap::Parser as _;
use common::Connected;
use google_ads::latest::common::KeywordInfo;
use google_ads::latest::enums::{
    advertising_channel_type_enum::AdvertisingChannelType, campaign_status_enum::CampaignStatus,
    keyword_match_type_enum::KeywordMatchType,
};
use google_ads::latest::resources::{
    AdGroup, AdGroupCriterion, Campaign, CampaignBudget, ad_group_criterion::Criterion,
    campaign::CampaignBiddingStrategy,
};
use google_ads::latest::services::MutateOperation;
use google_ads::mutate::Operations;
use google_ads::{CustomerId, Error};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Pushes changes to many accounts at once through a fleet of batch jobs.
#[derive(clap::Parser)]
struct Args {
    /// The accounts to change, comma-separated (10 digits each). Required against the real
    /// API; against the embedded fake, its first --customers.
    #[arg(long = "customer-id", value_name = "ID,...")]
    customer_id: Option<String>,
    /// With the embedded fake: how many accounts it serves and the run changes.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=1000))]
    customers: u64,
    /// Operations per account.
    #[arg(long, default_value_t = 2_000)]
    operations_per_customer: u64,
    /// Operations per job, at least 20 (one campaign tree of this example).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(20..))]
    job_size: u64,
    /// Save the fleet's state in FOLDER (locked while the run lasts).
    #[arg(long, value_name = "FOLDER")]
    state: Option<String>,
    /// Carry on from --state in a new process, against the server the jobs ran on.
    #[arg(long, requires = "state")]
    resume: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// About `count` operations for `customer`: campaign trees of a budget, a paused campaign,
/// an ad group and keywords, linked by temporary names (a tree never splits across jobs).
fn operations(
    customer: CustomerId,
    count: u64,
    suffix: &str,
) -> Result<Vec<MutateOperation>, Error> {
    const KEYWORDS: u64 = 17; // 20 operations per tree
    let mut operations = Operations::new(customer)?;
    let mut tree = 0;
    while (operations.len() as u64) < count {
        let budget = operations.create(CampaignBudget {
            name: Some(format!("Bulk budget {tree} {suffix}")),
            amount_micros: Some(20_000_000),
            ..Default::default()
        })?;
        let campaign = operations.create(Campaign {
            name: Some(format!("Bulk campaign {tree} {suffix}")),
            advertising_channel_type: AdvertisingChannelType::Search as i32,
            status: CampaignStatus::Paused as i32,
            campaign_budget: Some(budget.to_string()),
            campaign_bidding_strategy: Some(CampaignBiddingStrategy::ManualCpc(Default::default())),
            ..Default::default()
        })?;
        let group = operations.create(AdGroup {
            name: Some(format!("Bulk ad group {tree} {suffix}")),
            campaign: Some(campaign.to_string()),
            cpc_bid_micros: Some(1_000_000),
            ..Default::default()
        })?;
        let room = count - operations.len() as u64;
        for k in 0..KEYWORDS.min(room) {
            operations.create(AdGroupCriterion {
                ad_group: Some(group.to_string()),
                criterion: Some(Criterion::Keyword(KeywordInfo {
                    text: Some(format!("bulk keyword {tree} {k}")),
                    match_type: KeywordMatchType::Exact as i32,
                })),
                ..Default::default()
            })?;
        }
        tree += 1;
    }
    Ok(operations.into_operations())
}

/// The accounts to work on: `--customer-id` (comma-separated), else with the fake its first
/// `--customers`.
fn customers(
    connected: &Connected,
    given: Option<&str>,
    fake_count: usize,
) -> Result<Vec<CustomerId>, Error> {
    match (given, &connected.fake) {
        (Some(list), _) => list
            .split(',')
            .map(|id| Ok(id.trim().parse::<CustomerId>()?))
            .collect(),
        (None, Some(_)) => (0..fake_count).map(fake_customer).collect(),
        (None, None) => Err(Error::invalid(
            "--customer-id",
            "required with the real API: the accounts to change, comma-separated",
        )),
    }
}

/// The fake's customers: 1234567890, then 1000000001, 1000000002...
fn fake_customer(i: usize) -> Result<CustomerId, Error> {
    let id = match i {
        0 => "1234567890".to_owned(),
        i => format!("{}", 1_000_000_000 + i),
    };
    Ok(id.parse()?)
}

/// Every job done: success; a job failed (or left unfinished): failure, after the summary.
async fn run(args: Args) -> Result<std::process::ExitCode, Error> {
    let count = args.customers as usize;
    let per_customer = args.operations_per_customer;
    let job_size = args.job_size;
    let fake = (0..count).try_fold(
        FakeServer::builder()
            .batch_capacity(20_000)
            .batch_ops_per_second(20_000),
        |builder, i| fake_customer(i).map(|id| builder.customer(id.to_string())),
    )?;
    let connected = Connected::or_fake(fake, args.customer_id.as_deref()).await?;
    let customers = customers(&connected, args.customer_id.as_deref(), count)?;

    // Locked for the whole run: a second process on the same folder is refused.
    let state_folder = args.state.as_deref().map(StateFolder::open).transpose()?;
    let resume = args.resume;
    if resume {
        connected.check_resumable()?;
    }
    // Names stay the same across a resume (the work must be the same): the suffix is kept
    // in the state's folder.
    let suffix_path = state_folder.as_ref().map(|f| f.path().join("names-suffix"));
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
    let mut work = Vec::new();
    for customer in &customers {
        let ops = operations(*customer, per_customer, &suffix)?;
        work.push(CustomerWork::new(
            *customer,
            OperationSource::from_vec(ops),
        )?);
    }
    let total = per_customer * customers.len() as u64;
    println!(
        "{total} operations for {} accounts, jobs of at most {job_size}",
        customers.len()
    );

    let mut runner = match (&state_folder, resume) {
        (Some(folder), true) => {
            let state = folder.load()?.ok_or_else(|| {
                Error::invalid(
                    "--resume",
                    format!("no state saved in {}", folder.path().display()),
                )
            })?;
            println!("resuming a fleet of {} accounts", state.customers.len());
            FleetRunner::resume(&connected.client, state, work)
        }
        _ => FleetRunner::new(&connected.client, work),
    }
    .with_job_size(job_size);
    // The fake is recognised by what it answers, never by where it listens: every answer of
    // the fake (embedded or `fake_server`) carries the `x-google-ads-fake` response header,
    // which `answers_as_fake` looks for with one ListAccessibleCustomers call. Only then the
    // quick schedule; any other server (the real API, even through a tunnel on loopback) gets
    // the default one, the MutateJobService guide's. A server that cannot be reached stops the
    // run here, with the same error its first job call would have met.
    if answers_as_fake(&connected.client).await? {
        runner = runner
            .with_poll_schedule(PollSchedule::default().with_backoff(
                Duration::from_millis(100),
                1.33,
                Duration::from_secs(1),
            ))
            .with_run_spacing(Duration::from_millis(200));
    }
    if let Some(folder) = state_folder {
        runner = runner.with_state_sink(folder);
    }

    let bars = MultiProgress::new();
    let style = |template: &str| {
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
    };
    let overall = bars.add(ProgressBar::new(total));
    overall.set_style(style("{msg:>22} [{bar:40}] {pos}/{len} results"));
    overall.set_message("all accounts");
    let job_style = style("{msg:>22} [{bar:40}] {pos}/{len}");
    let mut plans: BTreeMap<CustomerId, Vec<(u64, u64)>> = BTreeMap::new();
    let mut running: BTreeMap<(CustomerId, usize), ProgressBar> = BTreeMap::new();
    let mut shown_failures = 0;
    // One Ctrl-C listener for the whole run: a new one per event would miss a signal that
    // arrives while an event is being shown.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let report = loop {
        let event = tokio::select! {
            event = runner.poll() => event?,
            _ = &mut ctrl_c => {
                bars.clear().ok();
                drop(runner);
                println!("stopped: the state is saved; carry on with --resume");
                // 130, the shell's status for a run ended by SIGINT: a cron wrapper must not
                // take a stopped run for a finished one.
                return Ok(std::process::ExitCode::from(130));
            }
        };
        match event {
            FleetEvent::Planned { customer, jobs } => {
                bars.suspend(|| println!("{customer}: {} jobs", jobs.len()));
                plans.insert(customer, jobs);
            }
            FleetEvent::Job {
                customer,
                job,
                event,
            } => {
                let bar = running.entry((customer, job)).or_insert_with(|| {
                    let size = plans
                        .get(&customer)
                        .and_then(|p| p.get(job))
                        .map_or(0, |(a, b)| b - a);
                    let bar = bars.insert_before(&overall, ProgressBar::new(size));
                    bar.set_style(job_style.clone());
                    bar
                });
                match event {
                    Event::Created { job: name } => {
                        bar.set_message(format!("{customer} #{job} created"));
                        bars.suspend(|| {
                            println!("created job {job} of customer {customer}: {name}")
                        });
                    }
                    Event::Uploaded { acknowledged, .. } => {
                        bar.set_message(format!("{customer} #{job} uploaded"));
                        bar.set_position(acknowledged);
                    }
                    Event::Started { .. } => {
                        bar.set_message(format!("{customer} #{job} running"));
                        bar.set_position(0);
                    }
                    Event::Progress(progress) => bar.set_position(progress.executed),
                    _ => {}
                }
            }
            FleetEvent::Results {
                customer,
                job,
                page,
            } => {
                overall.inc(page.outcomes.len() as u64);
                if let Some(bar) = running.get(&(customer, job)) {
                    bar.set_message(format!("{customer} #{job} results"));
                }
                for outcome in &page.outcomes {
                    if let Err(errors) = &outcome.outcome
                        && shown_failures < 5
                    {
                        shown_failures += 1;
                        bars.suspend(|| {
                            println!(
                                "{customer}: operation {} failed: {}",
                                outcome.index, errors[0].message
                            )
                        });
                    }
                }
            }
            FleetEvent::JobDone { customer, job, .. } => {
                if let Some(bar) = running.remove(&(customer, job)) {
                    bar.finish_and_clear();
                    bars.remove(&bar);
                }
            }
            FleetEvent::JobFailed {
                customer,
                job,
                error,
            } => {
                if let Some(bar) = running.remove(&(customer, job)) {
                    bar.finish_and_clear();
                    bars.remove(&bar);
                }
                bars.suspend(|| println!("job {job} of customer {customer} failed: {error}"));
            }
            FleetEvent::Done(report) => break report,
            _ => {}
        }
    };
    overall.finish_with_message("done");
    println!("summary per account:");
    for (customer, account) in &report.customers {
        let summary = account.summary();
        let counts = format!(
            "{} succeeded, {} failed, {} missing",
            summary.succeeded,
            summary.failed_total(),
            summary.missing
        );
        let ended = account
            .jobs
            .iter()
            .filter(|j| matches!(j.result, JobResult::Done(_)))
            .count();
        if ended == account.jobs.len() {
            println!("  {customer}: {counts}");
        } else {
            println!(
                "  {customer}: {counts} in {ended} of {} jobs done",
                account.jobs.len()
            );
        }
    }
    if report.all_done() {
        return Ok(std::process::ExitCode::SUCCESS);
    }
    // The accounts whose jobs did not all end done, each failed job with its error. Resuming
    // from `--state` tries them again.
    println!("failed accounts:");
    for (customer, account) in &report.customers {
        let failed = account.failed();
        let unfinished = account
            .jobs
            .iter()
            .filter(|j| matches!(j.result, JobResult::Unfinished))
            .count();
        if failed.is_empty() && unfinished == 0 {
            continue;
        }
        println!(
            "  {customer}: {} of {} jobs failed, {unfinished} unfinished",
            failed.len(),
            account.jobs.len()
        );
        for (job, error) in failed {
            let error = error.to_string().replace('\n', "\n      ");
            println!("    job {job}: {error}");
        }
    }
    Ok(std::process::ExitCode::FAILURE)
}
