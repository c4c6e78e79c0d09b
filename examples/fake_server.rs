//! Starts the in-memory fake Google Ads API and serves until Ctrl-C.
//!
//! Run with: cargo run --example fake_server --features fake [-- ADDR] [--tls]
//!
//! Point any client at the printed address. Accessible customer: 1234567890. Any bearer
//! token and developer token are accepted.

use google_ads::fake::FakeServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = FakeServer::builder();
    for arg in std::env::args().skip(1) {
        builder = match arg.as_str() {
            "--tls" => builder.tls(true),
            addr => builder.with_addr(addr.parse().map_err(|e| format!("ADDR {addr:?}: {e}"))?),
        };
    }
    let fake = builder.start().await?;
    if let Some(ca) = fake.ca_pem() {
        println!("trust this certificate:\n{ca}");
    }
    println!(
        "fake Google Ads API {} listening on {}",
        google_ads::API_VERSION,
        fake.uri()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
