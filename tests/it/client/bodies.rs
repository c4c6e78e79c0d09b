//! Request and response bodies at DEBUG (target `google_ads::bodies`): a mutate, a search and a
//! batch upload logged in text form; personal data masked in customer-match and conversion
//! uploads, one test per kind; nothing rendered when DEBUG is off.

use std::sync::{Arc, Mutex};

use google_ads::latest::common::UserData;
use google_ads::latest::common::{OfflineUserAddressInfo, UserIdentifier, user_identifier};
use google_ads::latest::resources::{CampaignBudget, CustomerUserAccessInvitation};
use google_ads::latest::services::{
    AddOfflineUserDataJobOperationsRequest, ClickConversion, CustomerUserAccessInvitationOperation,
    MutateCustomerUserAccessInvitationRequest, OfflineUserDataJobOperation,
    UploadClickConversionsRequest, customer_user_access_invitation_operation,
    offline_user_data_job_operation,
};
use google_ads::mutate::Operations;
use google_ads::search::StreamExt as _;

use super::*;

/// Everything tracing writes at DEBUG and above.
#[derive(Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The `request body` (or `response body`) lines of `method` (its last path segment).
    fn bodies(&self, kind: &str, method: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| line.contains(&format!("{kind} body")))
            .filter(|line| line.contains(&format!("/{method}\"")))
            .map(str::to_owned)
            .collect()
    }
}

pub(crate) fn capture(level: tracing::Level) -> (Log, tracing::subscriber::DefaultGuard) {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    (log, tracing::subscriber::set_default(subscriber))
}

const CID: &str = "1234567890";

