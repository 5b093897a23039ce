//! Files a provider hands out or takes: their types, their names, and the
//! URLs they are downloaded from.

use crate::SendError;

/// A provider's table of file extensions and the media types they stand
/// for, read both ways. Extensions compare case-insensitively; when several
/// extensions share a type, the first row names its extension.
#[derive(Debug, Clone, Copy)]
pub struct MediaTypes(pub &'static [(&'static str, &'static str)]);

impl MediaTypes {
    /// The type of an extension (without the dot).
    pub fn for_extension(&self, extension: &str) -> Option<&'static str> {
        self.0
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(extension))
            .map(|(_, mime)| *mime)
    }

    /// The type of a file name, or of a path by its last segment.
    pub fn for_name(&self, name: &str) -> Option<&'static str> {
        let name = name.rsplit('/').next()?;
        let (_, extension) = name.rsplit_once('.')?;
        self.for_extension(extension)
    }

    /// The type of the file a URL names (see [`url_file_name`]).
    pub fn for_url(&self, url: &str) -> Option<&'static str> {
        self.for_name(url_file_name(url)?)
    }

    /// The extension for a type; parameters (`; codecs=opus`) are ignored.
    pub fn extension_for(&self, mime: &str) -> Option<&'static str> {
        let essence = mime.split(';').next()?.trim();
        self.0
            .iter()
            .find(|(_, known)| known.eq_ignore_ascii_case(essence))
            .map(|(extension, _)| *extension)
    }
}

/// The last path segment of a URL, query and fragment dropped; None when
/// the URL has no path or the path ends with a slash.
pub fn url_file_name(url: &str) -> Option<&str> {
    let path = url.split(['?', '#']).next()?;
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    let (_, path) = path.split_once('/')?;
    path.rsplit('/').next().filter(|name| !name.is_empty())
}

/// Checks that an attachment's reference is an absolute http(s) URL to
/// download, trimmed. An empty reference is an attachment without a file
/// (a location, a postback); `what` names the expected URL in the error,
/// as in "`ftp://x` is not *an Instagram media URL*".
pub fn download_url<'a>(provider_ref: &'a str, what: &str) -> Result<&'a str, SendError> {
    let url = provider_ref.trim();
    if url.is_empty() {
        return Err(SendError::Permanent(
            "this attachment has no file to download".into(),
        ));
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(SendError::Permanent(format!("`{url}` is not {what}")));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPES: MediaTypes = MediaTypes(&[
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("oga", "audio/ogg"),
        ("ogg", "audio/ogg"),
        ("pdf", "application/pdf"),
    ]);

    #[test]
    fn types_follow_extensions_both_ways() {
        assert_eq!(TYPES.for_extension("JPG"), Some("image/jpeg"));
        assert_eq!(TYPES.for_extension("exe"), None);
        assert_eq!(TYPES.extension_for("image/jpeg"), Some("jpg"));
        assert_eq!(TYPES.extension_for("Audio/OGG; codecs=opus"), Some("oga"));
        assert_eq!(TYPES.extension_for("application/x-unknown"), None);
    }

    #[test]
    fn names_are_read_by_their_last_segment() {
        assert_eq!(TYPES.for_name("scan.PDF"), Some("application/pdf"));
        assert_eq!(TYPES.for_name("voice/file_3.oga"), Some("audio/ogg"));
        assert_eq!(TYPES.for_name("a.b/c.pdf"), Some("application/pdf"));
        assert_eq!(TYPES.for_name("README"), None);
        assert_eq!(TYPES.for_name("documents.d/file_2"), None);
        assert_eq!(TYPES.for_name(""), None);
    }

    #[test]
    fn url_names_come_from_the_path_not_the_query() {
        let url = "https://sun9-1.userapi.com/impg/abc/x.jpg?size=604x453&sign=f00";
        assert_eq!(url_file_name(url), Some("x.jpg"));
        assert_eq!(TYPES.for_url(url), Some("image/jpeg"));
        assert_eq!(
            url_file_name("https://vk.com/doc1_2?hash=a.b"),
            Some("doc1_2")
        );
        assert_eq!(TYPES.for_url("https://vk.com/doc1_2?hash=a.b"), None);
        assert_eq!(url_file_name("https://x/a.pdf#page=2"), Some("a.pdf"));
        assert_eq!(url_file_name("https://vk.com"), None);
        assert_eq!(url_file_name("https://vk.com/"), None);
        assert_eq!(url_file_name("https://cdn.example?x=/a.jpg"), None);
        assert_eq!(TYPES.for_url(""), None);
    }

    #[test]
    fn download_urls_must_be_absolute_http() {
        assert_eq!(
            download_url(" https://cdn.example/a.jpg ", "a media URL").unwrap(),
            "https://cdn.example/a.jpg"
        );
        assert_eq!(
            download_url("http://127.0.0.1:9/a", "a media URL").unwrap(),
            "http://127.0.0.1:9/a"
        );
        assert!(matches!(
            download_url("  ", "a media URL"),
            Err(SendError::Permanent(ref m)) if m == "this attachment has no file to download"
        ));
        assert!(matches!(
            download_url("ftp://x/y", "an Instagram media URL"),
            Err(SendError::Permanent(ref m)) if m == "`ftp://x/y` is not an Instagram media URL"
        ));
    }
}
