//! Uploading a job's operations exactly once. AddBatchJobOperations is taken out of the
//! layer's automatic retries: after any failure that may have been applied, the job is read
//! back (`batch_job.metadata.operation_count`, `next_add_sequence_token`) and the upload
//! continues from the first operation the server does not hold. A count that is neither what
//! was acknowledged nor that plus the call in flight stops the driver: another writer, or a
//! bug, and the job is never run.
//!
//! Each chunk is encoded once: the bytes are hashed (for resuming), sent, and sent again if
//! needed, through a codec that writes them as they are (the generated stub would encode the
//! messages again on every attempt).

use crate::latest::errors::batch_job_error_enum::BatchJobError;
use crate::latest::errors::error_code::ErrorCode;
use std::time::Duration;

use bytes::{BufMut as _, Bytes, BytesMut};
use prost::Message as _;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::latest::services::AddBatchJobOperationsResponse;
use crate::retry::{
    AttemptLimit, BackoffPolicy as _, FailedAttempt, NeverRetry, RetryPolicy, RetryPolicyExt as _,
    SERVER_DELAY_CAP, ServerDelay, google_backoff, server_delay,
};
use crate::{CallOptions, Error, GoogleAdsClient};

/// An encoded AddBatchJobOperationsRequest, sent as it is.
#[derive(Clone, Debug)]
pub(crate) struct EncodedRequest(pub Bytes);

/// The request of one upload call: `resource_name`, `sequence_token` (unset on the first
/// call) and the already encoded operations, in the message's own field numbers.
pub(crate) fn encode_request(
    job: &str,
    token: Option<&str>,
    operations: &[Bytes],
) -> EncodedRequest {
    use prost::encoding::{WireType, encode_key, encode_varint, string};
    let size = operations.iter().map(|o| o.len() + 10).sum::<usize>() + job.len() + 64;
    let mut buf = BytesMut::with_capacity(size);
    string::encode(1, &job.to_owned(), &mut buf);
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        string::encode(2, &token.to_owned(), &mut buf);
    }
    for operation in operations {
        encode_key(3, WireType::LengthDelimited, &mut buf);
        encode_varint(operation.len() as u64, &mut buf);
        buf.put_slice(operation);
    }
    EncodedRequest(buf.freeze())
}

/// The most bytes one AddBatchJobOperations request may take (API notes, section 3).
pub(crate) const MAX_REQUEST_BYTES: usize = 10_484_504;

/// Writes an [`EncodedRequest`]'s bytes; reads the answer with prost.
#[derive(Clone, Copy, Debug, Default)]
struct PreEncoded;

impl Codec for PreEncoded {
    type Encode = EncodedRequest;
    type Decode = AddBatchJobOperationsResponse;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self::Encoder {
        *self
    }

    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl Encoder for PreEncoded {
    type Item = EncodedRequest;
    type Error = tonic::Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item.0);
        Ok(())
    }
}

impl Decoder for PreEncoded {
    type Item = AddBatchJobOperationsResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        AddBatchJobOperationsResponse::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("undecodable answer: {e}")))
    }
}

/// One AddBatchJobOperations call, never retried by the layer (the driver decides).
pub(crate) async fn add_operations(
    client: &GoogleAdsClient,
    request: EncodedRequest,
) -> Result<AddBatchJobOperationsResponse, Error> {
    let mut grpc = crate::client::codec::grpc(client.channel());
    // Not codec::ready: a channel that is not ready fails the upload with its own status.
    grpc.ready()
        .await
        .map_err(|e| Error::from(tonic::Status::from_error(e)))?;
    let path = http::uri::PathAndQuery::from_static(
        crate::latest::paths::batch_job_service::ADD_BATCH_JOB_OPERATIONS,
    );
    let logged = crate::layer::bodies::enabled();
    if logged {
        // The operations were encoded once, up front: decoded again for the log only. From a
        // slice, as every decode in the crate: each other buffer type would make rustc build
        // every message's decoder again (BENCHMARKS.md, issue 23).
        use prost::Message as _;
        if let Ok(typed) =
            crate::latest::services::AddBatchJobOperationsRequest::decode(request.0.as_ref())
        {
            crate::layer::bodies::request(path.as_str(), &typed);
        }
    }
    let request = CallOptions::new()
        .retry_policy(NeverRetry)
        .idempotent(false)
        .request(request);
    let response = grpc.unary(request, path.clone(), PreEncoded).await?;
    if logged {
        let request_id = response.metadata().get("request-id");
        let request_id = request_id.and_then(|id| id.to_str().ok());
        crate::layer::bodies::response(path.as_str(), request_id, response.get_ref());
    }
    Ok(response.into_inner())
}

/// Whether a failed upload certainly changed nothing on the server, so that reading the job
/// back is pointless: a refusal of the request itself. Everything else (no answer, a broken
/// connection, UNAVAILABLE, a quota error, INVALID_SEQUENCE_TOKEN...) may have been applied.
pub(crate) fn certainly_not_applied(error: &Error) -> bool {
    use tonic::Code;
    if error.has_error_code(ErrorCode::BatchJobError(
        BatchJobError::InvalidSequenceToken.into(),
    )) {
        return false;
    }
    match error.code() {
        Some(
            Code::InvalidArgument
            | Code::PermissionDenied
            | Code::NotFound
            | Code::FailedPrecondition,
        ) => true,
        Some(Code::Unauthenticated) => true,
        None => error.auth_error().is_some_and(|a| a.is_permanent()),
        _ => false,
    }
}

/// The policy of the upload and run loops: anything that may have been applied is tried
/// again (after the job is read back), waiting the server's delay under the one cap rule, or
/// Google's backoff; at most `attempts` attempts.
pub(crate) fn reconciled(attempts: u32) -> AttemptLimit<Reconciled> {
    Reconciled.with_attempt_limit(attempts.max(1))
}

/// See [`reconciled`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reconciled;

impl RetryPolicy for Reconciled {
    fn retry_after(&self, attempt: &FailedAttempt<'_>) -> Option<Duration> {
        if certainly_not_applied(attempt.error) {
            return None;
        }
        match server_delay(attempt.error, SERVER_DELAY_CAP) {
            ServerDelay::Wait(delay) => Some(delay),
            ServerDelay::TooLong => None,
            ServerDelay::None => Some(google_backoff().delay(attempt.attempt)),
        }
    }
}
