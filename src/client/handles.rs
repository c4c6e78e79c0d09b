//! One handle per service of the API, written by `service_handles!` from the generated
//! table of services (google-ads-types/build/ reads them from the protos): `CampaignService`
//! behind `client.campaign()`, `GoogleAdsService` behind `client.google_ads()`, and so on.
//!
//! Each method takes the request message, or a `tonic::Request` of it (for
//! [`crate::CallOptions`] and metadata), and returns the response message or the call's
//! [`Error`] as the layer built it: the failure decoded, the request id, the attempts. `?`
//! into any error type keeps all of it. Server-streaming methods return a [`ResponseStream`]
//! of `Result<_, Error>` items. `raw()` (feature `raw-clients`) gives the generated tonic
//! client over the same channel, for `tonic::Status` errors and whole `tonic::Response`s.
//!
//! ```no_run
//! # async fn demo(client: google_ads::GoogleAdsClient) -> Result<(), google_ads::Error> {
//! use google_ads::latest::services::SearchGoogleAdsStreamRequest;
//! use google_ads::search::StreamExt as _;
//!
//! let request = SearchGoogleAdsStreamRequest {
//!     customer_id: "1234567890".into(),
//!     query: "SELECT campaign.id FROM campaign".into(),
//!     ..Default::default()
//! };
//! // A server-streaming method: its messages, each a Result.
//! let mut messages = client.google_ads().search_stream(request.clone()).await?;
//! while let Some(message) = messages.next().await {
//!     println!("{} rows", message?.results.len());
//! }
//!
//! // The generated tonic client on the same channel and layer (feature raw-clients):
//! // tonic::Status errors, and the whole response with its metadata.
//! # #[cfg(feature = "raw-clients")] {
//! let response = client.google_ads().raw().search_stream(request).await;
//! if let Err(status) = response {
//!     let error = google_ads::Error::from(status); // the layer's Error, decoded once
//!     eprintln!("{error}");
//! }
//! # }
//! # Ok(()) }
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;

use http::uri::PathAndQuery;

use super::{AdsChannel, GoogleAdsClient, codec};
use crate::Error;
use crate::generated::google;
use crate::layer::bodies;
#[cfg(feature = "raw-clients")]
use crate::transport::MAX_MESSAGE_BYTES;

/// The messages of a server-streaming call, each `Ok`, then at most one `Err` (after which
/// the stream ends). Dropping it cancels the call.
#[derive(Debug)]
pub struct ResponseStream<T> {
    inner: tonic::Streaming<T>,
    /// The call's path, for the DEBUG log of each message.
    method: &'static str,
}

impl<T: std::fmt::Debug> ResponseStream<T> {
    pub(crate) fn new(inner: tonic::Streaming<T>, method: &'static str) -> Self {
        Self { inner, method }
    }

    /// The next message; `None` at the end.
    pub async fn message(&mut self) -> Result<Option<T>, Error> {
        let message = self.inner.message().await.map_err(Error::from)?;
        if let Some(message) = &message {
            bodies::response(self.method, None, message);
        }
        Ok(message)
    }
}

impl<T> ResponseStream<T> {
    /// The tonic stream underneath.
    pub fn into_raw(self) -> tonic::Streaming<T> {
        self.inner
    }
}

impl<T: std::fmt::Debug> Stream for ResponseStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let method = self.method;
        Pin::new(&mut self.inner).poll_next(cx).map(|item| {
            item.map(|result| {
                if let Ok(message) = &result {
                    bodies::response(method, None, message);
                }
                result.map_err(Error::from)
            })
        })
    }
}

/// One method of a handle: a call of [`unary`] or [`server_streaming`] with the method's path
/// and types. Not an `async fn` of its own: rustc checks each of the ~600 methods' bodies, and
/// a state machine per method was seconds of every user's build; one generic body is checked
/// once.
macro_rules! handle_method {
    (unary $method:ident $rpc:literal $service:literal ($req:ty) -> $resp:ty) => {
        #[doc = concat!("`", $service, ".", $rpc, "`.")]
        pub fn $method(
            &self,
            request: impl tonic::IntoRequest<$req>,
        ) -> impl Future<Output = Result<$resp, Error>> {
            unary(
                self.channel.clone(),
                concat!("/", $service, "/", $rpc),
                request.into_request(),
            )
        }
    };
    (server_streaming $method:ident $rpc:literal $service:literal ($req:ty) -> $resp:ty) => {
        #[doc = concat!("`", $service, ".", $rpc, "`: its messages as a stream.")]
        pub fn $method(
            &self,
            request: impl tonic::IntoRequest<$req>,
        ) -> impl Future<Output = Result<ResponseStream<$resp>, Error>> {
            server_streaming(
                self.channel.clone(),
                concat!("/", $service, "/", $rpc),
                request.into_request(),
            )
        }
    };
}

