//! The one integration-test binary (every extra binary re-links the large generated crate).

#[cfg(feature = "fake")]
mod account_report;
#[cfg(feature = "fake")]
mod accounts;
#[cfg(feature = "fake")]
mod batch;
#[cfg(feature = "fake")]
mod client;
#[cfg(feature = "fake")]
mod errors;
#[cfg(feature = "fake")]
mod fake;
mod layout;
#[cfg(feature = "fake")]
mod mutate;
mod protos;
#[cfg(feature = "fake")]
mod quota;
mod resource_names;
#[cfg(feature = "fake")]
mod rng;
#[cfg(feature = "fake")]
mod search;
#[cfg(all(feature = "fake", feature = "v25", feature = "v26"))]
mod versions;

/// A client with fixed credentials on the fake at `uri`.
#[cfg(feature = "fake")]
pub fn client_at(uri: impl Into<String>) -> google_ads::GoogleAdsClient {
    let config = google_ads::Config::builder()
        .with_access_token("t")
        .with_developer_token("d")
        .with_endpoint(uri)
        .build()
        .unwrap();
    google_ads::GoogleAdsClient::builder(config)
        .build()
        .unwrap()
}

/// A client with fixed credentials on `fake` over in-memory pipes: for runs on the paused
/// clock, where loopback sockets let transport timers fire at moments the kernel decides.
#[cfg(feature = "fake")]
pub fn client_in_memory(fake: &google_ads::fake::FakeServer) -> google_ads::GoogleAdsClient {
    let config = google_ads::Config::builder()
        .with_access_token("t")
        .with_developer_token("d")
        .build()
        .unwrap();
    google_ads::GoogleAdsClient::builder(config)
        .with_channel(fake.in_memory_channel())
        .build()
        .unwrap()
}

/// Fails with the child's output unless it passed.
pub fn assert_child_passed(child: &std::process::Output) {
    assert!(
        child.status.success(),
        "{}{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
}

/// Runs test `name` (its full path) of this binary again in a child process, with `envs` set
/// there: for tests that need the process environment changed, which is unsafe in a process
/// whose other threads may read it (as `cargo test` runs tests) and fine in a child of one's
/// own. Works under both cargo test and nextest, whose binaries take libtest's arguments.
#[cfg(feature = "fake")]
pub async fn run_test_in_child(name: &str, envs: &[(&str, String)]) -> std::process::Output {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.args([name, "--exact", "--no-capture", "--test-threads=1"]);
    for (key, value) in envs {
        command.env(key, value);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}
