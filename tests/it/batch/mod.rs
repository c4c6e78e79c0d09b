//! The batch-job driver against the fake: outcomes, faults, crashes and resumes, refusals,
//! the polling schedule. What a job holds is asserted on the fake's own record of it.

mod faults;
mod files;
mod fleet;
mod isolation;
mod keepalive;
mod model;
mod outcomes;
mod pacing;
mod resume;
mod rules;
mod sim;
mod stream;

use google_ads::batch::{BatchJobDriver, BatchOutcome, OperationSource, PollSchedule, Summary};
use google_ads::fake::{FakeServer, FakeServerBuilder};
use google_ads::latest::common::{KeywordInfo, TextAsset};
use google_ads::latest::enums::{
    advertising_channel_type_enum::AdvertisingChannelType, asset_field_type_enum::AssetFieldType,
    keyword_match_type_enum::KeywordMatchType,
};
use google_ads::latest::resources::{
    AdGroup, AdGroupCriterion, Asset, AssetGroup, AssetGroupAsset, Campaign, CampaignBudget,
    ad_group_criterion::Criterion, asset::AssetData,
};
use google_ads::latest::services::MutateOperation;
use google_ads::mutate::{Create as _, Operations};
use google_ads::{CustomerId, GoogleAdsClient};
use prost::Message as _;

pub const CID: &str = "1234567890";

/// A fake that runs jobs fast (the clock is paused in most tests: its seconds cost nothing)
/// and a client on it over in-memory pipes, so the paused clock moves only on timers.
pub async fn fake_and_client(builder: FakeServerBuilder) -> (FakeServer, GoogleAdsClient) {
    let fake = builder.start().await.unwrap();
    let client = crate::client_in_memory(&fake);
    (fake, client)
}

pub fn fast_fake() -> FakeServerBuilder {
    FakeServer::builder()
        .batch_ops_per_second(50_000)
        .batch_page_cap(1000)
}

/// Short polls, for the paused clock or a real one.
pub fn quick_polls() -> PollSchedule {
    PollSchedule::default().with_backoff(
        std::time::Duration::from_millis(5),
        1.33,
        std::time::Duration::from_millis(50),
    )
}

/// What the generator plants in a job, by operation index.
#[derive(Default, Debug)]
pub struct Planted {
    /// Budgets that fail (negative amount), and the children failing with them.
    pub failed_budgets: Vec<usize>,
    pub cascaded: Vec<usize>,
    /// The asset group asset that fails, and the rest of its all-or-nothing group.
    pub failed_asset: Option<usize>,
    pub transaction: Vec<usize>,
}

/// Adds a budget -> campaign -> ad group -> `keywords` keywords tree linked by temporary
/// names, all named after `tag`; returns the campaign's and the ad group's names.
pub fn campaign_tree(
    operations: &mut Operations,
    tag: &str,
    budget_micros: i64,
    keywords: usize,
) -> (String, String) {
    let budget = operations
        .create(CampaignBudget {
            name: Some(format!("Budget {tag}")),
            amount_micros: Some(budget_micros),
            ..Default::default()
        })
        .unwrap();
    let campaign = operations
        .create(Campaign {
            name: Some(format!("Campaign {tag}")),
            advertising_channel_type: AdvertisingChannelType::Search as i32,
            campaign_budget: Some(budget.to_string()),
            ..Default::default()
        })
        .unwrap();
    let group = operations
        .create(AdGroup {
            name: Some(format!("Group {tag}")),
            campaign: Some(campaign.to_string()),
            ..Default::default()
        })
        .unwrap();
    for k in 0..keywords {
        operations
            .create(AdGroupCriterion {
                ad_group: Some(group.to_string()),
                criterion: Some(Criterion::Keyword(KeywordInfo {
                    text: Some(format!("keyword {tag} {k}")),
                    match_type: KeywordMatchType::Exact as i32,
                })),
                ..Default::default()
            })
            .unwrap();
    }
    (campaign.to_string(), group.to_string())
}

/// `trees` budget -> campaign -> ad group -> keywords trees (4 + `keywords` operations
/// each), every 7th budget failing (its tree fails with it), and, when `asset_group`, one
/// asset group whose second asset link fails (so its group fails together).
pub fn job_operations(
    trees: usize,
    keywords: usize,
    asset_group: bool,
) -> (Vec<MutateOperation>, Planted) {
    let mut operations = Operations::new(CID).unwrap();
    let mut planted = Planted::default();
    let mut first_campaign = None;
    for t in 0..trees {
        let bad = t % 7 == 3;
        let at = operations.len();
        let micros = if bad { -10_000 } else { 10_000_000 };
        let (campaign, _) = campaign_tree(&mut operations, &t.to_string(), micros, keywords);
        first_campaign.get_or_insert(campaign);
        if bad {
            planted.failed_budgets.push(at);
            planted.cascaded.extend(at + 1..operations.len());
        }
        if asset_group && t == 0 {
            let text = operations
                .create(Asset {
                    name: Some("Headline asset".into()),
                    asset_data: Some(AssetData::TextAsset(TextAsset {
                        text: Some("Mars cruises".into()),
                    })),
                    ..Default::default()
                })
                .unwrap();
            let start = operations.len();
            let asset_group = operations
                .create(AssetGroup {
                    name: "Asset group".into(),
                    campaign: first_campaign.clone().unwrap(),
                    ..Default::default()
                })
                .unwrap();
            operations.push(
                AssetGroupAsset {
                    asset_group: asset_group.to_string(),
                    asset: text.to_string(),
                    field_type: AssetFieldType::Headline as i32,
                    ..Default::default()
                }
                .create_operation(),
            );
            // An asset that does not exist: this link fails, and its group with it.
            operations.push(
                AssetGroupAsset {
                    asset_group: asset_group.to_string(),
                    asset: "customers/1234567890/assets/424242".into(),
                    field_type: AssetFieldType::Description as i32,
                    ..Default::default()
                }
                .create_operation(),
            );
            planted.failed_asset = Some(start + 2);
            planted.transaction = vec![start, start + 1];
        }
    }
    (operations.into_operations(), planted)
}

