//! The two response messages of GoogleAdsService as the reading engine decodes them: each row
//! left as its encoded bytes, a zero-copy slice of the received message (`bytes::Bytes`), so
//! a row is parsed only when it is read, and only as far as it is read.
//!
//! Field numbers and wire types are those of `SearchGoogleAdsStreamResponse` and
//! `SearchGoogleAdsResponse` (a message and a `bytes` field share one wire form); the tests
//! compare what these decode with what the generated messages decode.

use bytes::Bytes;

/// `SearchGoogleAdsStreamResponse`, rows undecoded (`metric_attributes` skipped).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StreamResponse {
    #[prost(bytes = "bytes", repeated, tag = "1")]
    pub results: Vec<Bytes>,
    #[prost(message, optional, tag = "2")]
    pub field_mask: Option<prost_types::FieldMask>,
    #[prost(bytes = "bytes", optional, tag = "3")]
    pub summary_row: Option<Bytes>,
    #[prost(string, tag = "4")]
    pub request_id: String,
    #[prost(int64, tag = "6")]
    pub query_resource_consumption: i64,
}

/// `SearchGoogleAdsResponse` (one page), rows undecoded (`metric_attributes` skipped).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PageResponse {
    #[prost(bytes = "bytes", repeated, tag = "1")]
    pub results: Vec<Bytes>,
    #[prost(string, tag = "2")]
    pub next_page_token: String,
    #[prost(int64, tag = "3")]
    pub total_results_count: i64,
    #[prost(message, optional, tag = "5")]
    pub field_mask: Option<prost_types::FieldMask>,
    #[prost(bytes = "bytes", optional, tag = "6")]
    pub summary_row: Option<Bytes>,
    #[prost(int64, tag = "8")]
    pub query_resource_consumption: i64,
}
