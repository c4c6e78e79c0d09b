//! The account tree walked on the fake's manager trees.

use google_ads::accounts::AccountTree;
use google_ads::fake::{FakeAccount, FakeServer};
use google_ads::latest::enums::customer_status_enum::CustomerStatus;
use google_ads::latest::services::SearchGoogleAdsRequest;
use google_ads::{CallOptions, CustomerId};

pub(crate) const ROOT: &str = "7000000000";
pub(crate) const SUB_A: &str = "7100000000";
pub(crate) const SUB_B: &str = "7200000000";
pub(crate) const DIRECT: &str = "7000000001";
pub(crate) const UNDER_A: &str = "7100000001";
pub(crate) const SHARED: &str = "7100000002";
pub(crate) const SUSPENDED: &str = "7100000003";
pub(crate) const UNDER_B: &str = "7200000001";
pub(crate) const DENIED: &str = "7200000002";

pub(crate) fn id(text: &str) -> CustomerId {
    text.parse().unwrap()
}

/// Three levels: the root manager, two sub-managers, their clients; one client under both
/// sub-managers, one suspended, one the user cannot reach (not a customer of the fake).
pub(crate) async fn tree() -> FakeServer {
    tree_on(FakeServer::builder()).await
}

/// [`tree`] on a fake built from `builder`.
pub(crate) async fn tree_on(mut builder: google_ads::fake::FakeServerBuilder) -> FakeServer {
    for customer in [
        ROOT, SUB_A, SUB_B, DIRECT, UNDER_A, SHARED, SUSPENDED, UNDER_B,
    ] {
        builder = builder.customer(customer);
    }
    let fake = builder.start().await.unwrap();
    fake.account_tree(
        &[
            FakeAccount::manager(ROOT, "Agency"),
            FakeAccount::manager(SUB_A, "Region A"),
            FakeAccount::manager(SUB_B, "Region B"),
            FakeAccount::client(DIRECT, "Direct client"),
            FakeAccount::client(UNDER_A, "Bakery"),
            FakeAccount::client(SHARED, "Shared shop"),
            FakeAccount::client(SUSPENDED, "Old shop").with_status(CustomerStatus::Suspended),
            FakeAccount::client(UNDER_B, "Florist"),
            FakeAccount::client(DENIED, "Revoked"),
        ],
        &[
            (ROOT, SUB_A),
            (ROOT, SUB_B),
            (ROOT, DIRECT),
            (SUB_A, UNDER_A),
            (SUB_A, SHARED),
            (SUB_A, SUSPENDED),
            (SUB_B, SHARED),
            (SUB_B, UNDER_B),
            (SUB_B, DENIED),
        ],
    )
    .unwrap();
    fake
}

