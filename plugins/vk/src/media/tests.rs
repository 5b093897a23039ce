use super::*;
use switchboard_plugin_sdk::http::HttpError;

fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        body: body.to_vec(),
    }
}

fn vk_origins() -> Origins {
    Origins::from_api_base(None).unwrap()
}

#[test]
fn types_follow_extensions_both_ways() {
    assert_eq!(TYPES.for_extension("JPG"), Some("image/jpeg"));
    assert_eq!(TYPES.for_extension("ogg"), Some("audio/ogg"));
    assert_eq!(TYPES.for_extension("rar"), Some("application/vnd.rar"));
    assert_eq!(TYPES.for_extension("exe"), None);
    assert_eq!(TYPES.extension_for("image/png"), Some("png"));
    assert_eq!(TYPES.extension_for("audio/ogg; codecs=opus"), Some("ogg"));
    assert_eq!(TYPES.extension_for("application/x-unknown"), None);
}

#[test]
fn types_come_from_the_path_not_the_query() {
    let url = "https://sun9-1.userapi.com/impg/abc/x.jpg?size=604x453&quality=96&sign=f00";
    assert_eq!(TYPES.for_url(url), Some("image/jpeg"));
    assert_eq!(TYPES.for_url("https://vk.com/doc1_2?hash=a.b"), None);
    assert_eq!(TYPES.for_url(""), None);
}

#[test]
fn empty_or_foreign_refs_are_refused_up_front() {
    assert!(
        matches!(start(&vk_origins(), ""), Err(SendError::Permanent(ref m)) if m.contains("no file"))
    );
    assert!(matches!(
        start(&vk_origins(), "photo1_2"),
        Err(SendError::Permanent(_))
    ));
    assert_eq!(
        start(&vk_origins(), " https://sun9-1.userapi.com/x.jpg ").unwrap(),
        "https://sun9-1.userapi.com/x.jpg"
    );
}

#[test]
fn api_base_serves_downloads_too() {
    let origins = Origins::from_api_base(Some("http://127.0.0.1:8089")).unwrap();
    assert_eq!(
        start(&origins, "https://sun9-1.userapi.com/x.jpg").unwrap(),
        "http://127.0.0.1:8089/x.jpg"
    );
}

#[test]
fn success_keeps_the_bytes_and_names_the_file() {
    let url = "https://sun9-1.userapi.com/x.jpg?size=1";
    let Step::Done(fetched) = step(
        url,
        response(200, &[("content-type", "image/jpeg")], &[1, 2]),
    )
    .unwrap() else {
        panic!("expected the file");
    };
    assert_eq!(fetched.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(fetched.file_name.as_deref(), Some("x.jpg"));
    assert_eq!(fetched.body, vec![1, 2]);

    // A generic type is replaced by the one the name implies.
    let Step::Done(fetched) = step(
        "https://psv4.userapi.com/c1/report.pdf",
        response(
            200,
            &[("content-type", "application/octet-stream")],
            b"%PDF",
        ),
    )
    .unwrap() else {
        panic!("expected the file");
    };
    assert_eq!(fetched.mime_type.as_deref(), Some("application/pdf"));

    let Step::Done(fetched) =
        step("https://vk.com/doc1_2?hash=x", response(200, &[], b"x")).unwrap()
    else {
        panic!("expected the file");
    };
    assert_eq!(fetched.mime_type, None);
    assert_eq!(fetched.file_name, None);
}

#[test]
fn redirects_are_resolved() {
    let follow = |base: &str, location: &str| match step(
        base,
        response(302, &[("location", location)], b""),
    )
    .unwrap()
    {
        Step::Follow(next) => next,
        other => panic!("expected a redirect, got {other:?}"),
    };
    assert_eq!(
        follow(
            "https://vk.com/doc1_2?hash=x",
            "https://psv4.userapi.com/c1/a.pdf"
        ),
        "https://psv4.userapi.com/c1/a.pdf"
    );
    assert_eq!(
        follow("https://vk.com/doc1_2?hash=x", "/doc1_2?hash=x&dl=1"),
        "https://vk.com/doc1_2?hash=x&dl=1"
    );
    assert_eq!(
        follow("https://vk.com/a/b", "//cdn.example/f"),
        "https://cdn.example/f"
    );
    assert_eq!(
        follow("http://127.0.0.1:1/a/b?q", "c"),
        "http://127.0.0.1:1/a/c"
    );
    assert!(matches!(
        step("https://vk.com/x", response(301, &[], b"")),
        Err(SendError::Permanent(_))
    ));
}

#[test]
fn errors_map_to_what_to_do_next() {
    let url = "https://sun9-1.userapi.com/x.jpg";
    assert!(matches!(
        step(url, response(404, &[], b"Not Found")),
        Err(SendError::Permanent(_))
    ));
    assert!(matches!(
        step(url, response(403, &[], b"")),
        Err(SendError::Permanent(_))
    ));
    assert!(matches!(
        step(url, response(503, &[], b"")),
        Err(SendError::Retry(_))
    ));
    assert!(matches!(
        step(url, response(429, &[], b"")),
        Err(SendError::RateLimited(_))
    ));
}

#[test]
fn a_host_outside_the_allowlist_is_explained() {
    let error = download_error(ApiError::from(HttpError::Denied(
        "origin https://sun9-1.userapi.com:443 is not allowed".into(),
    )));
    assert!(
        matches!(error, SendError::Permanent(ref m) if m.starts_with("host not allowed: origin https://sun9-1.userapi.com:443") && m.contains("CDN"))
    );
    assert!(matches!(
        download_error(ApiError::from(HttpError::Timeout)),
        SendError::Retry(_)
    ));
}
