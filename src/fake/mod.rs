//! An in-memory Google Ads API server for tests and examples (feature `fake`).
//!
//! It speaks real gRPC on loopback, checks requests the way the real service does, keeps
//! resources per customer in memory, and answers with the real status codes and
//! `GoogleAdsFailure` trailers. Tests script faults ([`Fault`]) and read the call log
//! ([`Call`]). Behaviour follows the API notes (mutate, temporary names, batch jobs, errors).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let fake = google_ads::fake::FakeServer::builder().customer("1234567890").start().await?;
//! println!("listening on {}", fake.uri());
//! # Ok(()) }
//! ```

mod batch;
mod date;
mod failure;
mod front;
mod gate;
mod jobs;
mod memory;
mod mutate;
mod query;
mod quota;
mod reflect;
mod search;
mod service;
mod state;
mod store;
mod synthetic;
mod tree;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prost_reflect::DynamicMessage;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use gate::{Call, Fault, TokenCheck, TokenVerifier};
pub use jobs::BatchJobRun;
pub use quota::QuotaRefusal;
pub use tree::FakeAccount;

/// The response header (initial metadata) on every answer of the fake, success or failure,
/// unary or stream; its value is this crate's version. [`answers_as_fake`] looks for it.
pub const FAKE_HEADER: &str = crate::layer::FAKE_MARK;

/// Makes the client's retry and poll jitter on this thread come from a sequence seeded by
/// `seed` (`None`: the system's randomness again). With the paused clock, a current-thread
/// runtime and [`FakeServer::in_memory_channel`], the same seed then replays the same run:
/// every call at the same instant of tokio's clock.
pub fn seed_jitter(seed: Option<u64>) {
    crate::layer::retry::seed_thread_jitter(seed);
}

/// Whether `client`'s server is this fake, by what it answers rather than where it is (the
/// fake behind a tunnel is still the fake; the real API on a loopback tunnel is still the
/// real API): one CustomerService.ListAccessibleCustomers call through the client's channel
/// and layer, and whether its answer carried [`FAKE_HEADER`]. A failure the fake answered
/// is `Ok(true)`; any other failure (no answer, or the real API refusing the call) is the
/// call's error.
pub async fn answers_as_fake(client: &crate::GoogleAdsClient) -> Result<bool, crate::Error> {
    use crate::latest::services::{
        ListAccessibleCustomersRequest, ListAccessibleCustomersResponse,
    };
    let path = http::uri::PathAndQuery::from_static(
        crate::latest::paths::customer_service::LIST_ACCESSIBLE_CUSTOMERS,
    );
    let mut grpc = crate::client::codec::ready(client.channel()).await?;
    let codec = crate::client::codec::SliceCodec::<
        ListAccessibleCustomersRequest,
        ListAccessibleCustomersResponse,
    >::default();
    match grpc
        .unary(
            tonic::Request::new(ListAccessibleCustomersRequest {}),
            path,
            codec,
        )
        .await
    {
        Ok(response) => Ok(response.metadata().contains_key(FAKE_HEADER)),
        Err(status) => {
            let error = crate::Error::from(status);
            match error.status() {
                Some(status) if status.metadata().contains_key(FAKE_HEADER) => Ok(true),
                _ => Err(error),
            }
        }
    }
}

/// Builds a [`FakeServer`].
pub struct FakeServerBuilder {
    addr: SocketAddr,
    customers: Vec<String>,
    developer_token: Option<String>,
    require_login_customer_id: bool,
    verifier: TokenVerifier,
    mutate_step_latency: Duration,
    call_latency: Duration,
    batch: state::BatchModel,
    quota: quota::QuotaModel,
    tls: bool,
}

impl Default for FakeServerBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            customers: Vec::new(),
            developer_token: None,
            require_login_customer_id: false,
            verifier: Arc::new(|_| TokenCheck::Valid),
            mutate_step_latency: Duration::ZERO,
            call_latency: Duration::ZERO,
            batch: state::BatchModel {
                ops_per_second: 1000,
                page_cap: 250,
                capacity: None,
                jobs_per_customer: 100,
            },
            quota: quota::QuotaModel::default(),
            tls: false,
        }
    }
}

