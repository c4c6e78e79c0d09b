//! One side of the batch benchmark (scripts/bench-batch runs each side in a process of its
//! own, against the fake in another): a job of N operations uploaded, run and read back,
//! printing one line `side operations upload_s results_s check_s peak_rss_kib failed`.
//!
//! Sides:
//! - `driver`: `BatchJobDriver` (checks the source, uploads in calls of 1,000 encoded once,
//!   polls, reads pages of 1,000 into outcomes).
//! - `raw`: a hand-written loop over the generated stubs doing the same RPCs: create, upload
//!   calls of 1,000 (operations built beforehand, moved in), run, the same polls, pages of
//!   1,000 until the last.
//! - `rss`: the driver over N operations generated as they are read (nothing held), for the
//!   peak memory of the driver's process.
//!
//! Run with: cargo bench --bench batch_throughput --features fake,raw-clients -- SIDE ENDPOINT N TAG
//!
//! The fleet (scripts/bench-fleet):
//! - `fleet-model CUSTOMERS N MAX_RUNNING CAPACITY PER_JOB`: a fake in this process on
//!   tokio's paused clock (the model's clock), CUSTOMERS customers of N operations each, run
//!   by `FleetRunner` with the API's pacing and poll schedule, then the same jobs one after
//!   another by `BatchJobDriver`; prints both elapsed times on the model's clock and the ideal
//!   schedule's.
//! - `fleet-rss ENDPOINT CUSTOMERS N`: the fleet against a fake in another process, every
//!   customer's operations generated as they are read; prints the process's peak RSS.
//! - `fleet-saves CUSTOMERS JOBS OPERATIONS_PER_JOB FOLDER`: the same fleet three times on
//!   the paused clock, its state saved in FOLDER by a `StateFolder` (the plan, then one job's
//!   state per save, durable), by a sink writing the whole fleet state durably at every save,
//!   and by one writing it as the crate did before (`<file>.tmp`, renamed, no fsync); prints
//!   saves, bytes written per save and the time spent saving for each.

mod common;
use common::peak_rss_kib;

use std::time::{Duration, Instant};

use google_ads::batch::{
    BatchJobDriver, CustomerWork, Event, FleetRunner, OperationSource, PollSchedule,
};
use google_ads::fake::FakeServer;
use google_ads::latest::common::KeywordInfo;
use google_ads::latest::enums::{
    advertising_channel_type_enum::AdvertisingChannelType,
    keyword_match_type_enum::KeywordMatchType,
};
use google_ads::latest::resources::{
    AdGroup, AdGroupCriterion, Campaign, CampaignBudget, ad_group_criterion::Criterion,
};
use google_ads::latest::services::{
    AddBatchJobOperationsRequest, BatchJobOperation, ListBatchJobResultsRequest,
    MutateBatchJobRequest, MutateOperation, RunBatchJobRequest, batch_job_operation,
};
use google_ads::mutate::{Create as _, Operations};
use google_ads::{Config, GoogleAdsClient};

const CUSTOMER: &str = "1234567890";
const CHUNK: usize = 1000;

fn schedule() -> PollSchedule {
    PollSchedule::default().with_backoff(Duration::from_millis(200), 1.33, Duration::from_secs(2))
}

/// Budget and campaign pairs linked by temporary names: `n` operations.
fn pairs(n: usize, tag: &str) -> Vec<MutateOperation> {
    let mut operations = Operations::new(CUSTOMER).unwrap();
    for i in 0..n / 2 {
        let budget = operations
            .create(CampaignBudget {
                name: Some(format!("Budget {tag} {i}")),
                amount_micros: Some(10_000_000),
                ..Default::default()
            })
            .unwrap();
        operations
            .create(Campaign {
                name: Some(format!("Campaign {tag} {i}")),
                advertising_channel_type: AdvertisingChannelType::Search as i32,
                campaign_budget: Some(budget.to_string()),
                ..Default::default()
            })
            .unwrap();
    }
    operations.into_operations()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("fleet-saves") {
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()?
            .block_on(fleet_saves(&args[1..]));
    }
    if args.first().map(String::as_str) == Some("fleet-model") {
        // The model's clock: tokio's, paused, so the fleet's minutes of polling cost nothing.
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()?
            .block_on(fleet_model(&args[1..]));
    }
    tokio::runtime::Runtime::new()?.block_on(single(args))
}

