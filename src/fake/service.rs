//! The gRPC services of the fake: shared state, the connection tracker, and the handlers.

use std::collections::HashMap;
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage, Value};
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Request, Response, Status};

use super::failure::{self, AdsError};
use super::gate::{self, Call, Entry, Fault, Faults, GateConfig};
use super::memory::MemoryStream;
use super::mutate::{self, OpIn, OpResult};
use super::reflect::{self, full};
use super::store::CustomerData;
use crate::latest::services;

pub(crate) struct State {
    pub gate: GateConfig,
    pub calls: Mutex<Vec<Call>>,
    /// When the fake started, on tokio's clock: calls are stamped relative to it.
    pub started: tokio::time::Instant,
    pub faults: Mutex<Faults>,
    pub store: Mutex<HashMap<String, CustomerData>>,
    pub connections: Connections,
    pub mutate_step_latency: Duration,
    pub batch: Mutex<super::batch::Jobs>,
    /// Operations a running batch job executes per second of tokio time.
    pub batch_model: BatchModel,

    /// Customer -> how many generated campaigns `FROM campaign` queries also return.
    pub synthetic_campaigns: Mutex<HashMap<String, usize>>,
    /// (customer, SELECT list) -> the synthetic source's encoded batch.
    pub templates: Mutex<super::synthetic::Templates>,
    /// Bytes of SearchStream messages the transport has taken, over all calls.
    pub streamed_bytes: std::sync::atomic::AtomicU64,
}

impl State {
    pub fn new(gate: GateConfig, mutate_step_latency: Duration, batch_model: BatchModel) -> Self {
        let store = gate
            .customers
            .iter()
            .map(|c| (c.clone(), CustomerData::default()))
            .collect();
        Self {
            gate,
            calls: Mutex::default(),
            started: tokio::time::Instant::now(),
            faults: Mutex::default(),
            store: Mutex::new(store),
            connections: Connections::default(),
            mutate_step_latency,
            batch: Mutex::default(),
            batch_model,
            synthetic_campaigns: Mutex::default(),
            templates: Mutex::default(),
            streamed_bytes: Default::default(),
        }
    }
}