impl FakeServerBuilder {
    /// Listen here instead of 127.0.0.1 on a free port.
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Adds an accessible customer (10 digits). Without any, the fake has `1234567890`.
    pub fn customer(mut self, id: impl Into<String>) -> Self {
        self.customers.push(id.into());
        self
    }

    /// Accept only this developer token (by default any non-empty one).
    pub fn developer_token(mut self, token: impl Into<String>) -> Self {
        self.developer_token = Some(token.into());
        self
    }

    /// Fail calls that carry no `login-customer-id`.
    pub fn require_login_customer_id(mut self, yes: bool) -> Self {
        self.require_login_customer_id = yes;
        self
    }

    /// Decide which bearer tokens are accepted.
    pub fn token_verifier(
        mut self,
        verifier: impl Fn(&str) -> TokenCheck + Send + Sync + 'static,
    ) -> Self {
        self.verifier = Arc::new(verifier);
        self
    }

    /// The latency model of GoogleAdsService.Mutate: each run of same-type operations costs
    /// one step of this much (tokio) time, so interleaved types cost more than grouped ones.
    pub fn mutate_step_latency(mut self, step: Duration) -> Self {
        self.mutate_step_latency = step;
        self
    }

    /// Every call waits `latency` (tokio time) after it is logged and before it is answered:
    /// a network and server round trip, for measuring fan-outs (none by default).
    pub fn call_latency(mut self, latency: Duration) -> Self {
        self.call_latency = latency;
        self
    }

    /// How many operations a running batch job executes per second (tokio time); 1000 by
    /// default, so a job's progress can be watched.
    pub fn batch_ops_per_second(mut self, ops: usize) -> Self {
        self.batch.ops_per_second = ops.max(1);
        self
    }

    /// The most results a ListBatchJobResults page holds (250 by default): like the real
    /// service, the fake may return fewer than the page size asked for.
    pub fn batch_page_cap(mut self, cap: usize) -> Self {
        self.batch.page_cap = cap.max(1);
        self
    }

    /// A capacity shared by every running batch job: `ops` operations per second for the
    /// whole server, split evenly among the jobs running, so jobs compete as they would on
    /// the real service; a job never runs faster than
    /// [`batch_ops_per_second`](Self::batch_ops_per_second) either (one job alone does not
    /// take the whole server). Without it, each job runs at that rate.
    /// Two jobs of one customer that touch the same campaign or ad group run at a tenth of
    /// their share while they overlap (the API notes: concurrent jobs on the same objects
    /// slow down).
    pub fn batch_capacity(mut self, ops: usize) -> Self {
        self.batch.capacity = Some(ops.max(1));
        self
    }

    /// The most pending or running jobs a customer may have (100, as the API allows);
    /// creating one more fails with RESOURCE_COUNT_LIMIT_EXCEEDED ACCOUNT_LIMIT.
    pub fn batch_jobs_per_customer(mut self, jobs: usize) -> Self {
        self.batch.jobs_per_customer = jobs;
        self
    }

    /// The developer token's rate: at most `calls` per second (tokio time), a second's worth
    /// at once; calls over it are answered RESOURCE_EXHAUSTED with QuotaError
    /// RESOURCE_TEMPORARILY_EXHAUSTED, scope DEVELOPER, rate name "Requests per developer
    /// token" and the wait until a call may pass, in whole seconds, as `retry_delay` (the
    /// module `quota` says more). No limit by default.
    pub fn developer_rate(mut self, calls: f64) -> Self {
        self.quota.developer_per_second = (calls.is_finite() && calls > 0.0).then_some(calls);
        self
    }

    /// Each account's rate, as [`developer_rate`](Self::developer_rate) but per customer id
    /// and with scope ACCOUNT, rate name "Requests per account".
    pub fn account_rate(mut self, calls: f64) -> Self {
        self.quota.account_per_second = (calls.is_finite() && calls > 0.0).then_some(calls);
        self
    }