fn client_at(endpoint: &str) -> Result<GoogleAdsClient, google_ads::Error> {
    let config = Config::builder()
        .with_access_token("bench")
        .with_developer_token("bench")
        .with_endpoint(endpoint)
        .build()?;
    GoogleAdsClient::builder(config).build()
}

/// A client on the in-process `fake` over in-memory pipes: on the paused clock a socket wait
/// lets time jump to the next timer (a run over loopback stopped once with a broken
/// connection); pipes keep the model's clock moving only on timers.
fn client_in_memory(fake: &FakeServer) -> Result<GoogleAdsClient, google_ads::Error> {
    let config = Config::builder()
        .with_access_token("bench")
        .with_developer_token("bench")
        .build()?;
    GoogleAdsClient::builder(config)
        .with_channel(fake.in_memory_channel())
        .build()
}

async fn single(args: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    if let [side, endpoint, customers, n] = args.as_slice()
        && side == "fleet-rss"
    {
        return fleet_rss(&client_at(endpoint)?, customers.parse()?, n.parse()?).await;
    }
    let [side, endpoint, n, tag] = args.as_slice() else {
        return Err("usage: SIDE ENDPOINT N TAG".into());
    };
    let n: usize = n.parse()?;
    let client = client_at(endpoint)?;
    let (upload, results, check, failed) = match side.as_str() {
        "driver" => driver(&client, OperationSource::from_vec(pairs(n, tag))).await?,
        "raw" => raw(&client, pairs(n, tag)).await?,
        "rss" => rss(&client, n, tag).await?,
        other => return Err(format!("unknown side {other:?}").into()),
    };
    println!(
        "{side} {n} {:.3} {:.3} {:.3} {} {failed}",
        upload.as_secs_f64(),
        results.as_secs_f64(),
        check.as_secs_f64(),
        peak_rss_kib()
    );
    Ok(())
}

/// The fake's customers: 1234567890, then 1000000001, 1000000002...
fn customer(i: usize) -> String {
    match i {
        0 => CUSTOMER.to_owned(),
        i => format!("{}", 1_000_000_000 + i),
    }
}

/// `n` operations for `customer`: trees of a budget, a campaign, an ad group and 17 keywords
/// linked by temporary names.
fn trees(customer: &str, n: usize) -> Vec<MutateOperation> {
    let mut operations = Operations::new(customer).unwrap();
    let mut t = 0;
    while operations.len() < n {
        let budget = operations
            .create(CampaignBudget {
                name: Some(format!("Budget {t}")),
                amount_micros: Some(10_000_000),
                ..Default::default()
            })
            .unwrap();
        let campaign = operations
            .create(Campaign {
                name: Some(format!("Campaign {t}")),
                advertising_channel_type: AdvertisingChannelType::Search as i32,
                campaign_budget: Some(budget.to_string()),
                ..Default::default()
            })
            .unwrap();
        let group = operations
            .create(AdGroup {
                name: Some(format!("Group {t}")),
                campaign: Some(campaign.to_string()),
                ..Default::default()
            })
            .unwrap();
        for k in 0..17.min(n - operations.len()) {
            operations
                .create(AdGroupCriterion {
                    ad_group: Some(group.to_string()),
                    criterion: Some(Criterion::Keyword(KeywordInfo {
                        text: Some(format!("keyword {t} {k}")),
                        match_type: KeywordMatchType::Exact as i32,
                    })),
                    ..Default::default()
                })
                .unwrap();
        }
        t += 1;
    }
    operations.into_operations()
}

