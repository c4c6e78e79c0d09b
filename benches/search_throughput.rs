//! One side of the search throughput benchmark (scripts/bench-search runs every side in a
//! process of its own, against the fake in another process, over TLS on loopback): reads a
//! SearchStream report of `campaign.id`, `campaign.name`, `campaign.status` and prints one
//! line: `side rows seconds rows_per_second peak_rss_kib checksum`.
//!
//! Sides:
//! - `raw`: the generated tonic stub on a plain channel, headers set by hand, every row
//!   decoded by tonic, its three fields read.
//! - `stream`: `GoogleAdsClient::search_stream` (`RowStream`), the same three fields read.
//! - `paths`: `search_stream(..).lazy()`, the three fields read by path (`Column`).
//! - `csv`: `lazy()` rows written by `CsvWriter` (reads by path) to a sink.
//! - `count`: the response body's frames scanned for message headers, nothing copied or
//!   decoded, HTTP/2 windows wide open: what the fake and the transport can deliver at most.
//!
//! Run with: cargo bench --bench search_throughput --features fake -- SIDE ENDPOINT CA_PEM [LIMIT]

mod common;
use common::peak_rss_kib;

use std::time::Instant;

use google_ads::latest::services::SearchGoogleAdsStreamRequest;
use google_ads::latest::services::google_ads_service_client::GoogleAdsServiceClient;
use google_ads::search::{Column, CsvWriter, StreamExt as _};
use google_ads::transport::TransportOptions;
use google_ads::{Config, GoogleAdsClient};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

const CUSTOMER: &str = "1234567890";
const FIELDS: &str = "SELECT campaign.id, campaign.name, campaign.status FROM campaign";
const LIMIT: usize = 64 * 1024 * 1024;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [side, endpoint, ca_pem, rest @ ..] = args.as_slice() else {
        return Err("usage: SIDE ENDPOINT CA_PEM [LIMIT]".into());
    };
    let query = match rest.first() {
        Some(limit) => format!("{FIELDS} LIMIT {limit}"),
        None => FIELDS.to_owned(),
    };
    let ca = std::fs::read_to_string(ca_pem)?;
    let started = Instant::now();
    let (rows, checksum) = match side.as_str() {
        "raw" => raw(endpoint, &ca, &query).await?,
        "count" => count(endpoint, &ca, &query).await?,
        "stream" | "paths" | "csv" => {
            let client = client(endpoint, &ca)?;
            match side.as_str() {
                "stream" => stream(&client, &query).await?,
                "paths" => paths(&client, &query).await?,
                _ => csv(&client, &query).await?,
            }
        }
        other => return Err(format!("unknown side {other:?}").into()),
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{side} {rows} {seconds:.3} {:.0} {} {checksum}",
        rows as f64 / seconds,
        peak_rss_kib()
    );
    Ok(())
}

/// A field of every row folded in, so no side can skip reading it.
fn fold(sum: u64, id: i64, name: &str, status: i32) -> u64 {
    sum.wrapping_add(id as u64)
        .wrapping_add(name.len() as u64)
        .wrapping_add(status as u64)
}

async fn channel(endpoint: &str, ca: &str) -> Result<Channel, Box<dyn std::error::Error>> {
    Ok(Endpoint::from_shared(endpoint.to_owned())?
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)))?
        .connect()
        .await?)
}

fn request(query: &str) -> tonic::Request<SearchGoogleAdsStreamRequest> {
    let mut request = tonic::Request::new(SearchGoogleAdsStreamRequest {
        customer_id: CUSTOMER.into(),
        query: query.into(),
        ..Default::default()
    });
    // What a user of the raw stub sets by hand.
    let headers = request.metadata_mut();
    headers.insert("authorization", "Bearer bench-token".parse().unwrap());
    headers.insert("developer-token", "bench-dev-token".parse().unwrap());
    request
}

async fn raw(
    endpoint: &str,
    ca: &str,
    query: &str,
) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let mut client =
        GoogleAdsServiceClient::new(channel(endpoint, ca).await?).max_decoding_message_size(LIMIT);
    let mut stream = client.search_stream(request(query)).await?.into_inner();
    let (mut rows, mut sum) = (0, 0);
    while let Some(batch) = stream.message().await? {
        for row in &batch.results {
            let campaign = row.campaign.as_deref().ok_or("no campaign")?;
            sum = fold(
                sum,
                campaign.id.unwrap_or_default(),
                campaign.name.as_deref().unwrap_or_default(),
                campaign.status,
            );
            rows += 1;
        }
    }
    Ok((rows, sum))
}