    /// The daily operations quota: after `operations` calls in a day of tokio time (each call
    /// counts one), calls are answered RESOURCE_EXHAUSTED with QuotaError RESOURCE_EXHAUSTED,
    /// scope DEVELOPER, rate name "Number of operations for basic access" and the time left
    /// in the day as `retry_delay`.
    pub fn daily_operations(mut self, operations: u64) -> Self {
        self.quota.daily_operations = Some(operations);
        self
    }

    /// Serve TLS with a self-signed certificate made at start, for `localhost` and
    /// 127.0.0.1; [`FakeServer::ca_pem`] hands out the certificate to trust.
    pub fn tls(mut self, yes: bool) -> Self {
        self.tls = yes;
        self
    }

    /// Binds and starts serving in the background.
    pub async fn start(self) -> std::io::Result<FakeServer> {
        let mut customers = self.customers;
        if customers.is_empty() {
            customers.push("1234567890".into());
        }
        if let Some(bad) = customers.iter().find(|c| !gate::is_customer_id(c)) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("customer id {bad:?} is not 10 digits"),
            ));
        }
        let listener = TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(state::State::new(
            gate::GateConfig {
                customers,
                developer_token: self.developer_token,
                require_login_customer_id: self.require_login_customer_id,
                verifier: self.verifier,
            },
            self.mutate_step_latency,
            self.call_latency,
            self.batch,
            self.quota,
        ));
        let (tls, ca_pem) = if self.tls {
            let (config, ca) = self_signed()?;
            (Some(config), Some(ca))
        } else {
            (None, None)
        };
        // Both servers stop when the sender (held by the FakeServer) is dropped.
        let (shutdown, stopped) = watch::channel(());
        let incoming = state::incoming(listener, state.connections.clone());
        let router = service::router(state.clone(), tls).map_err(std::io::Error::other)?;
        let mut stop = stopped.clone();
        tokio::spawn(async move {
            let _ = router
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = stop.changed().await;
                })
                .await;
        });
        let (dialer, pipes) = memory::Dialer::new();
        let incoming = state::incoming_pipes(pipes, state.connections.clone());
        let router = service::router(state.clone(), None).map_err(std::io::Error::other)?;
        let mut stop = stopped;
        tokio::spawn(async move {
            let _ = router
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = stop.changed().await;
                })
                .await;
        });
        Ok(FakeServer {
            addr,
            state,
            shutdown,
            dialer,
            ca_pem,
        })
    }
}

/// A TLS config with a fresh self-signed certificate, and that certificate as PEM.
fn self_signed() -> std::io::Result<(tonic::transport::ServerTlsConfig, String)> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
    let cert = certified.cert.pem();
    let identity =
        tonic::transport::Identity::from_pem(&cert, certified.signing_key.serialize_pem());
    Ok((
        tonic::transport::ServerTlsConfig::new().identity(identity),
        cert,
    ))
}

/// A running fake; stops serving when dropped.
pub struct FakeServer {
    addr: SocketAddr,
    state: Arc<state::State>,
    shutdown: watch::Sender<()>,
    dialer: memory::Dialer,
    ca_pem: Option<String>,
}

impl FakeServer {
    /// Sets up manager trees: `accounts` with their names and statuses, `links` as (manager,
    /// account under it). Each manager that is a customer of this fake then answers
    /// `customer_client` queries as the API does: itself at level 0 and every account below it
    /// at its depth, each once, with name, currency, time zone, status and whether it is a
    /// manager. Calls for an account that is not ENABLED are refused (PERMISSION_DENIED,
    /// CUSTOMER_NOT_ENABLED), as are calls for an account under a manager whose
    /// `login-customer-id` is missing or neither the account nor a manager above it
    /// (USER_PERMISSION_DENIED). An account listed but not a customer
    /// of this fake is one the user cannot reach: every call for it is refused
    /// (USER_PERMISSION_DENIED).
    pub fn account_tree(
        &self,
        accounts: &[FakeAccount],
        links: &[(&str, &str)],
    ) -> Result<(), String> {
        let (rows, trees) = tree::build(accounts, links)?;
        for (manager, clients) in rows {
            if !self.customer_ids().contains(&manager) {
                continue;
            }
            for client in clients {
                self.seed(&manager, "CustomerClient", &client)?;
            }
        }
        *state::lock(&self.state.trees) = trees;
        Ok(())
    }