/// How batch jobs run in the fake.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchModel {
    /// Operations a running job executes per second of tokio time (without `capacity`).
    pub ops_per_second: usize,
    /// The most results one ListBatchJobResults page holds, whatever the page size asked.
    pub page_cap: usize,
    /// Operations per second for the whole server, shared by the running jobs.
    pub capacity: Option<usize>,
    /// The most pending or running jobs per customer.
    pub jobs_per_customer: usize,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A handler that panicked cannot leave the store half-written (operations check before
    // they write), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every accepted connection, loopback socket or in-memory pipe, so a test (or a fault) can
/// drop them all at once, or the one a call came on.
#[derive(Clone, Default)]
pub(crate) struct Connections(Arc<Mutex<Vec<Tracked>>>);

enum Tracked {
    Socket(std::net::TcpStream),
    Pipe(SocketAddr, Arc<super::memory::Kill>),
}

impl Tracked {
    fn peer(&self) -> Option<SocketAddr> {
        match self {
            Tracked::Socket(stream) => stream.peer_addr().ok(),
            Tracked::Pipe(peer, _) => Some(*peer),
        }
    }

    fn kill(&self) {
        match self {
            Tracked::Socket(stream) => {
                let _ = stream.shutdown(Shutdown::Both);
            }
            Tracked::Pipe(_, kill) => kill.kill(),
        }
    }
}

impl Connections {
    pub fn kill_all(&self) {
        for connection in lock(&self.0).drain(..) {
            connection.kill();
        }
    }

    /// Drops the connection of the client at `peer`.
    pub fn kill(&self, peer: SocketAddr) {
        lock(&self.0).retain(|connection| {
            if connection.peer() != Some(peer) {
                return true;
            }
            connection.kill();
            false
        });
    }

    fn track(&self, stream: tokio::net::TcpStream) -> std::io::Result<tokio::net::TcpStream> {
        let std_stream = stream.into_std()?;
        lock(&self.0).push(Tracked::Socket(std_stream.try_clone()?));
        let stream = tokio::net::TcpStream::from_std(std_stream)?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn track_pipe(&self, stream: MemoryStream) -> MemoryStream {
        lock(&self.0).push(Tracked::Pipe(stream.peer(), stream.kill_switch()));
        stream
    }
}

pub(crate) fn incoming(
    listener: TcpListener,
    connections: Connections,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    TcpListenerStream::new(listener).map(move |accepted| connections.track(accepted?))
}

/// The in-memory connections, as [`incoming`] the sockets.
pub(crate) fn incoming_pipes(
    pipes: tokio::sync::mpsc::UnboundedReceiver<MemoryStream>,
    connections: Connections,
) -> impl tokio_stream::Stream<Item = std::io::Result<MemoryStream>> {
    tokio_stream::wrappers::UnboundedReceiverStream::new(pipes)
        .map(move |pipe| Ok(connections.track_pipe(pipe)))
}

/// The handle every generated service trait is implemented on.
#[derive(Clone)]
pub(crate) struct Fake(pub Arc<State>);

/// The gRPC path of a call (`package.Service/Method`), put in each request's extensions by
/// the front layer, since tonic hands handlers no URI.
#[derive(Clone, Debug)]
pub(crate) struct MethodPath(pub String);

type FrontStack = tower::layer::util::Stack<super::front::FrontLayer, tower::layer::util::Identity>;

pub(crate) fn router(
    state: Arc<State>,
    tls: Option<tonic::transport::ServerTlsConfig>,
) -> Result<tonic::transport::server::Router<FrontStack>, tonic::transport::Error> {
    use crate::latest::services::*;
    use crate::longrunning::operations_server;
    let front = super::front::FrontLayer(state.clone());
    let fake = Fake(state);
    let limit = super::search::MESSAGE_LIMIT;
    macro_rules! svc {
        ($server:ident :: $ty:ident) => {
            $server::$ty::new(fake.clone())
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit)
        };
    }
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        server = server.tls_config(tls)?;
    }
    Ok(server
        .layer(front)
        .add_service(super::search::GoogleAdsServer::new(fake.clone()))
        .add_service(svc!(customer_service_server::CustomerServiceServer))
        .add_service(svc!(
            campaign_budget_service_server::CampaignBudgetServiceServer
        ))
        .add_service(svc!(campaign_service_server::CampaignServiceServer))
        .add_service(svc!(ad_group_service_server::AdGroupServiceServer))
        .add_service(svc!(ad_group_ad_service_server::AdGroupAdServiceServer))
        .add_service(svc!(
            ad_group_criterion_service_server::AdGroupCriterionServiceServer
        ))
        .add_service(svc!(
            campaign_criterion_service_server::CampaignCriterionServiceServer
        ))
        .add_service(svc!(label_service_server::LabelServiceServer))
        .add_service(svc!(batch_job_service_server::BatchJobServiceServer))
        .add_service(svc!(operations_server::OperationsServer)))
}

impl Fake {
    /// Logs the call, fires scripted faults, and runs the request checks. A call landing late
    /// ([`Fault::LandLate`]) is checked, its connection dropped, and handled after the delay.
    pub(crate) async fn enter<T: Message>(
        &self,
        request: &Request<T>,
        customer_id: Option<&str>,
    ) -> Result<Entry, Status> {
        self.enter_with(request, customer_id, false).await
    }

    /// Like [`enter`](Self::enter), for a handler that runs its own checks of a call landing
    /// late before [`land_late`](Self::land_late): the fault comes back in `late_fault`.
    pub(crate) async fn enter_landing_here<T: Message>(
        &self,
        request: &Request<T>,
        customer_id: Option<&str>,
    ) -> Result<Entry, Status> {
        self.enter_with(request, customer_id, true).await
    }

