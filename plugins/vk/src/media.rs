//! Downloading inbound media: `provider_ref` is the URL VK gave.
//!
//! VK serves files from many CDN hosts (`sun9-1.userapi.com`,
//! `psv4.userapi.com`, ...) that change over time, and the host's allowlist
//! has no wildcards, so a download from a host the manifest does not list
//! fails with the host's "not allowed" reason, reported as permanent. The
//! host does not follow redirects (they could leave the allowlist); document
//! links (`vk.com/doc...`) redirect to the file, so redirects are followed
//! here, each hop checked by the host again.

use switchboard_plugin_sdk::http::Request;
use switchboard_plugin_sdk::media::{download_url, url_file_name, MediaTypes};
use switchboard_plugin_sdk::{FetchedAttachment, HttpResponse, SendError};

use crate::api::{ApiError, Origins};

/// Document links redirect once or twice; more is a loop.
const MAX_REDIRECTS: usize = 5;

/// Extensions seen in VK media URLs and document names.
pub(crate) const TYPES: MediaTypes = MediaTypes(&[
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("heic", "image/heic"),
    ("mp4", "video/mp4"),
    ("mov", "video/quicktime"),
    ("webm", "video/webm"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("wav", "audio/wav"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("rar", "application/vnd.rar"),
    ("7z", "application/x-7z-compressed"),
    ("txt", "text/plain"),
    ("csv", "text/csv"),
    ("json", "application/json"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
]);

pub(crate) fn fetch(origins: &Origins, provider_ref: &str) -> Result<FetchedAttachment, SendError> {
    let mut url = start(origins, provider_ref)?;
    for _ in 0..=MAX_REDIRECTS {
        let response = Request::get(url.clone())
            .send()
            .map_err(|error| download_error(ApiError::from(error)))?;
        match step(&url, response)? {
            Step::Done(fetched) => return Ok(fetched),
            Step::Follow(next) => url = origins.rebase(&next),
        }
    }
    Err(SendError::Permanent(format!(
        "more than {MAX_REDIRECTS} redirects while downloading {provider_ref}"
    )))
}

fn download_error(error: ApiError) -> SendError {
    match error {
        ApiError::Denied(reason) => SendError::Permanent(format!(
            "host not allowed: {reason}. VK serves media from many CDN hosts; \
             the plugin may only download from the hosts the host allows it"
        )),
        other => other.into_send_error(),
    }
}

/// The first URL to request; empty refs (locations, videos, links) have no file.
pub(crate) fn start(origins: &Origins, provider_ref: &str) -> Result<String, SendError> {
    let url = download_url(provider_ref, "a VK media URL")?;
    Ok(origins.rebase(url))
}

#[derive(Debug)]
pub(crate) enum Step {
    Done(FetchedAttachment),
    Follow(String),
}

/// What one answer means: the file, a redirect to follow, or an error.
pub(crate) fn step(url: &str, response: HttpResponse) -> Result<Step, SendError> {
    match response.status {
        200..=299 => Ok(Step::Done(downloaded(url, response))),
        300..=399 => {
            let location = response.header("location").ok_or_else(|| {
                SendError::Permanent(format!(
                    "VK redirected without a location (HTTP {})",
                    response.status
                ))
            })?;
            Ok(Step::Follow(resolve(url, location)))
        }
        // Signed media URLs expire; an expired one never comes back.
        status => Err(ApiError::from_status(status, &response.body).into_send_error()),
    }
}

fn downloaded(url: &str, response: HttpResponse) -> FetchedAttachment {
    let declared = response
        .media_type()
        .filter(|mime| !mime.is_empty() && *mime != "application/octet-stream")
        .map(str::to_string);
    FetchedAttachment {
        mime_type: declared.or_else(|| TYPES.for_url(url).map(str::to_string)),
        file_name: url_file_name(url)
            .filter(|name| name.contains('.'))
            .map(str::to_string),
        body: response.body,
    }
}

/// A `Location` may be absolute, or relative to the origin (`/path`).
fn resolve(base: &str, location: &str) -> String {
    let location = location.trim();
    if location.starts_with("https://") || location.starts_with("http://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some(path) = location.strip_prefix("//") {
        return format!("{scheme}://{path}");
    }
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    // Relative to the current directory: rare enough to resolve simply.
    let path = rest[authority.len()..]
        .split(['?', '#'])
        .next()
        .unwrap_or("/");
    let directory = path.rsplit_once('/').map_or("", |(directory, _)| directory);
    format!("{scheme}://{authority}{directory}/{location}")
}

#[cfg(test)]
mod tests;