/// The fleet and the same jobs one after another, on the model's clock, against the ideal
/// schedule: every job running from the start at its share of the capacity, its end seen
/// at the first poll of the guide's schedule (30 s x 1.33^n) after it.
async fn fleet_model(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [customers, n, max_running, capacity, per_job] = args else {
        return Err("usage: fleet-model CUSTOMERS N MAX_RUNNING CAPACITY PER_JOB".into());
    };
    let (customers, n): (usize, usize) = (customers.parse()?, n.parse()?);
    let (max_running, capacity, per_job): (usize, usize, usize) =
        (max_running.parse()?, capacity.parse()?, per_job.parse()?);
    let fake = (0..customers)
        .fold(FakeServer::builder(), |b, i| b.customer(customer(i)))
        .batch_capacity(capacity)
        .batch_ops_per_second(per_job)
        .batch_page_cap(1000)
        .start()
        .await?;
    // FLEET_MODEL_TCP=1: over loopback TCP instead, to compare (issue 19 case 8).
    let client = if std::env::var_os("FLEET_MODEL_TCP").is_some() {
        client_at(&fake.uri())?
    } else {
        client_in_memory(&fake)?
    };
    let work: Vec<Vec<MutateOperation>> = (0..customers).map(|i| trees(&customer(i), n)).collect();

    let wall = Instant::now();
    let started = tokio::time::Instant::now();
    let runner = FleetRunner::new(
        &client,
        work.iter()
            .enumerate()
            .map(|(i, ops)| CustomerWork::new(customer(i), OperationSource::from_vec(ops.clone())))
            .collect::<Result<_, _>>()?,
    )
    .with_max_running(max_running)
    // The guide's schedule, which the ideal below is reckoned with: left on the default, work
    // on this crate's fake polls every 100 ms (`PollSchedule::local`).
    .with_poll_schedule(PollSchedule::default());
    let mut outcomes = 0u64;
    let summaries = runner
        .until_done(|_, page| outcomes += page.outcomes.len() as u64)
        .await?
        .summaries();
    let fleet = started.elapsed();
    let fleet_wall = wall.elapsed();
    // The fleet's calls by method, from the fake's log: over pipes the same every run; a
    // broken call that was sent again or reconciled shows as more.
    let mut calls: std::collections::BTreeMap<String, usize> = Default::default();
    for call in fake.calls() {
        let method = call
            .method
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        *calls.entry(method).or_default() += 1;
    }
    let failed: u64 = summaries
        .values()
        .map(|s| s.failed_total() + s.missing)
        .sum();

    // The same jobs one after another: each runs alone, at the per-job rate.
    let wall = Instant::now();
    let started = tokio::time::Instant::now();
    for (i, ops) in work.into_iter().enumerate() {
        let driver = BatchJobDriver::new(&client, customer(i), OperationSource::from_vec(ops))?
            .with_poll_schedule(PollSchedule::default());
        driver.until_done(|_| {}).await?;
    }
    let sequential = started.elapsed();
    let sequential_wall = wall.elapsed();

    // The ideal: all jobs run from the start, sharing the capacity.
    let total = (customers * n) as f64;
    let rate = capacity.min(customers * per_job) as f64;
    let finish = total / rate;
    let schedule = PollSchedule::default();
    let (mut seen, mut polls) = (0.0, 0);
    while seen < finish {
        seen += schedule.delay(polls).as_secs_f64();
        polls += 1;
    }
    println!(
        "customers {customers} operations {n} max_running {max_running} capacity {capacity} \
         per_job {per_job}: fleet {:.1} s (wall {:.1} s, {outcomes} outcomes, {failed} not ok), \
         sequential {:.1} s (wall {:.1} s), ideal {seen:.1} s (capacity bound {finish:.1} s), \
         fleet/ideal {:.3}, sequential/fleet {:.2}; fleet calls {calls:?}",
        fleet.as_secs_f64(),
        fleet_wall.as_secs_f64(),
        sequential.as_secs_f64(),
        sequential_wall.as_secs_f64(),
        fleet.as_secs_f64() / seen,
        sequential.as_secs_f64() / fleet.as_secs_f64(),
    );
    Ok(())
}

