//! What Switchboard's two Meta providers (Instagram and WhatsApp) share,
//! written once. A plain library: the plugins link it into their components.
//!
//! | module    | holds                                                          |
//! |-----------|----------------------------------------------------------------|
//! | `webhook` | the `hub.*` handshake, `X-Hub-Signature-256`, global routing    |
//! | `call`    | one Graph API request, its bearer token, and sending it        |
//! | `error`   | Graph error bodies, and what they mean for `send` and `connect` |
//! | `payload` | the webhook envelope, lenient ids and timestamps, fingerprints |
//!
//! Percent-encoding, multipart bodies and media types are not Meta's own:
//! they live in the SDK (`encode`, `multipart`, `media`).

pub mod call;
pub mod error;
pub mod payload;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;
pub mod webhook;

pub use call::{with_origin, Body, Call};
pub use error::{interpret, Failure, GraphError};

/// The Graph API version every call names. Pinned: Meta changes payloads
/// and errors between versions, and each version lives about two years.
pub const GRAPH_API_VERSION: &str = "v25.0";
