//! GAQL searches as rows: [`GoogleAdsClient::search_stream`].
//!
//! Owns: reading reports. Does not own: the call itself (the `GoogleAdsService` handle and
//! the layer).
//!
//! A stream that fails before its first row is retried by the client's policy like any read;
//! once rows were delivered, a failure is surfaced with how many, never silently restarted
//! (the caller would see the first rows twice).

use std::collections::VecDeque;

use crate::client::ResponseStream;
use crate::customer_id::IntoCustomerId;
use crate::latest::services::{
    GoogleAdsRow, SearchGoogleAdsStreamRequest, SearchGoogleAdsStreamResponse,
};
use crate::{Error, GoogleAdsClient};

/// The rows of one SearchStream call, in order.
#[derive(Debug)]
pub struct RowStream {
    stream: ResponseStream<SearchGoogleAdsStreamResponse>,
    pending: VecDeque<GoogleAdsRow>,
    delivered: u64,
    request_id: Option<String>,
}

impl RowStream {
    /// The next row; `None` at the end. After an error the stream is over.
    pub async fn next(&mut self) -> Option<Result<GoogleAdsRow, Error>> {
        loop {
            if let Some(row) = self.pending.pop_front() {
                self.delivered += 1;
                return Some(Ok(row));
            }
            match self.stream.message().await {
                Ok(Some(batch)) => {
                    if self.request_id.is_none() && !batch.request_id.is_empty() {
                        self.request_id = Some(batch.request_id);
                    }
                    self.pending.extend(batch.results);
                }
                Ok(None) => return None,
                Err(error) => {
                    return Some(Err(error.with_rows_delivered(self.delivered)));
                }
            }
        }
    }

    /// Every remaining row, or the first error.
    pub async fn collect_all(mut self) -> Result<Vec<GoogleAdsRow>, Error> {
        let mut rows = Vec::new();
        while let Some(row) = self.next().await {
            rows.push(row?);
        }
        Ok(rows)
    }

    /// How many rows [`RowStream::next`] has returned.
    pub fn rows_delivered(&self) -> u64 {
        self.delivered
    }

    /// The request id of the stream, once its first message arrived.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

impl GoogleAdsClient {
    /// Runs `query` against `customer_id` (10 digits) with GoogleAdsService.SearchStream.
    pub async fn search_stream(
        &self,
        customer_id: impl IntoCustomerId,
        query: &str,
    ) -> Result<RowStream, Error> {
        let customer_id = customer_id.into_customer_id()?;
        if query.trim().is_empty() {
            return Err(Error::invalid("query", "must not be empty"));
        }
        let request = SearchGoogleAdsStreamRequest {
            customer_id: customer_id.into(),
            query: query.to_owned(),
            ..Default::default()
        };
        let stream = self.google_ads().search_stream(request).await?;
        Ok(RowStream {
            stream,
            pending: VecDeque::new(),
            delivered: 0,
            request_id: None,
        })
    }
}