    async fn enter_with<T: Message>(
        &self,
        request: &Request<T>,
        customer_id: Option<&str>,
        lands_here: bool,
    ) -> Result<Entry, Status> {
        let method = gate::record(&self.0.calls, self.0.started, request);
        let mut entry = Entry {
            request_id: failure::next_request_id(),
            late_fault: None,
            peer: request.remote_addr(),
            detached: request
                .extensions()
                .get::<gate::Arrival>()
                .map(|a| a.detached.clone()),
        };
        let fault = lock(&self.0.faults).next(&method, customer_id);
        match fault {
            Some(Fault::Latency(delay)) => tokio::time::sleep(delay).await,
            Some(Fault::ResetBeforeHandling) => {
                self.0.connections.kill_all();
                return Err(Status::unavailable("connection reset by the fake"));
            }
            Some(fault @ Fault::LandLate(delay)) => {
                gate::check(&self.0.gate, request, customer_id, &entry.request_id)?;
                if lands_here {
                    entry.late_fault = Some(fault);
                } else {
                    self.land_late(&entry, delay).await;
                }
                return Ok(entry);
            }
            Some(
                fault @ (Fault::ResetAfterHandling
                | Fault::ResetAfterRows(_)
                | Fault::StallAfterRows(_)
                | Fault::CorruptPartialFailure
                | Fault::RepeatResults
                | Fault::BogusResultIndex(_)),
            ) => entry.late_fault = Some(fault),
            Some(fault) => {
                if let Some(status) = gate::fault_status(&fault, &entry.request_id) {
                    return Err(status);
                }
            }
            None => {}
        }
        gate::check(&self.0.gate, request, customer_id, &entry.request_id)?;
        Ok(entry)
    }

