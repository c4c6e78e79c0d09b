//! The seeded simulation: a fleet (1-20 accounts, 1-5 small jobs each) run against the
//! in-process fake under a fault plan and crash points drawn from one seed, checked on the
//! fake's own records.
//!
//! At each crash, in half the seeds, a second runner tries the state of the live one and
//! must be refused (the store holds the files' lock semantics: one runner from open to
//! drop).
//!
//! Deterministic: the fake and the client share one current-thread runtime on tokio's paused
//! clock, connected by the fake's in-memory pipes (a socket wait would let the paused clock
//! jump at moments the kernel decides), the client's jitter and the fake's fault draws are
//! seeded, and the state store is in memory (a save is durable once it returned, as with
//! the files, whose own rules are tested in `files.rs`). The same seed replays the same run.
//!
//! Why not turmoil: it simulates hosts, TCP and a clock of its own; here client and fake
//! already run in one runtime whose paused clock every other test uses, and faults are
//! injected where the API makes them (lost answers, broken connections, quota errors,
//! sequence-token errors, late uploads, bogus results), which a byte-level network cannot
//! express. Pipes and seeds give the determinism turmoil would, without a second clock.
//!
//! What each seed must hold (on the fake's records and the outcomes delivered):
//! - every job the fake ran is a job of the plan, holding its operations exactly once;
//! - every job ends done or failed, a failed one saying why; none panicked;
//! - each operation of a job done gets exactly one outcome at its own index after the last
//!   resume (pages delivered after the last save before a crash come again, as documented);
//! - the run ends before the poll schedule's max wait (24 hours) of simulated time: a hang
//!   is a failing seed;
//! - RunBatchJob of one account at least 2 s apart, at most 100 jobs per account, and no
//!   two jobs of one account that touch the same campaign or ad group running at once.
//!
//! A failing seed prints itself and the command that replays it; `scripts/simulate N` runs
//! N random seeds in release.

use crate::rng::Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use google_ads::CustomerId;
use google_ads::batch::{
    CustomerWork, FleetEvent, FleetRunner, FleetSink, FleetState, JobResult, Stage,
};
use google_ads::fake::Fault;
use tonic::Code;

use super::fleet::{CUSTOMERS, customer_operations, shared_ad_group_keywords};
use super::*;

const CREATE: &str = "BatchJobService/MutateBatchJob";
const UPLOAD: &str = "BatchJobService/AddBatchJobOperations";
const RUN: &str = "BatchJobService/RunBatchJob";
const RESULTS: &str = "BatchJobService/ListBatchJobResults";
const SEARCH: &str = "GoogleAdsService/Search";
const CANCEL: &str = "Operations/CancelOperation";

/// A run still going after the poll schedule's max wait (24 hours of simulated time) hangs.
fn limit() -> Duration {
    quick_polls().max_wait()
}
/// Operations per job (each customer's work is trees of 16).
const JOB_SIZE: u64 = 32;

/// The customers the fake serves: the fleet tests' five, then more of the same form.
fn customer(i: usize) -> String {
    CUSTOMERS
        .get(i)
        .map_or_else(|| format!("{}", 1_000_000_000 + i), |c| (*c).to_owned())
}

