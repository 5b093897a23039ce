//! Connecting a business phone number: check the token against the number,
//! and subscribe the app to the WhatsApp Business Account's webhooks.
//!
//! The webhook URL itself is set once per app in Meta's dashboard (one URL
//! for every number: global routing), not per channel.

use serde::Deserialize;
use serde_json::Value;
use switchboard_meta_graph::error::interpret_success;
use switchboard_meta_graph::payload::optional_id;
use switchboard_meta_graph::webhook::{APP_SECRET, VERIFY_TOKEN};
use switchboard_meta_graph::{Call, Failure};
use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::{Channel, ConnectError, ConnectRequest, Connected};

use crate::account::{Api, PHONE_NUMBER_ID, WABA_ID};

pub(crate) fn connect(request: &ConnectRequest) -> Result<Connected, ConnectError> {
    let (api, phone_id) = checked(request)?;
    let number = phone_call(&api, &phone_id)
        .fetch::<Value>()
        .map_err(Failure::into_connect_error)?;
    let display_name = display_name(&number, &phone_id)?;
    if let Some(waba_id) = request.get(WABA_ID) {
        subscribe_call(&api, waba_id)
            .send()
            .and_then(|answer| interpret_success(answer.status, &answer.body))
            .map_err(Failure::into_connect_error)?;
    }
    Ok(connected(request, phone_id, display_name))
}

/// The fields `connect` needs, each named when missing.
pub(crate) fn checked(request: &ConnectRequest) -> Result<(Api, String), ConnectError> {
    let api = Api::from_config(request).map_err(ConnectError::InvalidConfig)?;
    // Without it every webhook would be refused as unsigned.
    request
        .require(APP_SECRET)
        .map_err(ConnectError::InvalidConfig)?;
    let phone_id = request
        .require(PHONE_NUMBER_ID)
        .map_err(ConnectError::InvalidConfig)?;
    if !phone_id.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(ConnectError::InvalidConfig(
            "`phone_number_id` is the numeric Phone number ID from WhatsApp > API Setup, not the phone number"
                .into(),
        ));
    }
    Ok((api, phone_id.to_string()))
}

/// `GET /{phone-number-id}?fields=display_phone_number,verified_name`.
pub(crate) fn phone_call(api: &Api, phone_id: &str) -> Call {
    Call::get(api.node(phone_id, "?fields=display_phone_number,verified_name")).bearer(&api.token)
}

#[derive(Deserialize)]
struct PhoneNumber {
    display_phone_number: Option<String>,
    verified_name: Option<String>,
    #[serde(default, deserialize_with = "optional_id")]
    id: Option<String>,
}

/// `Shop Kazan (+1 555-078-3881)`.
pub(crate) fn display_name(answer: &Value, phone_id: &str) -> Result<String, ConnectError> {
    let number = PhoneNumber::deserialize(answer).map_err(|error| {
        ConnectError::ProviderError(format!("unexpected phone number answer: {error}"))
    })?;
    if number.id.as_deref().is_some_and(|id| id != phone_id) {
        return Err(ConnectError::ProviderError(format!(
            "Meta answered for phone number {} instead of {phone_id}",
            number.id.unwrap_or_default()
        )));
    }
    Ok(match (number.verified_name, number.display_phone_number) {
        (Some(name), Some(phone)) => format!("{name} ({phone})"),
        (Some(name), None) => name,
        (None, Some(phone)) => phone,
        (None, None) => phone_id.to_string(),
    })
}

pub(crate) fn subscribe_call(api: &Api, waba_id: &str) -> Call {
    Call::post(api.node(waba_id, "/subscribed_apps")).bearer(&api.token)
}

pub(crate) fn connected(
    request: &ConnectRequest,
    phone_id: String,
    display_name: String,
) -> Connected {
    let mut updates = Vec::new();
    if request.get(VERIFY_TOKEN).is_none() {
        updates.push((VERIFY_TOKEN.to_string(), request.webhook_secret.clone()));
    }
    Connected {
        provider_account_id: phone_id,
        display_name,
        config_updates: updates,
    }
}

/// The subscription belongs to the whole WhatsApp Business Account, which
/// may hold other numbers connected as other channels; it is removed only
/// when this channel's number is the account's only one.
pub(crate) fn disconnect(channel: &Channel) -> Result<(), String> {
    let Some(waba_id) = channel.get(WABA_ID) else {
        return Ok(());
    };
    let api = Api::from_config(channel)?;
    let numbers = numbers_call(&api, waba_id)
        .fetch::<Value>()
        .map_err(|failure| failure.describe())?;
    if shares_the_account(&numbers, &channel.provider_account_id) {
        return Ok(());
    }
    unsubscribe_call(&api, waba_id)
        .send()
        .and_then(|answer| interpret_success(answer.status, &answer.body))
        .map_err(|failure| failure.describe())
}

/// `GET /{waba-id}/phone_numbers?fields=id`.
pub(crate) fn numbers_call(api: &Api, waba_id: &str) -> Call {
    Call::get(api.node(waba_id, "/phone_numbers?fields=id")).bearer(&api.token)
}

pub(crate) fn unsubscribe_call(api: &Api, waba_id: &str) -> Call {
    Call::delete(api.node(waba_id, "/subscribed_apps")).bearer(&api.token)
}

/// Whether `{"data":[{"id"}…],"paging"}` lists a number besides ours (or
/// more pages). Unreadable answers count as shared: keeping a subscription
/// costs little, removing another channel's costs its messages.
pub(crate) fn shares_the_account(numbers: &Value, phone_id: &str) -> bool {
    let Some(data) = numbers.get("data").and_then(Value::as_array) else {
        return true;
    };
    let more_pages = numbers
        .get("paging")
        .and_then(|paging| paging.get("next"))
        .is_some();
    more_pages
        || data.iter().any(|number| match number.get("id") {
            Some(Value::String(id)) => id != phone_id,
            Some(Value::Number(id)) => id.to_string() != phone_id,
            _ => true,
        })
}

#[cfg(test)]
mod tests;