/// The fleet over `customers` customers of `n` budgets each, generated as they are read; the
/// process's peak RSS.
async fn fleet_rss(
    client: &GoogleAdsClient,
    customers: usize,
    n: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let work = (0..customers)
        .map(|i| {
            let source = OperationSource::reopenable(move || {
                (0..n).map(move |k| {
                    CampaignBudget {
                        name: Some(format!("RSS budget {i} {k}")),
                        amount_micros: Some(10_000_000),
                        ..Default::default()
                    }
                    .create_operation()
                    .into()
                })
            });
            CustomerWork::new(customer(i), source)
        })
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    let runner = FleetRunner::new(client, work)
        .with_max_running(customers)
        .with_poll_schedule(schedule());
    let mut outcomes = 0u64;
    runner
        .until_done(|_, page| outcomes += page.outcomes.len() as u64)
        .await?;
    println!(
        "fleet-rss customers {customers} operations {n} outcomes {outcomes} wall {:.1} s peak_rss_kib {}",
        started.elapsed().as_secs_f64(),
        peak_rss_kib()
    );
    Ok(())
}

/// The driver, timed by stage from its events.
async fn driver(
    client: &GoogleAdsClient,
    source: OperationSource,
) -> Result<(Duration, Duration, Duration, u64), google_ads::Error> {
    let mut driver = BatchJobDriver::new(client, CUSTOMER, source)?.with_poll_schedule(schedule());
    let started = Instant::now();
    let (mut check, mut upload_started, mut upload, mut results_started) = (None, None, None, None);
    let mut failed = 0;
    loop {
        let event = driver.poll().await?;
        match event {
            Event::Validated { .. } => check = Some(started.elapsed()),
            Event::Created { .. } => upload_started = Some(Instant::now()),
            Event::UploadFinished { .. } => {
                upload = upload_started.map(|s| s.elapsed());
            }
            Event::Progress(p)
                if p.status
                    == google_ads::latest::enums::batch_job_status_enum::BatchJobStatus::Done =>
            {
                results_started = Some(Instant::now());
            }
            Event::Results(page) => {
                failed += page.outcomes.iter().filter(|o| o.outcome.is_err()).count() as u64;
            }
            Event::Done(_) => break,
            _ => {}
        }
    }
    let results = results_started.map_or(Duration::ZERO, |s| s.elapsed());
    Ok((
        upload.unwrap_or_default(),
        results,
        check.unwrap_or_default(),
        failed,
    ))
}