#[tokio::test(start_paused = true)]
async fn the_tree_lists_every_account_once_with_its_manager_and_login() {
    let fake = tree().await;
    let client = crate::client_in_memory(&fake);
    let tree = AccountTree::walk(&client, &[id(ROOT)]).await.unwrap();
    let listed: Vec<(String, u32, Option<String>)> = tree
        .accounts()
        .iter()
        .map(|a| (a.id.to_string(), a.level, a.parent.map(|p| p.to_string())))
        .collect();
    let expected = [
        (ROOT, 0, None),
        (DIRECT, 1, Some(ROOT)),
        (SUB_A, 1, Some(ROOT)),
        (SUB_B, 1, Some(ROOT)),
        (UNDER_A, 2, Some(SUB_A)),
        (SHARED, 2, Some(SUB_A)),
        (SUSPENDED, 2, Some(SUB_A)),
        (UNDER_B, 2, Some(SUB_B)),
        (DENIED, 2, Some(SUB_B)),
    ]
    .map(|(a, level, parent)| (a.to_owned(), level, parent.map(str::to_owned)));
    assert_eq!(listed, expected, "each account once, breadth first");
    assert!(
        tree.accounts()
            .iter()
            .all(|a| a.login_customer_id == id(ROOT))
    );
    let suspended = &tree.accounts()[6];
    assert_eq!(
        (suspended.status, suspended.descriptive_name.as_str()),
        (CustomerStatus::Suspended, "Old shop")
    );
    let shop = &tree.accounts()[5];
    assert_eq!(
        (
            shop.currency_code.as_str(),
            shop.time_zone.as_str(),
            shop.manager
        ),
        ("EUR", "Europe/London", false)
    );
    // Reports run on the enabled clients only: the suspended one is skipped, the unreachable
    // one is not known to be unreachable until it is called.
    let clients: Vec<String> = tree.clients().map(|a| a.id.to_string()).collect();
    assert_eq!(clients, [DIRECT, UNDER_A, SHARED, UNDER_B, DENIED]);
    assert!(tree.problems().is_empty());
    let printed = tree.to_string();
    assert!(
        printed.starts_with(
            "7000000000 Agency (manager, EUR, Europe/London)\n  7000000001 Direct client (client"
        ),
        "{printed}"
    );
    assert!(
        printed.contains("    7100000003 Old shop (client, EUR, Europe/London, SUSPENDED)\n"),
        "{printed}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_fake_refuses_what_the_api_refuses_in_a_tree() {
    let fake = tree().await;
    let client = crate::client_in_memory(&fake);
    let search = |customer: &str, login: Option<&str>| {
        let mut options = CallOptions::new();
        if let Some(login) = login {
            options = options.login_customer_id(id(login));
        }
        let request = options.request(SearchGoogleAdsRequest {
            customer_id: customer.into(),
            query: "SELECT customer_client.id FROM customer_client".into(),
            ..Default::default()
        });
        let client = client.clone();
        async move { client.google_ads().search(request).await }
    };
    search(UNDER_A, Some(ROOT)).await.unwrap();
    search(UNDER_A, Some(SUB_A)).await.unwrap();
    let no_login = search(UNDER_A, None).await.unwrap_err();
    assert!(
        no_login.has_code("authorization_error", "USER_PERMISSION_DENIED"),
        "{no_login}"
    );
    let other_branch = search(UNDER_A, Some(SUB_B)).await.unwrap_err();
    assert!(other_branch.has_code("authorization_error", "USER_PERMISSION_DENIED"));
    let suspended = search(SUSPENDED, Some(ROOT)).await.unwrap_err();
    assert!(
        suspended.has_code("authorization_error", "CUSTOMER_NOT_ENABLED"),
        "{suspended}"
    );
    let denied = search(DENIED, Some(ROOT)).await.unwrap_err();
    assert!(denied.has_code("authorization_error", "USER_PERMISSION_DENIED"));
}

#[tokio::test(start_paused = true)]
async fn a_sub_manager_that_cannot_be_listed_is_a_problem_not_the_end() {
    let fake = tree().await;
    // SUB_B's own listing fails for good.
    fake.inject_for(
        SUB_B,
        "GoogleAdsService/SearchStream",
        google_ads::fake::Fault::user_permission_denied(),
        None,
    );
    let client = crate::client_in_memory(&fake);
    let tree = AccountTree::walk(&client, &[id(ROOT)]).await.unwrap();
    assert_eq!(tree.problems().len(), 1);
    assert_eq!(tree.problems()[0].0, id(SUB_B));
    let ids: Vec<String> = tree.accounts().iter().map(|a| a.id.to_string()).collect();
    assert!(ids.contains(&SHARED.to_owned()), "reached through SUB_A");
    assert!(!ids.contains(&UNDER_B.to_owned()), "only SUB_B lists it");
    assert!(
        tree.to_string()
            .contains("7200000000: its accounts could not be listed")
    );

    let no_manager = AccountTree::walk(&client, &[]).await.unwrap_err();
    assert!(
        no_manager
            .to_string()
            .contains("managers: at least one manager id is needed")
    );
}

mod report {
    use super::*;
    use google_ads::account_report::{AccountReport, Format};

    const QUERY: &str = "SELECT campaign.id, campaign.name FROM campaign";

    async fn tree_with_rows() -> (FakeServer, AccountTree, google_ads::GoogleAdsClient) {
        let fake = tree().await;
        for (customer, rows) in [(DIRECT, 3), (UNDER_A, 5), (SHARED, 7), (UNDER_B, 2)] {
            fake.synthetic_campaigns(customer, rows);
        }
        let client = crate::client_in_memory(&fake);
        let tree = AccountTree::walk(&client, &[id(ROOT)]).await.unwrap();
        (fake, tree, client)
    }

    #[tokio::test(start_paused = true)]
    async fn every_enabled_accounts_rows_once_contiguous_and_the_denied_one_reported() {
        let (_fake, tree, client) = tree_with_rows().await;
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("report.csv");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let progress = seen.clone();
        let summary = AccountReport::new(&client, QUERY)
            .unwrap()
            .accounts(tree.clients())
            .accounts_in_flight(2)
            .on_progress(move |p| progress.lock().unwrap().push(*p))
            .write(Format::Csv, &output)
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 5, "one report per finished account");
        assert!(
            seen.windows(2)
                .all(|w| w[0].rows <= w[1].rows && w[0].failed <= w[1].failed)
        );
        let last = seen.last().unwrap();
        assert_eq!(
            (
                last.accounts_done,
                last.accounts_total,
                last.rows,
                last.failed
            ),
            (5, 5, 17, 1)
        );
        let text = std::fs::read_to_string(&output).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("customer_id,campaign.id,campaign.name"));
        let ids: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
        // Each account's rows in one run, each account once.
        let mut runs: Vec<(&str, usize)> = Vec::new();
        for id in &ids {
            match runs.last_mut() {
                Some((last, n)) if last == id => *n += 1,
                _ => runs.push((id, 1)),
            }
        }
        let mut counted = runs.clone();
        counted.sort();
        assert_eq!(
            counted,
            [(DIRECT, 3), (UNDER_A, 5), (SHARED, 7), (UNDER_B, 2)]
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .collect::<Vec<_>>(),
            "{runs:?}"
        );
        // The summary, in the order the accounts finished: the file's order.
        let finished: Vec<String> = summary
            .outcomes
            .iter()
            .filter(|o| o.error.is_none())
            .map(|o| o.customer_id.to_string())
            .collect();
        assert_eq!(
            finished,
            runs.iter()
                .map(|(id, _)| id.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(summary.rows(), 17);
        let failed: Vec<_> = summary.failed().collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].customer_id, id(DENIED));
        let error = failed[0].error.as_ref().unwrap();
        assert!(
            error.has_code("authorization_error", "USER_PERMISSION_DENIED"),
            "{error}"
        );
        // Nothing left beside the output.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("report.csv")]);
    }

    #[tokio::test(start_paused = true)]
    async fn json_lines_start_with_the_customer_id_unless_the_query_selects_it() {
        let (_fake, tree, client) = tree_with_rows().await;
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("report.jsonl");
        AccountReport::new(&client, QUERY)
            .unwrap()
            .accounts(tree.clients())
            .write(Format::JsonLines, &output)
            .await
            .unwrap();
        let text = std::fs::read_to_string(&output).unwrap();
        assert_eq!(text.lines().count(), 17);
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(line.starts_with("{\"customer_id\":\""), "{line}");
            assert_eq!(value["customer_id"].as_str().unwrap().len(), 10);
        }
        let with_id = dir.path().join("with-id.csv");
        AccountReport::new(&client, "SELECT customer.id, campaign.id FROM campaign")
            .unwrap()
            .account(id(DIRECT), Some(id(ROOT)))
            .write(Format::Csv, &with_id)
            .await
            .unwrap();
        let text = std::fs::read_to_string(&with_id).unwrap();
        assert!(text.starts_with("customer.id,campaign.id\n"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn bad_settings_are_refused_before_anything_is_sent() {
        let (fake, tree, client) = tree_with_rows().await;
        let sent = fake.calls().len();
        let dir = tempfile::tempdir().unwrap();
        let error = AccountReport::new(&client, QUERY)
            .unwrap()
            .accounts(tree.clients())
            .accounts_in_flight(0)
            .write(Format::Csv, &dir.path().join("r.csv"))
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("accounts_in_flight: must be at least 1"),
            "{error}"
        );
        let error = AccountReport::new(&client, "SELECT campaign.nope FROM campaign").unwrap_err();
        assert!(error.to_string().contains("campaign.nope"), "{error}");
        assert_eq!(fake.calls().len(), sent);
    }
}
