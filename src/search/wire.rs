//! The two response messages of GoogleAdsService as the reading engine receives them: each
//! message kept whole, as one `bytes::Bytes` of tonic's buffer (no copy), its top-level
//! fields walked once to note where each row lies and to read the few other fields. Rows
//! are parsed only when they are read, and only as far as they are read.
//!
//! [`WholeCodec`] is the tonic codec that does this: requests encoded by prost as usual,
//! responses parsed here. Field numbers are those of `SearchGoogleAdsStreamResponse` and
//! `SearchGoogleAdsResponse` ([`STREAM`], [`PAGE`]); the tests compare what this reads with
//! what the generated messages decode.

use std::marker::PhantomData;

use bytes::{Buf as _, Bytes};
use prost::Message as _;
use prost_types::FieldMask;
use tonic::codec::{Codec, DecodeBuf, Decoder};

use crate::schema::{self, WireValue};

/// Where a response message keeps its fields.
pub(crate) struct Layout {
    results: u32,
    field_mask: u32,
    summary_row: u32,
    query_resource_consumption: u32,
    request_id: Option<u32>,
    next_page_token: Option<u32>,
    total_results_count: Option<u32>,
}

/// `SearchGoogleAdsStreamResponse` (`metric_attributes` = 11 skipped).
pub(crate) const STREAM: Layout = Layout {
    results: 1,
    field_mask: 2,
    summary_row: 3,
    request_id: Some(4),
    query_resource_consumption: 6,
    next_page_token: None,
    total_results_count: None,
};

/// `SearchGoogleAdsResponse`, one page (`metric_attributes` = 13 skipped).
pub(crate) const PAGE: Layout = Layout {
    results: 1,
    next_page_token: Some(2),
    total_results_count: Some(3),
    field_mask: 5,
    summary_row: 6,
    query_resource_consumption: 8,
    request_id: None,
};

/// A response message read as far as its top-level fields.
#[derive(Clone, Debug, Default)]
pub(crate) struct Message {
    pub bytes: Bytes,
    /// Each row's place in `bytes`: offset and length (messages are at most 64 MiB).
    pub rows: Vec<(u32, u32)>,
    pub field_mask: Option<FieldMask>,
    pub summary_row: Option<Bytes>,
    pub request_id: String,
    pub query_resource_consumption: i64,
    pub next_page_token: String,
    pub total_results_count: i64,
}

impl Message {
    /// Reads the top-level fields of `bytes`; an error says why they are not a message.
    pub fn parse(bytes: Bytes, layout: &Layout) -> Result<Self, String> {
        let mut message = Message::default();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        for field in schema::wire_fields(&bytes) {
            let (number, value) = field.map_err(|()| "its fields do not parse".to_owned())?;
            match value {
                WireValue::Bytes(inner) if number == layout.results => {
                    // Inside `bytes`, by construction: the offset fits, as the length does.
                    let at = inner.as_ptr() as usize - bytes.as_ptr() as usize;
                    message.rows.push((at as u32, inner.len() as u32));
                }
                WireValue::Bytes(inner) if number == layout.field_mask => {
                    let mask = FieldMask::decode(inner).map_err(|e| format!("field_mask: {e}"))?;
                    message.field_mask = Some(mask);
                }
                WireValue::Bytes(inner) if number == layout.summary_row => {
                    message.summary_row = Some(bytes.slice_ref(inner));
                }
                WireValue::Bytes(inner) if Some(number) == layout.request_id => {
                    message.request_id = text(inner);
                }
                WireValue::Bytes(inner) if Some(number) == layout.next_page_token => {
                    message.next_page_token = text(inner);
                }
                WireValue::Varint(v) if number == layout.query_resource_consumption => {
                    message.query_resource_consumption = v as i64;
                }
                WireValue::Varint(v) if Some(number) == layout.total_results_count => {
                    message.total_results_count = v as i64;
                }
                _ => {}
            }
        }
        message.bytes = bytes;
        Ok(message)
    }
}

/// A tonic codec: `Req` encoded by prost, each response kept whole and read by [`Message::parse`].
pub(crate) struct WholeCodec<Req> {
    layout: &'static Layout,
    request: PhantomData<fn(Req)>,
}

impl<Req> WholeCodec<Req> {
    pub(crate) fn new(layout: &'static Layout) -> Self {
        Self {
            layout,
            request: PhantomData,
        }
    }
}

impl<Req: prost::Message + Send + 'static> Codec for WholeCodec<Req> {
    type Encode = Req;
    type Decode = Message;
    type Encoder = tonic_prost::ProstEncoder<Req>;
    type Decoder = WholeDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstCodec::<Req, ()>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        WholeDecoder {
            layout: self.layout,
        }
    }
}

pub(crate) struct WholeDecoder {
    layout: &'static Layout,
}

impl Decoder for WholeDecoder {
    type Item = Message;
    type Error = tonic::Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Message>, tonic::Status> {
        // The message's bytes out of tonic's buffer without a copy.
        let bytes = buf.copy_to_bytes(buf.remaining());
        Message::parse(bytes, self.layout).map(Some).map_err(|why| {
            tonic::Status::internal(format!("a response from the server does not decode: {why}"))
        })
    }
}