/// The same RPCs by hand over the generated stubs.
async fn raw(
    client: &GoogleAdsClient,
    mut operations: Vec<MutateOperation>,
) -> Result<(Duration, Duration, Duration, u64), google_ads::Error> {
    let mut jobs = client.batch_job().raw();
    let job = jobs
        .mutate_batch_job(MutateBatchJobRequest {
            customer_id: CUSTOMER.into(),
            operation: Some(BatchJobOperation {
                operation: Some(batch_job_operation::Operation::Create(Default::default())),
            }),
        })
        .await
        .map_err(google_ads::Error::from)?
        .into_inner()
        .result
        .unwrap_or_default()
        .resource_name;
    let started = Instant::now();
    let mut token = String::new();
    while !operations.is_empty() {
        let chunk: Vec<MutateOperation> = operations.drain(..CHUNK.min(operations.len())).collect();
        token = jobs
            .add_batch_job_operations(AddBatchJobOperationsRequest {
                resource_name: job.clone(),
                sequence_token: token,
                mutate_operations: chunk,
            })
            .await
            .map_err(google_ads::Error::from)?
            .into_inner()
            .next_sequence_token;
    }
    let upload = started.elapsed();
    jobs.run_batch_job(RunBatchJobRequest {
        resource_name: job.clone(),
    })
    .await
    .map_err(google_ads::Error::from)?;
    let customer = CUSTOMER.parse()?;
    let mut polls = 0;
    loop {
        tokio::time::sleep(schedule().delay(polls)).await;
        polls += 1;
        let status = google_ads::batch::job_statuses(client, customer, &[&job]).await?;
        if status.first().is_some_and(|s| {
            s.status == google_ads::latest::enums::batch_job_status_enum::BatchJobStatus::Done
        }) {
            break;
        }
    }
    let started = Instant::now();
    let (mut page_token, mut failed) = (String::new(), 0u64);
    loop {
        let page = jobs
            .list_batch_job_results(ListBatchJobResultsRequest {
                resource_name: job.clone(),
                page_token,
                page_size: CHUNK as i32,
                response_content_type: 0,
            })
            .await
            .map_err(google_ads::Error::from)?
            .into_inner();
        failed += page
            .results
            .iter()
            .filter(|r| r.status.as_ref().is_some_and(|s| s.code != 0))
            .count() as u64;
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok((upload, started.elapsed(), Duration::ZERO, failed))
}

/// The driver over `n` keywords of one ad group, generated as they are read.
async fn rss(
    client: &GoogleAdsClient,
    n: usize,
    tag: &str,
) -> Result<(Duration, Duration, Duration, u64), google_ads::Error> {
    let mut setup = Operations::new(CUSTOMER)?;
    let budget = setup.create(CampaignBudget {
        name: Some(format!("RSS budget {tag}")),
        amount_micros: Some(10_000_000),
        ..Default::default()
    })?;
    let campaign = setup.create(Campaign {
        name: Some(format!("RSS campaign {tag}")),
        advertising_channel_type: AdvertisingChannelType::Search as i32,
        campaign_budget: Some(budget.to_string()),
        ..Default::default()
    })?;
    setup.create(AdGroup {
        name: Some(format!("RSS group {tag}")),
        campaign: Some(campaign.to_string()),
        ..Default::default()
    })?;
    let group = client.mutate(setup).send().await?.resource_names()[2]
        .unwrap_or_default()
        .to_owned();
    let source = OperationSource::reopenable(move || {
        let group = group.clone();
        (0..n).map(move |i| {
            AdGroupCriterion {
                ad_group: Some(group.clone()),
                criterion: Some(Criterion::Keyword(KeywordInfo {
                    text: Some(format!("keyword {i}")),
                    match_type: KeywordMatchType::Exact as i32,
                })),
                ..Default::default()
            }
            .create_operation()
            .into()
        })
    });
    driver(client, source).await
}

/// What a sink wrote: saves, bytes, time inside the saves (wall clock).
#[derive(Default)]
struct SaveStats {
    saves: u64,
    bytes: u64,
    time: Duration,
}

/// How the fleet's state is written in `fleet-saves`.
enum SaveWay {
    /// The crate's `StateFolder`: the plan, then one job's file per save.
    PerJob(google_ads::batch::StateFolder),
    /// The whole state in one file at every save, written durably.
    WholeDurable(std::path::PathBuf, google_ads::batch::FleetState),
    /// The whole state at every save, as the crate wrote it before: `<file>.tmp`, renamed.
    WholeBefore(std::path::PathBuf, google_ads::batch::FleetState),
}

struct Measured {
    way: SaveWay,
    stats: std::sync::Arc<std::sync::Mutex<SaveStats>>,
}

impl Measured {
    fn record(&self, started: Instant, bytes: u64) {
        let mut stats = self.stats.lock().unwrap();
        stats.saves += 1;
        stats.bytes += bytes;
        stats.time += started.elapsed();
    }

    /// The whole state to `path`: durably (unique temporary file, fsync, rename, folder
    /// fsync, as the crate's own files) or as before.
    fn write_whole(
        path: &std::path::Path,
        state: &google_ads::batch::FleetState,
        durable: bool,
    ) -> std::io::Result<u64> {
        use std::io::Write as _;
        let bytes = serde_json::to_vec(state).map_err(std::io::Error::other)?;
        let folder = path.parent().unwrap_or(std::path::Path::new("."));
        if durable {
            let temporary = folder.join(format!(".whole.{}.tmp", std::process::id()));
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&temporary, path)?;
            std::fs::File::open(folder)?.sync_all()?;
        } else {
            let mut temporary = path.as_os_str().to_owned();
            temporary.push(".tmp");
            std::fs::write(&temporary, &bytes)?;
            std::fs::rename(&temporary, path)?;
        }
        Ok(bytes.len() as u64)
    }
}