fn client(endpoint: &str, ca: &str) -> Result<GoogleAdsClient, Box<dyn std::error::Error>> {
    let config = Config::builder()
        .with_developer_token("bench-dev-token")
        .with_access_token("bench-token")
        .with_endpoint(endpoint)
        .build()?;
    Ok(GoogleAdsClient::builder(config)
        .with_transport_options(TransportOptions {
            extra_roots_pem: vec![ca.to_owned()],
            ..Default::default()
        })
        .build()?)
}

async fn stream(
    client: &GoogleAdsClient,
    query: &str,
) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let mut rows = client.search_stream(CUSTOMER, query).await?;
    let (mut n, mut sum) = (0, 0);
    while let Some(row) = rows.next().await {
        let row = row?;
        let campaign = row.campaign.as_deref().ok_or("no campaign")?;
        sum = fold(
            sum,
            campaign.id.unwrap_or_default(),
            campaign.name.as_deref().unwrap_or_default(),
            campaign.status,
        );
        n += 1;
    }
    Ok((n, sum))
}

async fn paths(
    client: &GoogleAdsClient,
    query: &str,
) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let id = Column::new("campaign.id")?;
    let name = Column::new("campaign.name")?;
    let status = Column::new("campaign.status")?;
    let mut rows = client.search_stream(CUSTOMER, query).await?.lazy();
    let (mut n, mut sum) = (0, 0);
    while let Some(row) = rows.next().await {
        let row = row?;
        let status = match row.read(&status) {
            google_ads::search::Value::Enum(e) => e.number,
            _ => 0,
        };
        sum = fold(
            sum,
            row.read(&id).as_i64().unwrap_or_default(),
            row.read(&name).as_str().unwrap_or_default(),
            status,
        );
        n += 1;
    }
    Ok((n, sum))
}

async fn csv(
    client: &GoogleAdsClient,
    query: &str,
) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let mut rows = client.search_stream(CUSTOMER, query).await?.lazy();
    let mut out = CsvWriter::new(Counting(0), query)?;
    let mut n = 0;
    while let Some(row) = rows.next().await {
        out.write_row(&row?)?;
        n += 1;
    }
    Ok((n, out.finish()?.0))
}

/// A sink that counts the bytes written (the checksum of the CSV side).
struct Counting(u64);

impl std::io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Rows counted as 10,000 per message (the fake's batches), bytes as the checksum: the call
/// is sent on the bare channel and the response body's frames are only scanned for the gRPC
/// message headers (no copy, no decoding), so this side costs TLS and HTTP/2 alone.
async fn count(
    endpoint: &str,
    ca: &str,
    query: &str,
) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    use http_body_util::BodyExt as _;
    use prost::Message as _;
    use tower::ServiceExt as _;

    let message = request(query);
    let (metadata, _, message) = message.into_parts();
    let mut body = vec![0u8];
    body.extend_from_slice(&(message.encoded_len() as u32).to_be_bytes());
    message.encode(&mut body)?;
    let mut http = http::Request::post(format!(
        "{endpoint}/google.ads.googleads.{}.services.GoogleAdsService/SearchStream",
        google_ads::API_VERSION
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(tonic::body::Body::new(http_body_util::Full::new(
        bytes::Bytes::from(body),
    )))?;
    http.headers_mut().extend(metadata.into_headers());
    // Wide HTTP/2 windows: the server is never held back by this side's window updates.
    let channel = Endpoint::from_shared(endpoint.to_owned())?
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)))?
        .initial_stream_window_size(32 << 20)
        .initial_connection_window_size(32 << 20)
        .connect()
        .await?;
    let response = channel.oneshot(http).await?;
    let mut body = response.into_body();
    // Where the next message header starts, counted from the start of the current frame.
    let (mut messages, mut bytes, mut header, mut skip) = (0u64, 0u64, Vec::new(), 0usize);
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        bytes += data.len() as u64;
        let mut at = 0;
        while at < data.len() {
            if skip > 0 {
                let n = skip.min(data.len() - at);
                skip -= n;
                at += n;
                continue;
            }
            header.push(data[at]);
            at += 1;
            if header.len() == 5 {
                skip = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
                header.clear();
                messages += 1;
            }
        }
    }
    Ok((messages * 10_000, bytes))
}