/// What one seed runs.
#[derive(Debug)]
struct Plan {
    customers: Vec<String>,
    /// Customer -> jobs; the customers marked shared work on one ad group (their jobs must
    /// run one after another).
    jobs: Vec<u64>,
    shared: Vec<bool>,
    faults: Vec<(&'static str, Fault, f64)>,
    /// A customer whose every RunBatchJob is refused (PERMISSION_DENIED).
    refused: Option<String>,
    /// Events after which the process "crashes" (every task dropped, resumed from the last
    /// saved state).
    crashes: Vec<u64>,
    /// Whether the first resume is tried with one account's source cut short (it must be
    /// refused, naming the account).
    short_resume: bool,
    /// (event, remove or cancel): someone else removes or cancels a created job then.
    meddling: Vec<(u64, bool)>,
    /// Whether a second runner tries the same state at each crash, while the first lives.
    second_runner: bool,
}

fn plan(seed: u64) -> Plan {
    let mut rng = Rng(seed);
    let count = rng.range(1, 20) as usize;
    let customers: Vec<String> = (0..count).map(customer).collect();
    let jobs = customers.iter().map(|_| rng.range(1, 5)).collect();
    let shared = customers.iter().map(|_| rng.chance(25)).collect();
    let mut faults = Vec::new();
    for method in [CREATE, UPLOAD, RUN, RESULTS, SEARCH, CANCEL] {
        if !rng.chance(60) {
            continue;
        }
        let fraction = rng.range(2, 25) as f64 / 100.0;
        let delay = match rng.range(0, 3) {
            0 => Duration::from_secs(1),
            1 => Duration::from_secs(rng.range(2, 60)),
            2 => Duration::from_secs(rng.range(61, 600)),
            _ => Duration::from_secs(rng.range(3600, 40_000)),
        };
        let fault = match (method, rng.range(0, 6)) {
            (_, 0) => Fault::ResetBeforeHandling,
            (_, 1) => Fault::ResetAfterHandling,
            (_, 2) => Fault::Status(Code::Unavailable),
            (_, 3) => Fault::Quota {
                retry_delay: delay,
                developer: false,
            },
            (UPLOAD, 4) => Fault::AdsError {
                code: Code::InvalidArgument,
                category: "batch_job_error",
                name: "INVALID_SEQUENCE_TOKEN",
            },
            (UPLOAD, _) => Fault::LandLate(Duration::from_secs(rng.range(1, 30))),
            (RESULTS, 4) => Fault::RepeatResults,
            (RESULTS, _) => Fault::BogusResultIndex(rng.range(1, 1 << 40) as i64),
            (_, _) => Fault::Latency(Duration::from_secs(rng.range(1, 90))),
        };
        faults.push((method, fault, fraction));
    }
    let refused = rng
        .chance(20)
        .then(|| customers[rng.range(0, count as u64 - 1) as usize].clone());
    let total_jobs: u64 = customers.len() as u64 * 5;
    let crashes = (0..rng.range(0, 3))
        .map(|_| rng.range(1, total_jobs * 8))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let short_resume = rng.chance(20);
    let meddling = (0..rng.range(0, 2))
        .map(|_| (rng.range(1, total_jobs * 8), rng.chance(50)))
        .collect();
    let second_runner = rng.chance(50);
    Plan {
        customers,
        jobs,
        shared,
        faults,
        refused,
        crashes,
        short_resume,
        meddling,
        second_runner,
    }
}

/// What went wrong in one seed.
type Violations = Vec<String>;

/// Runs seed `seed` and returns what it broke (nothing, for a good seed).
async fn run_seed(seed: u64) -> Violations {
    google_ads::fake::seed_jitter(Some(seed));
    let plan = plan(seed);
    let fake = plan
        .customers
        .iter()
        .fold(fast_fake(), |builder, c| builder.customer(c.clone()))
        .start()
        .await
        .unwrap();
    let client = crate::client_in_memory(&fake);
    let mut work: HashMap<String, Vec<MutateOperation>> = HashMap::new();
    for (i, c) in plan.customers.iter().enumerate() {
        let ops = if plan.shared[i] {
            shared_ad_group_keywords(&client, c, (plan.jobs[i] * JOB_SIZE) as usize).await
        } else {
            customer_operations(
                c,
                (plan.jobs[i] * JOB_SIZE / 16) as usize,
                &format!("s{seed}"),
            )
        };
        work.insert(c.clone(), ops);
    }
    for (i, (method, fault, fraction)) in plan.faults.iter().enumerate() {
        fake.inject_sometimes(method, fault.clone(), *fraction, seed ^ (i as u64 + 1));
    }
    if let Some(c) = &plan.refused {
        fake.inject_for(c, RUN, Fault::user_permission_denied(), None);
    }
    let outcome = tokio::time::timeout(limit(), drive(&plan, &fake, &client, &work)).await;
    google_ads::fake::seed_jitter(None);
    let mut violations = Violations::new();
    let (report, delivered, state) = match outcome {
        Err(_) => {
            return vec![format!(
                "hung: not done after {:?} of simulated time",
                limit()
            )];
        }
        Ok(Err(v)) => return v,
        Ok(Ok(ended)) => ended,
    };
    check(
        &plan,
        &fake,
        &work,
        &report,
        &delivered,
        &state,
        &mut violations,
    );
    violations
}

/// The in-memory store with the files' lock: one runner at a time holds it, from `open` until
/// its sink is dropped (the runner lets go of its sink when dropped), as `StateFolder` does.
struct Locked {
    kept: Kept,
    held: Arc<AtomicBool>,
}

impl Locked {
    fn open(kept: &Kept, held: &Arc<AtomicBool>) -> Option<Self> {
        held.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .ok()?;
        Some(Self {
            kept: kept.clone(),
            held: held.clone(),
        })
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        self.held.store(false, Ordering::SeqCst);
    }
}

impl FleetSink for Locked {
    fn save_plan(&mut self, state: &FleetState) -> std::io::Result<()> {
        self.kept.save_plan(state)
    }