impl google_ads::batch::FleetSink for Measured {
    fn save_plan(&mut self, state: &google_ads::batch::FleetState) -> std::io::Result<()> {
        let started = Instant::now();
        let bytes = match &mut self.way {
            SaveWay::PerJob(folder) => {
                folder.save_plan(state)?;
                std::fs::metadata(folder.path().join("plan.json"))?.len()
            }
            SaveWay::WholeDurable(path, whole) => {
                *whole = state.clone();
                Self::write_whole(path, whole, true)?
            }
            SaveWay::WholeBefore(path, whole) => {
                *whole = state.clone();
                Self::write_whole(path, whole, false)?
            }
        };
        self.record(started, bytes);
        Ok(())
    }

    fn save_job(
        &mut self,
        customer: google_ads::CustomerId,
        number: usize,
        state: &google_ads::batch::BatchState,
    ) -> std::io::Result<()> {
        let started = Instant::now();
        let set = |whole: &mut google_ads::batch::FleetState| {
            if let Some(job) = whole
                .customers
                .get_mut(&customer)
                .and_then(|j| j.get_mut(number))
            {
                job.state = Some(state.clone());
            }
        };
        let bytes = match &mut self.way {
            SaveWay::PerJob(folder) => {
                folder.save_job(customer, number, state)?;
                std::fs::metadata(
                    folder
                        .path()
                        .join("jobs")
                        .join(format!("{customer}-{number}.json")),
                )?
                .len()
            }
            SaveWay::WholeDurable(path, whole) => {
                set(whole);
                Self::write_whole(path, whole, true)?
            }
            SaveWay::WholeBefore(path, whole) => {
                set(whole);
                Self::write_whole(path, whole, false)?
            }
        };
        self.record(started, bytes);
        Ok(())
    }
}

async fn fleet_saves(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [customers, jobs, per_job, folder] = args else {
        return Err("usage: fleet-saves CUSTOMERS JOBS OPERATIONS_PER_JOB FOLDER".into());
    };
    let (customers, jobs, per_job): (usize, usize, usize) =
        (customers.parse()?, jobs.parse()?, per_job.parse()?);
    let folder = std::path::PathBuf::from(folder);
    for way in ["per-job", "whole-durable", "whole-before"] {
        let fake = (0..customers)
            .fold(FakeServer::builder(), |b, i| b.customer(customer(i)))
            .batch_ops_per_second(100_000)
            .batch_page_cap(1000)
            .start()
            .await?;
        let client = client_in_memory(&fake)?;
        let place = folder.join(way);
        let _ = std::fs::remove_dir_all(&place);
        std::fs::create_dir_all(&place)?;
        let sink_way = match way {
            "per-job" => {
                SaveWay::PerJob(google_ads::batch::StateFolder::open(place.join("state"))?)
            }
            "whole-durable" => SaveWay::WholeDurable(place.join("fleet.json"), Default::default()),
            _ => SaveWay::WholeBefore(place.join("fleet.json"), Default::default()),
        };
        let stats = std::sync::Arc::new(std::sync::Mutex::new(SaveStats::default()));
        let work = (0..customers)
            .map(|i| {
                let ops = trees(&customer(i), jobs * per_job);
                CustomerWork::new(customer(i), OperationSource::from_vec(ops))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let wall = Instant::now();
        FleetRunner::new(&client, work)
            .with_job_size(per_job as u64)
            .with_max_running(customers * jobs)
            .with_chunk_size(100)
            .with_results_page_size(100)
            .with_run_spacing(Duration::from_millis(200))
            .with_poll_schedule(schedule())
            .with_state_sink(Measured {
                way: sink_way,
                stats: stats.clone(),
            })
            .until_done(|_, _| {})
            .await?;
        let stats = stats.lock().unwrap();
        println!(
            "{way}: {customers} customers x {jobs} jobs of {per_job}: {} saves, {:.0} bytes per save ({} in all), {:.2} s saving ({:.3} ms per save), run {:.1} s wall",
            stats.saves,
            stats.bytes as f64 / stats.saves.max(1) as f64,
            stats.bytes,
            stats.time.as_secs_f64(),
            stats.time.as_secs_f64() * 1000.0 / stats.saves.max(1) as f64,
            wall.elapsed().as_secs_f64(),
        );
    }
    Ok(())
}
