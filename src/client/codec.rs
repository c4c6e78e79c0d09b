//! The codec of every call this crate makes: requests encoded by prost as tonic's own codec
//! does, responses decoded from the message's bytes as one slice.
//!
//! Why not tonic_prost's codec: it decodes through tonic's `DecodeBuf`, and prost's decoding
//! is generic over the buffer. A second buffer type (the slice that rows read later by path
//! are decoded from) made rustc build every message's decoder twice: for `GoogleAdsRow`, which
//! holds every resource, that was a fifth of this crate's code and seconds of every user's
//! build (BENCHMARKS.md). One buffer type, one decoder per message.

use std::marker::PhantomData;

use bytes::Buf as _;
use tonic::codec::{Codec, DecodeBuf, Decoder};

use super::AdsChannel;
use crate::Error;
use crate::transport::MAX_MESSAGE_BYTES;

/// `Req` encoded by prost, `Resp` decoded from one slice.
pub(crate) struct SliceCodec<Req, Resp>(PhantomData<fn(Req) -> Resp>);

impl<Req, Resp> Default for SliceCodec<Req, Resp> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<Req, Resp> Codec for SliceCodec<Req, Resp>
where
    Req: prost::Message + Send + 'static,
    Resp: prost::Message + Default + Send + 'static,
{
    type Encode = Req;
    type Decode = Resp;
    type Encoder = tonic_prost::ProstEncoder<Req>;
    type Decoder = SliceDecoder<Resp>;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstCodec::<Req, ()>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        SliceDecoder(PhantomData)
    }
}

pub(crate) struct SliceDecoder<Resp>(PhantomData<fn() -> Resp>);

impl<Resp: prost::Message + Default> Decoder for SliceDecoder<Resp> {
    type Item = Resp;
    type Error = tonic::Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Resp>, tonic::Status> {
        // The message's bytes out of tonic's buffer, without a copy.
        let bytes = buf.copy_to_bytes(buf.remaining());
        Resp::decode(bytes.as_ref())
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("a response does not decode: {e}")))
    }
}

/// A gRPC client over the crate's channel, with the API's message size limits.
pub(crate) fn grpc(channel: AdsChannel) -> tonic::client::Grpc<AdsChannel> {
    tonic::client::Grpc::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// [`grpc`] once the channel takes a call.
pub(crate) async fn ready(channel: AdsChannel) -> Result<tonic::client::Grpc<AdsChannel>, Error> {
    let mut grpc = grpc(channel);
    grpc.ready().await.map_err(|e| {
        Error::from(tonic::Status::unavailable(format!(
            "the channel is not ready: {e}"
        )))
    })?;
    Ok(grpc)
}
