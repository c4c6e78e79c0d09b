//! [`SearchCall`]: a search about to be sent, its options set with `with_*`, sent by `.await`.
//! The calls go through the client's channel and layer (headers, retries, telemetry) with a
//! codec that leaves rows undecoded ([`super::wire`]).

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::uri::PathAndQuery;

use super::stream::{Core, FetchPage, PageFuture, RowStream, Source, idle_error, page_batch};
use super::wire;
use crate::client::codec;
use crate::customer_id::{CustomerId, CustomerIdError, IntoCustomerId};
use crate::latest::enums::summary_row_setting_enum::SummaryRowSetting;
use crate::latest::services::{
    SearchGoogleAdsRequest, SearchGoogleAdsStreamRequest, SearchSettings,
};
use crate::{CallOptions, Error, GoogleAdsClient};

/// How long a search waits for the server's next message by default (the first included).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Which RPC a search uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    SearchStream,
    Search,
}

/// A search about to be sent, from [`GoogleAdsClient::search_stream`] or
/// [`GoogleAdsClient::search`]: set options with `with_*`, then `.await` it for a
/// [`RowStream`]. Inputs are checked before anything is sent.
#[must_use = "a search is sent when awaited"]
pub struct SearchCall {
    client: GoogleAdsClient,
    method: Method,
    customer_id: Result<CustomerId, CustomerIdError>,
    query: String,
    summary_row: bool,
    total_results_count: bool,
    idle_timeout: Duration,
    options: Option<CallOptions>,
    /// The API version the RPC is sent on (the newest enabled by default).
    version: String,
}