/// A mutate, a search (streamed) and a batch job's upload, each logged with its request and
/// response bodies in text form, the method path and, for responses, the request id.
#[tokio::test(start_paused = true)]
async fn a_mutate_a_search_and_a_batch_upload_log_their_bodies() {
    let (log, _guard) = capture(tracing::Level::DEBUG);
    let (_fake, client) = crate::batch::fake_and_client(crate::batch::fast_fake()).await;

    let mut operations = Operations::new(CID.parse::<google_ads::CustomerId>().unwrap()).unwrap();
    operations
        .create(CampaignBudget {
            name: Some("Logged budget 7".into()),
            amount_micros: Some(5_000_000),
            ..Default::default()
        })
        .unwrap();
    client.mutate(operations).send().await.unwrap();
    let request = log.bodies("request", "Mutate");
    assert_eq!(request.len(), 1, "{}", log.text());
    assert!(
        request[0].contains(r#"name: Some("Logged budget 7")"#)
            && request[0].contains("amount_micros: Some(5000000)")
            && request[0].contains(google_ads::latest::paths::google_ads_service::MUTATE),
        "{}",
        request[0]
    );
    let response = log.bodies("response", "Mutate");
    assert_eq!(response.len(), 1, "{}", log.text());
    assert!(
        response[0].contains("customers/1234567890/campaignBudgets/")
            && response[0].contains("request_id="),
        "{}",
        response[0]
    );

    let query = "SELECT campaign_budget.name FROM campaign_budget";
    let mut rows = client.search_stream(CID, query).await.unwrap();
    while let Some(row) = rows.next().await {
        row.unwrap();
    }
    let request = log.bodies("request", "SearchStream");
    assert!(
        request.len() == 1 && request[0].contains(query),
        "{}",
        log.text()
    );
    let response = log.bodies("response", "SearchStream");
    assert!(
        !response.is_empty()
            && response
                .iter()
                .any(|line| line.contains(r#"name: Some("Logged budget 7")"#)),
        "{}",
        log.text()
    );

    let (operations, _) = crate::batch::job_operations(3, 2, false);
    let driver = google_ads::batch::BatchJobDriver::new(
        &client,
        CID,
        google_ads::batch::OperationSource::from_vec(operations),
    )
    .unwrap()
    .with_poll_schedule(crate::batch::quick_polls());
    crate::batch::run_to_end(driver).await;
    let request = log.bodies("request", "AddBatchJobOperations");
    assert_eq!(request.len(), 1, "{}", log.text());
    assert!(
        request[0].contains("mutate_operations: [") && request[0].contains("KeywordInfo"),
        "{}",
        request[0]
    );
    let response = log.bodies("response", "AddBatchJobOperations");
    assert!(
        response.len() == 1 && response[0].contains("total_operations: 15"),
        "{}",
        log.text()
    );
}

/// Sends `request` through the client (the fake may refuse it: the request body is logged
/// first either way) and returns that request's log line.
async fn logged_request<F, Fut, T>(method: &str, call: F) -> String
where
    F: FnOnce(GoogleAdsClient) -> Fut,
    Fut: std::future::Future<Output = Result<T, google_ads::Error>>,
{
    let (log, _guard) = capture(tracing::Level::DEBUG);
    let fake = FakeServer::start().await.unwrap();
    let client = crate::client_in_memory(&fake);
    let _ = call(client).await;
    let lines = log.bodies("request", method);
    assert_eq!(lines.len(), 1, "{}", log.text());
    lines[0].clone()
}

fn assert_masked(line: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!line.contains(secret), "{secret} in the log:\n{line}");
    }
    assert!(line.contains("****"), "{line}");
}

fn customer_match(
    identifier: user_identifier::Identifier,
) -> AddOfflineUserDataJobOperationsRequest {
    AddOfflineUserDataJobOperationsRequest {
        resource_name: format!("customers/{CID}/offlineUserDataJobs/1"),
        operations: vec![OfflineUserDataJobOperation {
            operation: Some(offline_user_data_job_operation::Operation::Create(
                UserData {
                    user_identifiers: vec![UserIdentifier {
                        identifier: Some(identifier),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            )),
        }],
        ..Default::default()
    }
}

/// Customer match: a hashed email in a user identifier.
#[tokio::test]
async fn a_customer_match_email_is_masked() {
    let line = logged_request("AddOfflineUserDataJobOperations", |client| async move {
        client
            .offline_user_data_job()
            .add_offline_user_data_job_operations(customer_match(
                user_identifier::Identifier::HashedEmail("e3b0c44298fc1c14-email".into()),
            ))
            .await
    })
    .await;
    assert_masked(&line, &["e3b0c44298fc1c14-email"]);
    assert!(line.contains("offlineUserDataJobs/1"), "{line}");
}

/// Customer match: a hashed phone number.
#[tokio::test]
async fn a_customer_match_phone_number_is_masked() {
    let line = logged_request("AddOfflineUserDataJobOperations", |client| async move {
        client
            .offline_user_data_job()
            .add_offline_user_data_job_operations(customer_match(
                user_identifier::Identifier::HashedPhoneNumber("9f86d081884c7d65-phone".into()),
            ))
            .await
    })
    .await;
    assert_masked(&line, &["9f86d081884c7d65-phone"]);
}

/// Customer match: a name and an address (every part of it, the city included).
#[tokio::test]
async fn a_customer_match_name_and_address_are_masked() {
    let line = logged_request("AddOfflineUserDataJobOperations", |client| async move {
        client
            .offline_user_data_job()
            .add_offline_user_data_job_operations(customer_match(
                user_identifier::Identifier::AddressInfo(OfflineUserAddressInfo {
                    hashed_first_name: Some("first-name-hash".into()),
                    hashed_last_name: Some("last-name-hash".into()),
                    city: Some("Springfield-City".into()),
                    postal_code: Some("94043-postal".into()),
                    hashed_street_address: Some("street-hash".into()),
                    ..Default::default()
                }),
            ))
            .await
    })
    .await;
    assert_masked(
        &line,
        &[
            "first-name-hash",
            "last-name-hash",
            "Springfield-City",
            "94043-postal",
            "street-hash",
        ],
    );
}

/// A click conversion's user identifiers (enhanced conversions); the rest of the conversion
/// stays readable.
#[tokio::test]
async fn a_conversion_uploads_user_identifiers_are_masked() {
    let line = logged_request("UploadClickConversions", |client| async move {
        client
            .conversion_upload()
            .upload_click_conversions(UploadClickConversionsRequest {
                customer_id: CID.into(),
                conversions: vec![ClickConversion {
                    gclid: Some("gclid-visible".into()),
                    user_identifiers: vec![UserIdentifier {
                        identifier: Some(user_identifier::Identifier::HashedEmail(
                            "conversion-email-hash".into(),
                        )),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                partial_failure: true,
                ..Default::default()
            })
            .await
    })
    .await;
    assert_masked(&line, &["conversion-email-hash"]);
    assert!(line.contains("gclid-visible"), "{line}");
}

/// An email address in a mutate (an access invitation).
#[tokio::test]
async fn an_invitations_email_address_is_masked() {
    let line = logged_request("MutateCustomerUserAccessInvitation", |client| async move {
        client
            .customer_user_access_invitation()
            .mutate_customer_user_access_invitation(MutateCustomerUserAccessInvitationRequest {
                customer_id: CID.into(),
                operation: Some(CustomerUserAccessInvitationOperation {
                    operation: Some(
                        customer_user_access_invitation_operation::Operation::Create(
                            CustomerUserAccessInvitation {
                                email_address: "someone@example.com".into(),
                                ..Default::default()
                            },
                        ),
                    ),
                }),
            })
            .await
    })
    .await;
    assert_masked(&line, &["someone@example.com"]);
}

/// With DEBUG off (INFO, as most programs run), no body is rendered or written.
#[tokio::test]
async fn no_body_is_logged_without_debug() {
    let (log, _guard) = capture(tracing::Level::INFO);
    let fake = FakeServer::start().await.unwrap();
    let client = crate::client_in_memory(&fake);
    let mut operations = Operations::new(CID.parse::<google_ads::CustomerId>().unwrap()).unwrap();
    operations
        .create(CampaignBudget {
            name: Some("Quiet budget".into()),
            amount_micros: Some(5_000_000),
            ..Default::default()
        })
        .unwrap();
    client.mutate(operations).send().await.unwrap();
    let text = log.text();
    assert!(
        !text.contains("body") && !text.contains("Quiet budget"),
        "{text}"
    );
}

/// A body past the size cap (32 KiB of text) is cut, with a note of how much was left out.
#[tokio::test]
async fn a_body_past_the_cap_is_cut_with_a_note() {
    let long_name = "n".repeat(40_000);
    let line = logged_request("Mutate", |client| async move {
        let mut operations = Operations::new(CID.parse::<google_ads::CustomerId>().unwrap())?;
        operations.create(CampaignBudget {
            name: Some(long_name),
            amount_micros: Some(5_000_000),
            ..Default::default()
        })?;
        client.mutate(operations).send().await
    })
    .await;
    assert!(line.contains("... (cut: "), "{}", &line[line.len() - 200..]);
    assert!(line.len() < 34_000, "{}", line.len());
}

/// A Local Services lead read by a search: its contact details (phone number and extension, the
/// consumer's name) are masked in the response body; its category stays readable. The lead
/// is put in the fake's store as the API would hold it (no mutate creates leads).
#[tokio::test]
async fn a_leads_contact_details_are_masked_in_a_search_response() {
    use google_ads::latest::resources::{ContactDetails, LocalServicesLead};
    let (log, _guard) = capture(tracing::Level::DEBUG);
    let fake = FakeServer::start().await.unwrap();
    fake.seed(
        CID,
        "LocalServicesLead",
        &LocalServicesLead {
            resource_name: format!("customers/{CID}/localServicesLeads/77"),
            id: 77,
            category_id: "xcat:service_area_business_plumber".into(),
            contact_details: Some(ContactDetails {
                phone_number: "+1-555-0100-lead".into(),
                phone_number_extension: "ext-4242".into(),
                consumer_name: "Lead Person Name".into(),
            }),
            ..Default::default()
        },
    )
    .unwrap();
    let client = crate::client_in_memory(&fake);
    let query = "SELECT local_services_lead.category_id, local_services_lead.contact_details \
                 FROM local_services_lead";
    let mut rows = client.search_stream(CID, query).await.unwrap();
    let mut count = 0;
    while let Some(row) = rows.next().await {
        row.unwrap();
        count += 1;
    }
    assert_eq!(count, 1, "the seeded lead is read back");
    let response = log.bodies("response", "SearchStream");
    assert_eq!(response.len(), 1, "{}", log.text());
    assert_masked(
        &response[0],
        &["+1-555-0100-lead", "ext-4242", "Lead Person Name"],
    );
    // Unset fields are left out: the row shows the lead (masked whole: every field of a lead
    // counts as personal), not the hundreds of other resources a row can hold.
    assert!(
        response[0].contains("GoogleAdsRow { local_services_lead: **** }"),
        "{}",
        response[0]
    );
}