    /// Loses the call on its way: the handler is detached from the connection, the client's
    /// connection dropped (it gets no answer), and the handler goes on `delay` later.
    pub(crate) async fn land_late(&self, entry: &Entry, delay: Duration) {
        if let Some(detached) = &entry.detached {
            detached.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        match entry.peer {
            Some(peer) => self.0.connections.kill(peer),
            None => self.0.connections.kill_all(),
        }
        tokio::time::sleep(delay).await;
    }

    /// A successful response with its `request-id`, after acting on a late fault.
    pub(crate) fn respond<T>(&self, entry: &Entry, message: T) -> Result<Response<T>, Status> {
        if entry.late_fault == Some(Fault::ResetAfterHandling) {
            self.0.connections.kill_all();
        }
        let mut response = Response::new(message);
        if let Ok(v) = entry.request_id.parse() {
            response.metadata_mut().insert("request-id", v);
        }
        Ok(response)
    }

    /// Runs mutate operations for `customer_id` and shapes the outcome the way every mutate
    /// RPC reports it: an INVALID_ARGUMENT failure when atomic, `partial_failure_error` when not.
    fn run_mutate(
        &self,
        entry: &Entry,
        customer_id: &str,
        ops: Vec<Result<OpIn, Vec<AdsError>>>,
        partial_failure: bool,
        validate_only: bool,
    ) -> Result<(Vec<OpResult>, Option<crate::rpc::Status>), Status> {
        let results = {
            let mut store = lock(&self.0.store);
            let data = store.entry(customer_id.to_owned()).or_default();
            mutate::run(customer_id, data, ops, partial_failure, validate_only)
        };
        let errors: Vec<AdsError> = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .flatten()
            .cloned()
            .collect();
        if errors.is_empty() {
            return Ok((results, None));
        }
        if !partial_failure {
            return Err(failure::status(
                Code::InvalidArgument,
                &errors,
                &entry.request_id,
            ));
        }
        let mut status = failure::partial_failure(&errors, &entry.request_id);
        if entry.late_fault == Some(Fault::CorruptPartialFailure) {
            for detail in &mut status.details {
                // A length prefix longer than what follows: no decoder can read it.
                detail.value = vec![0x0a, 0xff, 0x01, 0x00];
            }
        }
        Ok((results, Some(status)))
    }

    /// The per-resource Mutate* RPCs (MutateCampaigns...), all alike: `operations` of one type.
    async fn service_mutate<Req: Message + Default, Resp: Message + Default>(
        &self,
        request: Request<Req>,
        request_type: &str,
        response_type: &str,
    ) -> Result<Response<Resp>, Status> {
        let dynamic = reflect::to_dynamic(
            request.get_ref(),
            reflect::message(&full(&format!("services.{request_type}"))),
        );
        let customer_id = string(&dynamic, "customer_id");
        let entry = self.enter(&request, Some(&customer_id)).await?;
        let operations: Vec<DynamicMessage> =
            match dynamic.get_field_by_name("operations").as_deref() {
                Some(Value::List(list)) => list
                    .iter()
                    .filter_map(|v| v.as_message().cloned())
                    .collect(),
                _ => Vec::new(),
            };
        check_operation_count(operations.len(), "operations", &entry)?;
        let ops = operations
            .into_iter()
            .enumerate()
            .map(|(i, op)| {
                let path = vec![("operations".to_owned(), Some(i as i32))];
                match mutate::resource_of_operation(&op.descriptor()) {
                    Some(resource) => Ok(OpIn { path, resource, op }),
                    None => Err(vec![unsupported(&op.descriptor()).under(&path)]),
                }
            })
            .collect();
        let partial = bool_field(&dynamic, "partial_failure");
        let validate_only = bool_field(&dynamic, "validate_only");
        let mutable = is_mutable(&dynamic);
        let (results, partial_error) =
            self.run_mutate(&entry, &customer_id, ops, partial, validate_only)?;
        let response_message = reflect::message(&full(&format!("services.{response_type}")));
        let mut response = DynamicMessage::new(response_message.clone());
        if !validate_only {
            let results_field = response_message
                .get_field_by_name("results")
                .ok_or_else(|| Status::internal("no results field"))?;
            let prost_reflect::Kind::Message(result_message) = results_field.kind() else {
                return Err(Status::internal("results is not a message"));
            };
            let list = results
                .iter()
                .map(|r| Value::Message(result_of(&result_message, r, mutable)))
                .collect();
            response.set_field(&results_field, Value::List(list));
        }
        if let Some(status) = partial_error {
            response.set_field_by_name(
                "partial_failure_error",
                Value::Message(reflect::to_dynamic(
                    &status,
                    reflect::message("google.rpc.Status"),
                )),
            );
        }
        self.respond(&entry, reflect::to_typed(&response))
    }
}

fn check_operation_count(count: usize, field: &str, entry: &Entry) -> Result<(), Status> {
    let error = match count {
        0 => AdsError::new(
            "request_error",
            "OPERATION_REQUIRED",
            "At least one operation is required.",
        )
        .at(field),
        n if n > 10_000 => AdsError::new(
            "request_error",
            "TOO_MANY_MUTATE_OPERATIONS",
            "Too many mutate operations in a single request (at most 10,000).",
        )
        .at(field)
        .trigger(n.to_string()),
        _ => return Ok(()),
    };
    Err(failure::status(
        Code::InvalidArgument,
        &[error],
        &entry.request_id,
    ))
}

fn unsupported(op: &MessageDescriptor) -> AdsError {
    AdsError::new(
        "mutate_error",
        "MUTATE_NOT_ALLOWED",
        format!("The fake server does not model {}.", op.name()),
    )
}

fn string(message: &DynamicMessage, field: &str) -> String {
    message
        .get_field_by_name(field)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn bool_field(message: &DynamicMessage, field: &str) -> bool {
    message
        .get_field_by_name(field)
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Whether the request asked for MUTABLE_RESOURCE results.
fn is_mutable(request: &DynamicMessage) -> bool {
    let descriptor = request.descriptor();
    let mutable = reflect::enum_number(&descriptor, "response_content_type", "MUTABLE_RESOURCE");
    mutable.is_some()
        && request
            .get_field_by_name("response_content_type")
            .and_then(|v| v.as_enum_number())
            == mutable
}

/// A `MutateXResult`: the name, and the resource itself when asked for; empty on failure.
pub(crate) fn result_of(
    result_message: &MessageDescriptor,
    result: &OpResult,
    mutable: bool,
) -> DynamicMessage {
    let mut message = DynamicMessage::new(result_message.clone());
    if let Ok(out) = result {
        message.set_field_by_name("resource_name", Value::String(out.resource_name.clone()));
        if mutable
            && let Some(field) = result_message
                .fields()
                .find(|f| matches!(f.kind(), prost_reflect::Kind::Message(m) if m == out.resource.descriptor()))
        {
            message.set_field(&field, Value::Message(out.resource.clone()));
        }
    }
    message
}

/// `campaign_operation` -> the `MutateOperationResponse` field `campaign_result`: by name,
/// since the two oneofs do not share tag numbers.
pub(crate) fn result_field_for(operation_field: &str) -> Option<prost_reflect::FieldDescriptor> {
    let response = reflect::message(&full("services.MutateOperationResponse"));
    let stem = operation_field.strip_suffix("_operation")?;
    response.get_field_by_name(&format!("{stem}_result"))
}

/// GoogleAdsService.Mutate's (or a batch job's) operations with their oneof field names;
/// error paths count from `first_index` (a batch job's chunks index into the whole job).
pub(crate) fn mutate_ops(
    operations: &[services::MutateOperation],
    first_index: usize,
) -> Vec<(String, Result<OpIn, Vec<AdsError>>)> {
    let descriptor = reflect::message(&full("services.MutateOperation"));
    operations
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let mut path = vec![(
                "mutate_operations".to_owned(),
                Some((first_index + i) as i32),
            )];
            let dynamic = reflect::to_dynamic(op, descriptor.clone());
            match reflect::set_oneof_field(&dynamic, "operation") {
                Some((field, Value::Message(inner))) => {
                    path.push((field.name().to_owned(), None));
                    let op_in = match mutate::resource_of_operation(&inner.descriptor()) {
                        Some(resource) if result_field_for(field.name()).is_some() => Ok(OpIn {
                            path,
                            resource,
                            op: inner,
                        }),
                        _ => Err(vec![unsupported(&inner.descriptor()).under(&path)]),
                    };
                    (field.name().to_owned(), op_in)
                }
                _ => (
                    String::new(),
                    Err(vec![
                        AdsError::new(
                            "request_error",
                            "OPERATION_REQUIRED",
                            "The mutate operation sets no operation.",
                        )
                        .under(&path),
                    ]),
                ),
            }
        })
        .collect()
}

/// `MutateOperationResponse`s aligned with the operations; a failed one is left empty.
pub(crate) fn mutate_responses(
    fields: &[String],
    results: &[OpResult],
    mutable: bool,
) -> Vec<services::MutateOperationResponse> {
    fields
        .iter()
        .zip(results)
        .map(|(field, result)| {
            let Some(result_field) = result_field_for(field).filter(|_| result.is_ok()) else {
                return services::MutateOperationResponse::default();
            };
            let prost_reflect::Kind::Message(result_message) = result_field.kind() else {
                return services::MutateOperationResponse::default();
            };
            let mut response = DynamicMessage::new(result_field.parent_message().clone());
            response.set_field(
                &result_field,
                Value::Message(result_of(&result_message, result, mutable)),
            );
            reflect::to_typed(&response)
        })
        .collect()
}

/// Steps of the Mutate latency model: one per run of same-type operations.
fn latency_steps(fields: &[String]) -> u32 {
    let changes = fields.windows(2).filter(|w| w[0] != w[1]).count();
    if fields.is_empty() {
        0
    } else {
        1 + changes as u32
    }
}

#[tonic::async_trait]
impl services::google_ads_service_server::GoogleAdsService for Fake {
    async fn search(
        &self,
        request: Request<services::SearchGoogleAdsRequest>,
    ) -> Result<Response<services::SearchGoogleAdsResponse>, Status> {
        self.search_page(request).await
    }