impl std::fmt::Debug for SearchCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchCall")
            .field("method", &self.method)
            .field("customer_id", &self.customer_id)
            .field("query", &self.query)
            .field("summary_row", &self.summary_row)
            .field("total_results_count", &self.total_results_count)
            .field("idle_timeout", &self.idle_timeout)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl SearchCall {
    fn new(
        client: &GoogleAdsClient,
        method: Method,
        customer_id: impl IntoCustomerId,
        query: &str,
    ) -> Self {
        Self {
            client: client.clone(),
            method,
            customer_id: customer_id.into_customer_id(),
            query: query.to_owned(),
            summary_row: false,
            total_results_count: false,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            options: None,
            version: crate::API_VERSION.to_owned(),
        }
    }

    /// Send the search on another enabled API version's GoogleAdsService (`"v25"`, or
    /// `google_ads::v25::API_VERSION`): the server answers with that version's rows, read by
    /// path with [`Column::in_version`](super::Column::in_version) (fields both versions have
    /// read the same with [`Column::new`](super::Column::new)). A version this build does not
    /// have is refused before anything is sent. The request is the newest's message: Google
    /// keeps field numbers across versions, so its bytes are the older version's too.
    pub fn with_api_version(mut self, version: &str) -> Self {
        version.clone_into(&mut self.version);
        self
    }

    /// Ask for the summary row (metrics aggregated over all rows): it comes after the rows,
    /// in a message of its own, and is then in [`RowStream::info`] (and on its [`super::Batch`]).
    pub fn with_summary_row(mut self, yes: bool) -> Self {
        self.summary_row = yes;
        self
    }

    /// For [`GoogleAdsClient::search`]: ask for the number of rows the query matches before
    /// its LIMIT (in [`RowStream::info`] once the first page came). SearchStream cannot count:
    /// asking there is an error.
    pub fn with_total_results_count(mut self, yes: bool) -> Self {
        self.total_results_count = yes;
        self
    }

    /// How long to wait for the server's next message, the first one included, before the
    /// search ends with DEADLINE_EXCEEDED (default [`DEFAULT_IDLE_TIMEOUT`], 5 minutes).
    /// Only waits count: time the caller spends between rows does not.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Per-call options (retry policy, login customer id...) for the call, and for every page
    /// of a paged search.
    pub fn with_call_options(mut self, options: CallOptions) -> Self {
        self.options = Some(options);
        self
    }

    async fn send(self) -> Result<RowStream, Error> {
        let customer_id = self.customer_id.clone()?;
        if self.query.trim().is_empty() {
            return Err(Error::invalid("query", "must not be empty"));
        }
        if self.idle_timeout.is_zero() {
            return Err(Error::invalid("idle_timeout", "must be more than zero"));
        }
        let Some((search, search_stream)) = search_paths(&self.version) else {
            return Err(super::not_enabled(&self.version));
        };
        match self.method {
            Method::SearchStream => self.send_stream(customer_id, search_stream).await,
            Method::Search => self.send_paged(customer_id, search).await,
        }
    }

    async fn send_stream(
        self,
        customer_id: CustomerId,
        path: &'static str,
    ) -> Result<RowStream, Error> {
        if self.total_results_count {
            return Err(Error::invalid(
                "total_results_count",
                "SearchStream cannot count results; use search() (paged) to count",
            ));
        }
        let message = SearchGoogleAdsStreamRequest {
            customer_id: customer_id.into(),
            query: self.query,
            summary_row_setting: if self.summary_row {
                SummaryRowSetting::SummaryRowWithResults as i32
            } else {
                SummaryRowSetting::Unspecified as i32
            },
        };
        let channel = self.client.channel();
        let path = PathAndQuery::from_static(path);
        crate::layer::bodies::request(path.as_str(), &message);
        let request = with_options(message, self.options.as_ref());
        let call = async move {
            let mut grpc = codec::ready(channel).await?;
            let codec = wire::WholeCodec::new(&wire::STREAM);
            grpc.server_streaming(request, path, codec)
                .await
                .map_err(Error::from)
        };
        let response = tokio::time::timeout(self.idle_timeout, call)
            .await
            .map_err(|_| idle_error(self.idle_timeout))??;
        let source = Source::Stream(response.into_inner());
        Ok(RowStream::new(Core::new(source, None, self.idle_timeout)))
    }

    async fn send_paged(
        self,
        customer_id: CustomerId,
        path: &'static str,
    ) -> Result<RowStream, Error> {
        let counted = self.total_results_count;
        // page_size stays 0: the API refuses it (PAGE_SIZE_NOT_SUPPORTED).
        let template = SearchGoogleAdsRequest {
            customer_id: customer_id.into(),
            query: self.query,
            search_settings: Some(SearchSettings {
                return_total_results_count: counted,
                return_summary_row: self.summary_row,
                omit_results: false,
            }),
            ..Default::default()
        };
        let client = self.client.clone();
        let options = self.options.clone();
        let path = PathAndQuery::from_static(path);
        let fetch: FetchPage = Arc::new(move |page_token: String| -> PageFuture {
            let channel = client.channel();
            let message = SearchGoogleAdsRequest {
                page_token,
                ..template.clone()
            };
            crate::layer::bodies::request(path.as_str(), &message);
            let request = with_options(message, options.as_ref());
            let path = path.clone();
            Box::pin(async move {
                let mut grpc = codec::ready(channel).await?;
                let codec = wire::WholeCodec::new(&wire::PAGE);
                let response = grpc.unary(request, path, codec).await?;
                let request_id = response
                    .metadata()
                    .get("request-id")
                    .and_then(|id| id.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                Ok((response.into_inner(), request_id))
            })
        });
        let page = tokio::time::timeout(self.idle_timeout, fetch(String::new()))
            .await
            .map_err(|_| idle_error(self.idle_timeout))??;
        let (first, next_token) = page_batch(page, counted);
        let source = Source::Pages {
            fetch,
            counted,
            next_token,
            in_flight: None,
        };
        Ok(RowStream::new(Core::new(
            source,
            Some(first),
            self.idle_timeout,
        )))
    }
}

impl IntoFuture for SearchCall {
    type Output = Result<RowStream, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

fn with_options<T>(message: T, options: Option<&CallOptions>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(options) = options {
        options.clone().apply(&mut request);
    }
    request
}

impl GoogleAdsClient {
    /// Runs `query` for `customer_id` with GoogleAdsService.SearchStream: `.await` it for a
    /// [`RowStream`] of rows (decoded; `.lazy()` to read them by path, `.batches()` for
    /// whole messages). Rows are pulled off the connection as they are consumed.
    ///
    /// ```no_run
    /// # async fn demo(client: google_ads::GoogleAdsClient) -> Result<(), google_ads::Error> {
    /// use futures_util::StreamExt as _;
    /// let mut rows = client
    ///     .search_stream("1234567890", "SELECT campaign.id, metrics.clicks FROM campaign")
    ///     .await?
    ///     .lazy();
    /// while let Some(row) = rows.next().await {
    ///     let row = row?;
    ///     println!("{} {}", row.get("campaign.id")?, row.get("metrics.clicks")?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn search_stream(&self, customer_id: impl IntoCustomerId, query: &str) -> SearchCall {
        SearchCall::new(self, Method::SearchStream, customer_id, query)
    }

    /// Runs `query` for `customer_id` with GoogleAdsService.Search, following page tokens:
    /// `.await` it for a [`RowStream`] over every page (the next page is asked for when the
    /// rows of the last are consumed). Never sets the deprecated `page_size`.
    pub fn search(&self, customer_id: impl IntoCustomerId, query: &str) -> SearchCall {
        SearchCall::new(self, Method::Search, customer_id, query)
    }
}

/// `search_paths(version)`: an enabled version's (Search, SearchStream) paths, from its
/// generated `paths`.
macro_rules! version_search_paths {
    (latest $latest:ident; $($version:ident $table:ident $errors:ident;)*) => {
        fn search_paths(version: &str) -> Option<(&'static str, &'static str)> {
            $(
                if version == stringify!($version) {
                    return Some((
                        crate::$version::paths::google_ads_service::SEARCH,
                        crate::$version::paths::google_ads_service::SEARCH_STREAM,
                    ));
                }
            )*
            None
        }
    };
}
crate::generated::version_table!(version_search_paths);
