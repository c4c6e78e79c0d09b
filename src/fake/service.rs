//! The gRPC services of the fake: shared state, the connection tracker, and the handlers.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use prost_reflect::{DynamicMessage, ReflectMessage, Value};
use tonic::{Code, Request, Response, Status};

use super::failure::{self, AdsError};
use super::gate::{self, Entry, Fault};
use super::mutate::{self, OpIn, OpResult, mutate_ops, mutate_responses, result_of, unsupported};
use super::reflect::{self, full};
use super::state::{Fake, State, lock};
use crate::latest::services;

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
                | Fault::SilenceAfterHandling
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
        if let Some(customer) = customer_id {
            let login = request
                .metadata()
                .get("login-customer-id")
                .and_then(|v| v.to_str().ok());
            if let Some((name, message)) = lock(&self.0.trees).refusal(customer, login) {
                return Err(failure::status(
                    tonic::Code::PermissionDenied,
                    &[failure::AdsError::new("authorization_error", name, message)],
                    &entry.request_id,
                ));
            }
        }
        lock(&self.0.quotas).take(customer_id, &entry.request_id)?;
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
        match (&entry.late_fault, entry.peer) {
            (Some(Fault::ResetAfterHandling), _) => self.0.connections.kill_all(),
            (Some(Fault::SilenceAfterHandling), Some(peer)) => self.0.connections.silence(peer),
            (Some(Fault::SilenceAfterHandling), None) => self.0.connections.kill_all(),
            _ => {}
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