/// Runs a job to the end and returns every outcome, in order, and the summary.
pub async fn run_to_end(driver: BatchJobDriver) -> (Vec<BatchOutcome>, Summary) {
    let mut outcomes = Vec::new();
    let summary = driver
        .until_done(|page| outcomes.extend(page.outcomes.iter().cloned()))
        .await
        .unwrap();
    (outcomes, summary)
}

/// Checks that `job` holds exactly `sent`, once each, in order: the fake's record, not the
/// driver's word.
pub fn holds_exactly(fake: &FakeServer, job: &str, sent: &[MutateOperation]) -> Result<(), String> {
    let held = fake.batch_job_operations(job).ok_or("no such job")?;
    if held.len() != sent.len() {
        return Err(format!(
            "the job holds {} operations, {} were sent",
            held.len(),
            sent.len()
        ));
    }
    for (i, (h, s)) in held.iter().zip(sent).enumerate() {
        if h.encode_to_vec() != s.encode_to_vec() {
            return Err(format!("operation {i} differs from the one sent"));
        }
    }
    Ok(())
}

/// Each outcome's error code (or OK), for comparing runs.
pub fn codes(outcomes: &[BatchOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match &o.outcome {
            Ok(_) => "OK".to_owned(),
            Err(errors) => errors
                .first()
                .and_then(google_ads::failure::CodeName::of)
                .map_or_else(|| "no code".to_owned(), |c| c.to_string()),
        })
        .collect()
}

/// The job the fake created last.
pub fn job_name(fake: &FakeServer) -> String {
    fake.calls()
        .iter()
        .rev()
        .find(|c| c.method.ends_with("AddBatchJobOperations"))
        .map(|c| {
            c.decode::<google_ads::latest::services::AddBatchJobOperationsRequest>()
                .unwrap()
                .resource_name
        })
        .expect("a job was uploaded to")
}

/// The fake's GAQL reads of `batch_job` that poll running jobs: every read but the one each
/// driver makes of its job just before RunBatchJob (to check the count it holds).
pub fn status_polls(fake: &FakeServer) -> Vec<google_ads::fake::Call> {
    use google_ads::latest::services::{RunBatchJobRequest, SearchGoogleAdsRequest};
    let calls = fake.calls();
    let mut pre_run = std::collections::BTreeSet::new();
    for (i, call) in calls.iter().enumerate() {
        if !call.method.ends_with("RunBatchJob") {
            continue;
        }
        let Ok(run) = call.decode::<RunBatchJobRequest>() else {
            continue;
        };
        // The last read naming only this job before its run.
        if let Some(at) = (0..i).rev().find(|&k| {
            calls[k].method.ends_with("GoogleAdsService/Search")
                && calls[k].decode::<SearchGoogleAdsRequest>().is_ok_and(|r| {
                    r.query.contains(&format!("'{}'", run.resource_name))
                        && r.query.matches("/batchJobs/").count() == 1
                })
        }) {
            pre_run.insert(at);
        }
    }
    calls
        .into_iter()
        .enumerate()
        .filter(|(k, c)| {
            !pre_run.contains(k)
                && c.method.ends_with("GoogleAdsService/Search")
                && c.decode::<SearchGoogleAdsRequest>()
                    .is_ok_and(|r| r.query.contains("FROM batch_job"))
        })
        .map(|(_, c)| c)
        .collect()
}

/// A fleet's state kept in memory as a [`FleetSink`] keeps it (a save is durable once it
/// returned), to read each job's name after a run or resume from after a crash.
#[derive(Clone, Default)]
pub struct Kept(std::sync::Arc<std::sync::Mutex<google_ads::batch::FleetState>>);

impl google_ads::batch::FleetSink for Kept {
    fn save_plan(&mut self, state: &google_ads::batch::FleetState) -> std::io::Result<()> {
        *self.0.lock().unwrap() = state.clone();
        Ok(())
    }

    fn save_job(
        &mut self,
        customer: CustomerId,
        number: usize,
        state: &google_ads::batch::BatchState,
    ) -> std::io::Result<()> {
        let mut kept = self.0.lock().unwrap();
        let job = kept
            .customers
            .get_mut(&customer)
            .and_then(|jobs| jobs.get_mut(number))
            .ok_or_else(|| {
                std::io::Error::other(format!("job {number} of {customer} not planned"))
            })?;
        job.state = Some(state.clone());
        Ok(())
    }

    fn blocking(&self) -> bool {
        false
    }
}

impl Kept {
    /// The state as last saved.
    pub fn state(&self) -> google_ads::batch::FleetState {
        self.0.lock().unwrap().clone()
    }

    /// Job `number` of `customer`'s name, once created.
    pub fn job(&self, customer: &str, number: usize) -> Option<String> {
        let id: CustomerId = customer.parse().unwrap();
        self.0.lock().unwrap().customers.get(&id)?[number]
            .state
            .as_ref()?
            .job
            .clone()
    }
}