    fn save_job(
        &mut self,
        customer: CustomerId,
        number: usize,
        state: &google_ads::batch::BatchState,
    ) -> std::io::Result<()> {
        self.kept.save_job(customer, number, state)
    }

    fn blocking(&self) -> bool {
        false
    }
}

/// Outcomes delivered: (customer, index) -> how many times.
type Delivered = BTreeMap<(CustomerId, u64), u32>;

/// The fleet through its crashes and resumes, to its end.
async fn drive(
    plan: &Plan,
    fake: &FakeServer,
    client: &GoogleAdsClient,
    work: &HashMap<String, Vec<MutateOperation>>,
) -> Result<(google_ads::batch::FleetReport, Delivered, FleetState), Violations> {
    let sources = |short: Option<&str>| -> Vec<CustomerWork> {
        plan.customers
            .iter()
            .map(|c| {
                let mut ops = work[c].clone();
                if short == Some(c.as_str()) {
                    ops.pop();
                }
                CustomerWork::new(c.as_str(), OperationSource::from_vec(ops)).unwrap()
            })
            .collect()
    };
    let kept = Kept::default();
    let held = Arc::new(AtomicBool::new(false));
    let mut delivered = Delivered::new();
    let mut events = 0u64;
    let mut crashes = plan.crashes.iter().copied().peekable();
    let mut meddling = plan.meddling.iter().copied().peekable();
    let mut resumed = false;
    let mut saved: Option<FleetState> = None;
    loop {
        let mut runner = match &saved {
            None => FleetRunner::new(client, sources(None)),
            Some(state) => {
                if plan.short_resume && !resumed {
                    // A changed source is refused before anything is sent, naming the account.
                    let short = state.customers.keys().next().map(|c| c.to_string());
                    let calls = fake.calls().len();
                    let mut wrong = FleetRunner::resume(client, state.clone(), sources(short.as_deref()))
                        .with_job_size(JOB_SIZE)
                        .with_poll_schedule(quick_polls());
                    let refused = loop {
                        match wrong.poll().await {
                            Ok(FleetEvent::Done(_)) => break None,
                            Ok(_) => continue,
                            Err(e) => break Some(e),
                        }
                    };
                    drop(wrong);
                    match (refused, short) {
                        (Some(e), Some(c)) if e.to_string().contains(&c) => {}
                        (refused, short) => {
                            return Err(vec![format!(
                                "a resume with {short:?}'s source cut short was not refused naming it: {refused:?}"
                            )]);
                        }
                    }
                    let sent: Vec<String> = fake.calls()[calls..]
                        .iter()
                        .map(|c| c.method.clone())
                        .filter(|m| m.contains("BatchJobService"))
                        .collect();
                    if !sent.is_empty() {
                        return Err(vec![format!("a refused resume sent {sent:?}")]);
                    }
                }
                resumed = true;
                FleetRunner::resume(client, state.clone(), sources(None))
            }
        }
        .with_job_size(JOB_SIZE)
        .with_chunk_size(8)
        .with_results_page_size(8)
        .with_poll_schedule(quick_polls())
        .with_state_sink(
            Locked::open(&kept, &held)
                .ok_or_else(|| vec!["the state is still held after its runner was dropped".to_owned()])?,
        );
        let crash_at = crashes.next();
        let ended = loop {
            let event = match runner.poll().await {
                Ok(event) => event,
                Err(e) => return Err(vec![format!("the fleet failed: {e}")]),
            };
            events += 1;
            if let FleetEvent::Results { customer, page, .. } = &event {
                for outcome in &page.outcomes {
                    *delivered.entry((*customer, outcome.index)).or_default() += 1;
                }
            }
            if let FleetEvent::Done(report) = event {
                break Some(report);
            }
            while meddling.peek().is_some_and(|(at, _)| *at <= events) {
                let (_, remove) = meddling.next().unwrap();
                let names: Vec<String> = kept
                    .state()
                    .customers
                    .values()
                    .flatten()
                    .filter_map(|j| j.state.as_ref()?.job.clone())
                    .collect();
                if let Some(name) = names.get(events as usize % names.len().max(1)) {
                    if remove {
                        fake.remove_batch_job(name);
                    } else {
                        fake.cancel_batch_job(name);
                    }
                }
            }
            if crash_at.is_some_and(|at| events >= at) {
                break None;
            }
        };
        if let Some(report) = ended {
            drop(runner);
            return Ok((report, delivered, kept.state()));
        }
        if plan.second_runner && Locked::open(&kept, &held).is_some() {
            return Err(vec![
                "a second runner took the state of a live one".to_owned(),
            ]);
        }
        // The crash: everything of this process gone; the next one starts a while later
        // (a real restart is not instant, and pacing is per process) from the last save.
        drop(runner);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let state = kept.state();
        // Pages delivered after the last save of their job come again: only what the saved
        // state acknowledges stays delivered.
        delivered.retain(|(customer, index), _| {
            state.customers.get(customer).is_some_and(|jobs| {
                jobs.iter().any(|job| {
                    (job.start..job.end).contains(index)
                        && job
                            .state
                            .as_ref()
                            .is_some_and(|s| *index < job.start + s.results_delivered)
                })
            })
        });
        saved = Some(state);
    }
}

#[allow(clippy::too_many_arguments)]
fn check(
    plan: &Plan,
    fake: &FakeServer,
    work: &HashMap<String, Vec<MutateOperation>>,
    report: &google_ads::batch::FleetReport,
    delivered: &Delivered,
    state: &FleetState,
    violations: &mut Violations,
) {
    let mut planned_jobs: HashMap<String, (CustomerId, u64, u64)> = HashMap::new();
    for (customer, jobs) in &state.customers {
        for job in jobs {
            if let Some(name) = job.state.as_ref().and_then(|s| s.job.clone()) {
                planned_jobs.insert(name, (*customer, job.start, job.end));
            }
        }
    }
    // Every job the fake ran is a planned job holding exactly its operations.
    let runs = fake.batch_job_runs();
    for run in &runs {
        let Some((customer, start, end)) = planned_jobs.get(&run.job) else {
            violations.push(format!("{} ran but is no job of the state", run.job));
            continue;
        };
        let ops = &work[customer.as_str()][*start as usize..*end as usize];
        if let Err(e) = holds_exactly(fake, &run.job, ops)
            && !run.removed
        {
            violations.push(format!("{}: {e}", run.job));
        }
    }
    // Every job ended; a failed one says why; none panicked; each done job's outcomes once.
    for (customer, account) in &report.customers {
        for (number, job) in account.jobs.iter().enumerate() {
            match &job.result {
                JobResult::Unfinished => {
                    violations.push(format!("job {number} of {customer} unfinished"));
                }
                JobResult::Failed(e) => {
                    let text = e.to_string();
                    if text.is_empty() || text.contains("panicked") {
                        violations.push(format!("job {number} of {customer} failed: {text:?}"));
                    }
                }
                JobResult::Done(_) => {
                    for index in job.start..job.end {
                        let n = delivered.get(&(*customer, index)).copied().unwrap_or(0);
                        if n != 1 {
                            violations.push(format!(
                                "{customer} operation {index} (job {number}) delivered {n} times"
                            ));
                            break;
                        }
                    }
                    let done = state
                        .customers
                        .get(customer)
                        .and_then(|jobs| jobs.get(number))
                        .and_then(|j| j.state.as_ref())
                        .is_some_and(|s| s.stage == Stage::Done);
                    if !done {
                        violations.push(format!(
                            "job {number} of {customer} done but not saved done"
                        ));
                    }
                }
            }
        }
    }
    if report.customers.len() != plan.customers.len() {
        violations.push(format!(
            "{} accounts in the report, {} planned",
            report.customers.len(),
            plan.customers.len()
        ));
    }
    // Pacing and overlap, from the fake's records.
    let mut by_customer: BTreeMap<&str, Vec<&google_ads::fake::BatchJobRun>> = BTreeMap::new();
    for run in &runs {
        by_customer.entry(&run.customer_id).or_default().push(run);
    }
    for (customer, runs) in &by_customer {
        if runs.len() > 100 {
            violations.push(format!("{customer}: {} jobs", runs.len()));
        }
        for pair in runs.windows(2) {
            let gap = pair[1].started.saturating_sub(pair[0].started);
            if gap < Duration::from_secs(2) {
                violations.push(format!(
                    "{customer}: {} run {gap:?} after {}",
                    pair[1].job, pair[0].job
                ));
            }
        }
        for (i, a) in runs.iter().enumerate() {
            for b in &runs[i + 1..] {
                let a_end = a.ended.unwrap_or(Duration::MAX);
                let overlap = b.started < a_end;
                let shared = a.touches.iter().any(|t| b.touches.contains(t));
                if overlap && shared {
                    violations.push(format!(
                        "{customer}: {} and {} ran at once on {:?}",
                        a.job, b.job, a.touches
                    ));
                }
            }
        }
    }
}

/// Runs `seeds`; on a violation, the report names each failing seed and how to replay it.
async fn run_seeds(seeds: impl Iterator<Item = u64>) -> (usize, String) {
    let mut failed = String::new();
    let mut count = 0;
    for seed in seeds {
        count += 1;
        let violations = run_seed(seed).await;
        if !violations.is_empty() {
            let _ = writeln!(
                failed,
                "seed {seed}: {}\n  replay: SIM_SEED={seed} cargo nextest run --all-features --run-ignored only -E 'test(=batch::sim::replay)' --no-capture\n  plan: {:?}",
                violations.join("; "),
                plan(seed)
            );
        }
    }
    (count, failed)
}

/// CI's fixed seeds.
#[tokio::test(start_paused = true)]
async fn fixed_seeds_hold_every_invariant() {
    let (_, failed) = run_seeds(0..SEEDS_IN_CI).await;
    assert!(failed.is_empty(), "{failed}");
}

/// How many seeds CI runs (debug build, about a minute on 2 cores).
const SEEDS_IN_CI: u64 = 60;

/// One seed, `SIM_SEED`, with its plan and every event's outcome (ignored: run it by name).
#[tokio::test(start_paused = true)]
#[ignore = "replays SIM_SEED; see the module docs"]
async fn replay() {
    let seed: u64 = std::env::var("SIM_SEED")
        .expect("SIM_SEED")
        .parse()
        .expect("SIM_SEED is a number");
    println!("seed {seed}: {:?}", plan(seed));
    let violations = run_seed(seed).await;
    assert!(violations.is_empty(), "seed {seed}: {violations:#?}");
}

/// `SIM_SEEDS` random seeds from `SIM_START` (default: from the clock), for
/// `scripts/simulate`.
#[tokio::test(start_paused = true)]
#[ignore = "many seeds, in release: scripts/simulate N"]
async fn random_seeds() {
    let count: u64 = std::env::var("SIM_SEEDS").map_or(1000, |n| n.parse().unwrap());
    let start: u64 = std::env::var("SIM_START").map_or_else(
        |_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        },
        |s| s.parse().unwrap(),
    );
    let wall = std::time::Instant::now();
    let (ran, failed) = run_seeds(start..start.wrapping_add(count)).await;
    println!(
        "simulated {ran} seeds from {start} in {:.1} s: {}",
        wall.elapsed().as_secs_f64(),
        if failed.is_empty() {
            "0 violations"
        } else {
            "violations below"
        }
    );
    assert!(failed.is_empty(), "{failed}");
}

/// The seeds that found bugs, each kept as a test of its own (they failed before the fix).
async fn holds(seed: u64) {
    let violations = run_seed(seed).await;
    assert!(violations.is_empty(), "seed {seed}: {violations:#?}");
}

/// A retried RunBatchJob landed within 2 s of the account's next job (see
/// `fleet::a_retried_run_batch_job_keeps_the_next_job_of_its_account_2_s_away`).
#[tokio::test(start_paused = true)]
async fn seed_2_a_retried_run_stays_2_s_from_the_next() {
    holds(2).await;
}

/// A first, token-less upload landing late filled the place of a later chunk whose answer
/// was lost: the count matched, the job ran holding that chunk's operations twice and the
/// lost one's never (see `isolation::a_late_first_upload_gives_up_its_job_and_never_doubles`).
#[tokio::test(start_paused = true)]
async fn seed_85_a_late_first_upload_never_takes_a_lost_chunks_place() {
    holds(85).await;
}

/// The same, across a crash and resume.
#[tokio::test(start_paused = true)]
async fn seed_155_a_late_first_upload_never_takes_a_lost_chunks_place() {
    holds(155).await;
}