/// A unary call over the layer; its failure as the layer's `Error`.
async fn unary<Req, Resp>(
    channel: AdsChannel,
    path: &'static str,
    request: tonic::Request<Req>,
) -> Result<Resp, Error>
where
    Req: prost::Message + std::fmt::Debug + Send + 'static,
    Resp: prost::Message + std::fmt::Debug + Default + Send + 'static,
{
    bodies::request(path, request.get_ref());
    let mut grpc = codec::ready(channel).await?;
    let codec = codec::SliceCodec::<Req, Resp>::default();
    match grpc
        .unary(request, PathAndQuery::from_static(path), codec)
        .await
    {
        Ok(response) => {
            if bodies::enabled() {
                let request_id = response.metadata().get("request-id");
                let request_id = request_id.and_then(|id| id.to_str().ok());
                bodies::response(path, request_id, response.get_ref());
            }
            Ok(response.into_inner())
        }
        Err(status) => Err(Error::from(status)),
    }
}

/// A server-streaming call over the layer: its messages, or the failure before the first.
async fn server_streaming<Req, Resp>(
    channel: AdsChannel,
    path: &'static str,
    request: tonic::Request<Req>,
) -> Result<ResponseStream<Resp>, Error>
where
    Req: prost::Message + std::fmt::Debug + Send + 'static,
    Resp: prost::Message + std::fmt::Debug + Default + Send + 'static,
{
    bodies::request(path, request.get_ref());
    let mut grpc = codec::ready(channel).await?;
    let codec = codec::SliceCodec::<Req, Resp>::default();
    match grpc
        .server_streaming(request, PathAndQuery::from_static(path), codec)
        .await
    {
        Ok(response) => Ok(ResponseStream::new(response.into_inner(), path)),
        Err(status) => Err(Error::from(status)),
    }
}

/// A handle type and its accessor on the version's [`Services`](v26::Services)-like view for
/// every row of a service table:
/// `Handle accessor "full.Name" => raw::Client { kind method "Rpc" (Request) -> Response; }`.
macro_rules! service_handles {
    ($($handle:ident $accessor:ident $full:literal => $($client:ident)::+ {
        $($kind:ident $method:ident $rpc:literal ($req:ty) -> $resp:ty;)*
    })*) => {
        $(
            #[doc = concat!("`", $full, "`, from `client.", stringify!($accessor), "()`.")]
            #[derive(Clone, Debug)]
            pub struct $handle {
                channel: AdsChannel,
            }

            impl $handle {
                /// The generated tonic client over the same channel and layer (feature
                /// `raw-clients`).
                #[cfg(feature = "raw-clients")]
                pub fn raw(&self) -> $($client)::+<AdsChannel> {
                    <$($client)::+<AdsChannel>>::new(self.channel.clone())
                        .max_decoding_message_size(MAX_MESSAGE_BYTES)
                        .max_encoding_message_size(MAX_MESSAGE_BYTES)
                }

                $(handle_method!($kind $method $rpc $full ($req) -> $resp);)*
            }

            impl Services {
                #[doc = concat!("`", $full, "`.")]
                pub fn $accessor(&self) -> $handle {
                    $handle {
                        channel: self.channel.clone(),
                    }
                }
            }
        )*
    };
}

/// The newest version's accessors straight on the client (`client.campaign()`), as its
/// [`Services`](latest::Services) has them.
macro_rules! latest_accessors {
    ($($handle:ident $accessor:ident $full:literal => $($client:ident)::+ {
        $($kind:ident $method:ident $rpc:literal ($req:ty) -> $resp:ty;)*
    })*) => {
        impl GoogleAdsClient {
            $(
                #[doc = concat!("`", $full, "`, in the newest enabled API version.")]
                pub fn $accessor(&self) -> latest::$handle {
                    self.latest().$accessor()
                }
            )*
        }
    };
}

/// A module of handles for every enabled API version (`handles::v25`, `handles::v26`), its
/// `Services` view from `client.v25()`, and `latest` for the newest.
macro_rules! version_handles {
    (latest $latest:ident; $($version:ident $table:ident $errors:ident;)*) => {
        $(
            #[doc = concat!("The handles of API ", stringify!($version), ", from `client.", stringify!($version), "()`.")]
            pub mod $version {
                use super::*;

                #[doc = concat!("Every service of API ", stringify!($version), " over one client's channel, credentials, headers, retries and telemetry: `client.", stringify!($version), "().campaign()`.")]
                #[derive(Clone, Debug)]
                pub struct Services {
                    channel: AdsChannel,
                }

                impl Services {
                    pub(crate) fn new(channel: AdsChannel) -> Self {
                        Self { channel }
                    }
                }

                crate::generated::$table!(service_handles);
            }

            impl GoogleAdsClient {
                #[doc = concat!("The services of API ", stringify!($version), " (feature `", stringify!($version), "`), over this client's channel.")]
                pub fn $version(&self) -> $version::Services {
                    $version::Services::new(self.channel())
                }
            }
        )*

        pub use self::$latest as latest;

        impl GoogleAdsClient {
            /// The services of the newest enabled API version.
            pub fn latest(&self) -> latest::Services {
                latest::Services::new(self.channel())
            }
        }
    };
}

crate::generated::version_table!(version_handles);
crate::generated::service_table!(latest_accessors);