    /// The calls the quota model refused (RESOURCE_EXHAUSTED answers of
    /// [`FakeServerBuilder::developer_rate`], `account_rate` and `daily_operations`), in
    /// order. Scripted [`Fault::Quota`] answers are not in it.
    pub fn quota_refusals(&self) -> Vec<QuotaRefusal> {
        state::lock(&self.state.quotas).refused()
    }

    /// A builder with the defaults: 127.0.0.1 on a free port, customer `1234567890`.
    pub fn builder() -> FakeServerBuilder {
        FakeServerBuilder::default()
    }

    /// Starts a fake with the defaults.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// Its accessible customers, in the order the builder added them (`1234567890` when it
    /// added none).
    pub fn customer_ids(&self) -> &[String] {
        &self.state.gate.customers
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS.
    pub fn uri(&self) -> String {
        match self.ca_pem {
            Some(_) => format!("https://localhost:{}", self.addr.port()),
            None => format!("http://{}", self.addr),
        }
    }

    /// A channel to this fake whose connections are in-memory pipes, not loopback sockets
    /// (never TLS); give it to [`GoogleAdsClientBuilder::with_channel`](crate::GoogleAdsClientBuilder::with_channel).
    ///
    /// For runs on tokio's paused clock: the clock jumps to the next timer whenever the
    /// runtime has nothing ready, and a task waiting on a socket counts as nothing ready, so
    /// over loopback the transport's own timers can fire at moments the kernel decides. Over
    /// pipes a write wakes its reader at once and time moves only when every task waits on a
    /// timer: the same run replays the same way. Faults that drop connections drop these too.
    pub fn in_memory_channel(&self) -> tonic::transport::Channel {
        self.dialer.channel()
    }

    /// With TLS, the self-signed certificate (PEM) a client must trust.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes the next call of `method` fail or misbehave. `method` is a suffix of the gRPC
    /// path, e.g. `GoogleAdsService/Mutate`.
    pub fn inject(&self, method: &str, fault: Fault) {
        self.inject_times(method, fault, 1);
    }

    /// Like [`inject`](Self::inject), for the next `times` calls.
    pub fn inject_times(&self, method: &str, fault: Fault, times: usize) {
        if times > 0 {
            self.state
                .faults
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add(method, fault, Some(times));
        }
    }

    /// Makes calls of `method` for customer `customer_id` (10 digits) fail or misbehave, the
    /// next `times` of them (`None`: every one from now on); other customers' calls are not
    /// touched. A call's customer is its request's `customer_id`, else the `customers/{id}/`
    /// start of the resource or operation name it carries (RunBatchJob,
    /// AddBatchJobOperations, ListBatchJobResults, GetOperation, CancelOperation...).
    /// A customer's own faults are checked before those of every customer.
    pub fn inject_for(&self, customer_id: &str, method: &str, fault: Fault, times: Option<usize>) {
        self.state
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add_for(Some(customer_id), method, fault, times);
    }

    /// Fires `fault` on about `fraction` (0 to 1) of the calls of `method` from now on,
    /// drawn from a generator seeded with `seed`: the same seed fails the same calls.
    pub fn inject_sometimes(&self, method: &str, fault: Fault, fraction: f64, seed: u64) {
        self.state
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add_sometimes(method, fault, fraction, seed);
    }

    /// The operations batch job `job` (its resource name) holds, in order, as the fake
    /// recorded them: what tests assert on, rather than on a client's word.
    pub fn batch_job_operations(
        &self,
        job: &str,
    ) -> Option<Vec<crate::latest::services::MutateOperation>> {
        state::lock(&self.state.batch).operations_of(job)
    }

    /// Every batch job run so far, in the order RunBatchJob was accepted, with when each
    /// started and ended on tokio's clock: what a test checks pacing and overlap against.
    pub fn batch_job_runs(&self) -> Vec<BatchJobRun> {
        state::lock(&self.state.batch).runs()
    }

    /// Someone else removes batch job `job` (its resource name), whatever its state, even
    /// running: it stops, GAQL no longer reads it, and its RPCs (and its long-running
    /// operation's) answer as for a job that never was. What it already ran stays. Whether
    /// there was such a job.
    pub fn remove_batch_job(&self, job: &str) -> bool {
        batch::remove_job(&self.state, job)
    }

    /// Someone else cancels batch job `job` (its resource name), as CancelOperation on its
    /// long-running operation does: the operations not run yet fail, and the job is DONE at
    /// its next step. Whether the job has such an operation (it has been run); a pending or
    /// unknown job is left as it is.
    pub fn cancel_batch_job(&self, job: &str) -> bool {
        batch::cancel_job(&self.state, job)
    }

    /// Like [`inject`](Self::inject), for every call from now on.
    pub fn inject_always(&self, method: &str, fault: Fault) {
        self.state
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(method, fault, None);
    }

    /// Drops every open connection, as a network failure would.
    pub fn reset_connections(&self) {
        self.state.connections.kill_all();
    }

    /// Makes `FROM campaign` queries for `customer_id` also return `rows` generated rows
    /// (at most 1,000,000,000), never stored: a report source of any size for tests and
    /// benchmarks. Row i has `campaign.id` 9,000,000,000 + i, `campaign.name` `Synthetic
    /// campaign #` and i in 9 digits, `campaign.status` ENABLED (PAUSED every fifth),
    /// `campaign.advertising_channel_type` SEARCH, `metrics.clicks`, `metrics.impressions`,
    /// `metrics.cost_micros` and `segments.date` (January 2026) varying with i. Queries that
    /// neither filter nor sort get them in order, after the store's campaigns, from batches
    /// encoded once (SearchStream sends 10,000 rows per message, as the API does).
    pub fn synthetic_campaigns(&self, customer_id: &str, rows: usize) {
        self.state
            .synthetic_campaigns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(customer_id.to_owned(), rows.min(synthetic::MAX_ROWS));
    }

    /// Bytes of SearchStream messages the fake's transport has taken so far, over all calls:
    /// what a client could have buffered at most.
    pub fn streamed_bytes(&self) -> u64 {
        self.state
            .streamed_bytes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Puts `resource`, a resource of type `message` (e.g. `LocalServicesLead`) with its
    /// `resource_name` set, in `customer_id`'s store as it is: for resources no mutate
    /// creates (leads, the customer's own settings), so a test's queries read them.
    pub fn seed<R: prost::Message>(
        &self,
        customer_id: &str,
        message: &str,
        resource: &R,
    ) -> Result<(), String> {
        let name = reflect::full(&format!("resources.{message}"));
        let descriptor = reflect::api()
            .pool
            .get_message_by_name(&name)
            .ok_or_else(|| format!("{message}: no such resource in the API"))?;
        let dynamic = DynamicMessage::decode(descriptor, resource.encode_to_vec().as_slice())
            .map_err(|e| format!("{message}: not a {message}: {e}"))?;
        let resource_name = dynamic
            .get_field_by_name("resource_name")
            .and_then(|v| v.as_str().map(str::to_owned))
            .filter(|n| n.starts_with(&format!("customers/{customer_id}/")))
            .ok_or_else(|| {
                format!("{message}: resource_name must be set, under customers/{customer_id}/")
            })?;
        let mut store = self.state.store.lock().unwrap_or_else(|e| e.into_inner());
        let data = store
            .get_mut(customer_id)
            .ok_or_else(|| format!("{customer_id} is not a customer of this fake"))?;
        data.insert(resource_name, dynamic);
        Ok(())
    }

    /// How many resources of `message` (e.g. `Campaign`) `customer_id` has.
    pub fn count(&self, customer_id: &str, message: &str) -> usize {
        let name = reflect::full(&format!("resources.{message}"));
        let store = self.state.store.lock().unwrap_or_else(|e| e.into_inner());
        store
            .get(customer_id)
            .map_or(0, |c| c.of_type(&name).count())
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(());
        self.state.connections.kill_all();
    }
}
