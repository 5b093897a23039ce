//! Bridges the generated `Guest` trait to the plain [`Provider`] trait.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::wit::exports::switchboard::provider::provider_api::Guest;
use crate::*;

/// The type `register_provider!` exports; plugin authors never name it.
pub struct Adapter<P>(PhantomData<P>);

/// A component holds exactly one provider, so one untyped cell is enough.
fn instance<P: Provider>() -> &'static P {
    static CELL: OnceLock<Box<dyn Any + Send + Sync>> = OnceLock::new();
    CELL.get_or_init(|| Box::new(P::default()))
        .downcast_ref::<P>()
        .expect("a component registers exactly one provider type")
}

impl<P: Provider> Guest for Adapter<P> {
    fn manifest() -> Manifest {
        instance::<P>().manifest()
    }

    fn oauth_authorize_url(request: OauthStart) -> Result<String, ConnectError> {
        instance::<P>().oauth_authorize_url(request)
    }

    fn connect(request: ConnectRequest) -> Result<Connected, ConnectError> {
        instance::<P>().connect(request)
    }

    fn disconnect(channel: Channel) -> Result<(), String> {
        instance::<P>().disconnect(channel)
    }

    fn route(request: IncomingRequest) -> Routing {
        instance::<P>().route(request)
    }

    fn verify(channel: Channel, request: IncomingRequest) -> Verdict {
        instance::<P>().verify(channel, request)
    }

    fn normalize(channel: Channel, request: IncomingRequest) -> Result<Vec<Event>, NormalizeError> {
        instance::<P>().normalize(channel, request)
    }

    fn send(channel: Channel, message: OutboundMessage) -> Result<Sent, SendError> {
        instance::<P>().send(channel, message)
    }

    fn fetch_attachment(
        channel: Channel,
        provider_ref: String,
    ) -> Result<FetchedAttachment, SendError> {
        instance::<P>().fetch_attachment(channel, provider_ref)
    }

    #[cfg(not(feature = "contract-0-1-0"))]
    fn check_connection(channel: Channel) -> Result<ConnectionHealth, SendError> {
        instance::<P>().check_connection(channel)
    }
}
