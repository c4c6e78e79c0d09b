//! Reports: GAQL searches as streams of rows, rows read by field path, rows written out.
//!
//! [`GoogleAdsClient::search_stream`] (SearchStream) and [`GoogleAdsClient::search`] (Search,
//! page after page) give a [`RowStream`]: a `futures::Stream` of decoded `GoogleAdsRow`s,
//! which [`RowStream::lazy`] turns into undecoded [`Row`]s read by path (`campaign.id`,
//! `metrics.cost_micros`) into a [`Value`], and [`RowStream::batches`] into whole messages
//! ([`Batch`]: field mask, summary row, resource consumption). [`CsvWriter`] and
//! [`JsonLinesWriter`] (and `ParquetWriter`, feature `parquet`) write rows with the query's
//! SELECT list as columns; [`quote`] puts a user's value in a query safely.
//!
//! Owns: reading reports (the calls' codec that leaves rows undecoded, pulling messages as
//! rows are consumed, the idle timeout, progress in errors), reading rows by path over the
//! schema (`crate::schema`), writing them, GAQL quoting and SELECT lists. Does not own: the
//! call itself (the channel and the `layer`: headers, retries, telemetry), or GAQL beyond
//! those two needs (no query builder).
//!
//! Memory stays flat however long the report: one server message (up to 10,000 rows) is held
//! undecoded at a time, and the next is pulled only when the caller asks for its rows (HTTP/2
//! flow control holds the server back meanwhile). A search that fails before its first
//! message is retried by the client's policy like any read; once rows were delivered, a
//! failure ends the stream with how many ([`crate::Error::rows_delivered`]): it is never
//! restarted, since the first rows would come again. A wait for the server longer than the
//! idle timeout (5 minutes by default) ends it the same way.
//!
//! ```no_run
//! # async fn demo(client: google_ads::GoogleAdsClient) -> Result<(), Box<dyn std::error::Error>> {
//! use google_ads::search::{CsvWriter, StreamExt as _};
//!
//! let query = "SELECT campaign.id, campaign.name, metrics.cost_micros FROM campaign";
//! let mut rows = client.search_stream("1234567890", query).await?.lazy();
//! let mut csv = CsvWriter::new(std::io::stdout().lock(), query)?;
//! while let Some(row) = rows.next().await {
//!     csv.write_row(&row?)?;
//! }
//! csv.finish()?;
//! # Ok(()) }
//! ```

mod call;
mod gaql;
#[cfg(feature = "parquet")]
mod parquet;
mod row;
mod stream;
mod value;
mod wire;
mod write;

pub use call::{DEFAULT_IDLE_TIMEOUT, SearchCall};
pub use gaql::{quote, select_fields};
#[cfg(feature = "parquet")]
pub use parquet::ParquetWriter;
pub use row::{Column, Row};
pub use stream::{Batch, Batches, LazyRows, RowStream, SearchInfo};
pub use value::{EnumValue, MessageValue, Value};
pub use write::{CsvWriter, JsonLinesWriter};

/// `futures`' stream methods (`next`, `map`, `try_collect`...), for the streams of this
/// module without a `futures` dependency of your own.
pub use futures_util::{Stream, StreamExt, TryStreamExt};

use crate::Error;
#[cfg(doc)]
use crate::GoogleAdsClient;

/// The error for an API version this build does not have (`with_api_version`, `in_version`).
fn not_enabled(version: &str) -> Error {
    Error::invalid(
        "api_version",
        format!(
            "{version} is not an enabled API version (enabled: {})",
            crate::API_VERSIONS.join(", ")
        ),
    )
}