    // SearchStream is served by super::search::GoogleAdsServer, which sends encoded messages.

    async fn mutate(
        &self,
        request: Request<services::MutateGoogleAdsRequest>,
    ) -> Result<Response<services::MutateGoogleAdsResponse>, Status> {
        let entry = self
            .enter(&request, Some(&request.get_ref().customer_id))
            .await?;
        let request = request.into_inner();
        check_operation_count(request.mutate_operations.len(), "mutate_operations", &entry)?;
        let (fields, ops): (Vec<String>, Vec<_>) = mutate_ops(&request.mutate_operations, 0)
            .into_iter()
            .unzip();
        let step = self.0.mutate_step_latency;
        if !step.is_zero() {
            tokio::time::sleep(step * latency_steps(&fields)).await;
        }
        let (results, partial_failure_error) = self.run_mutate(
            &entry,
            &request.customer_id,
            ops,
            request.partial_failure,
            request.validate_only,
        )?;
        let mutable = request.response_content_type == crate::latest::enums::response_content_type_enum::ResponseContentType::MutableResource as i32;
        let response = services::MutateGoogleAdsResponse {
            partial_failure_error,
            mutate_operation_responses: if request.validate_only {
                Vec::new()
            } else {
                mutate_responses(&fields, &results, mutable)
            },
        };
        self.respond(&entry, response)
    }
}

#[tonic::async_trait]
impl services::customer_service_server::CustomerService for Fake {
    async fn list_accessible_customers(
        &self,
        request: Request<services::ListAccessibleCustomersRequest>,
    ) -> Result<Response<services::ListAccessibleCustomersResponse>, Status> {
        let entry = self.enter(&request, None).await?;
        let resource_names = self
            .0
            .gate
            .customers
            .iter()
            .map(|c| format!("customers/{c}"))
            .collect();
        self.respond(
            &entry,
            services::ListAccessibleCustomersResponse { resource_names },
        )
    }
}

/// The per-resource services: each is one Mutate* RPC over [`Fake::service_mutate`].
macro_rules! resource_services {
    ($($module:ident :: $service:ident . $method:ident ($request:ident) -> $response:ident;)*) => {$(
        #[tonic::async_trait]
        impl services::$module::$service for Fake {
            async fn $method(&self, request: Request<services::$request>) -> Result<Response<services::$response>, Status> {
                self.service_mutate(request, stringify!($request), stringify!($response)).await
            }
        }
    )*};
}

resource_services! {
    campaign_budget_service_server::CampaignBudgetService.mutate_campaign_budgets(MutateCampaignBudgetsRequest) -> MutateCampaignBudgetsResponse;
    campaign_service_server::CampaignService.mutate_campaigns(MutateCampaignsRequest) -> MutateCampaignsResponse;
    ad_group_service_server::AdGroupService.mutate_ad_groups(MutateAdGroupsRequest) -> MutateAdGroupsResponse;
    ad_group_ad_service_server::AdGroupAdService.mutate_ad_group_ads(MutateAdGroupAdsRequest) -> MutateAdGroupAdsResponse;
    ad_group_criterion_service_server::AdGroupCriterionService.mutate_ad_group_criteria(MutateAdGroupCriteriaRequest) -> MutateAdGroupCriteriaResponse;
    campaign_criterion_service_server::CampaignCriterionService.mutate_campaign_criteria(MutateCampaignCriteriaRequest) -> MutateCampaignCriteriaResponse;
    label_service_server::LabelService.mutate_labels(MutateLabelsRequest) -> MutateLabelsResponse;
}
