use super::*;
use switchboard_plugin_sdk::testing::permanent;

fn file(kind: UploadKind) -> Upload {
    Upload {
        kind,
        file_name: "счёт.pdf".into(),
        mime_type: "application/pdf".into(),
        data: b"%PDF-1.7".to_vec(),
    }
}

#[test]
fn each_kind_asks_its_upload_server() {
    let photo = server_call(UploadKind::Photo, 55501234);
    assert_eq!(photo.method, "photos.getMessagesUploadServer");
    assert_eq!(photo.params, vec![("peer_id", "55501234".to_string())]);
    let doc = server_call(UploadKind::Doc, 2000000003);
    assert_eq!(doc.method, "docs.getMessagesUploadServer");
    assert_eq!(doc.get("type"), Some("doc"));
    assert_eq!(doc.get("peer_id"), Some("2000000003"));
    let voice = server_call(UploadKind::AudioMessage, 5);
    assert_eq!(voice.get("type"), Some("audio_message"));
}

#[test]
fn the_upload_url_is_read_from_the_answer() {
    let body = br#"{"response":{"album_id":-3,"upload_url":"https://pu.vk.com/c123/ss2/upload.php?act=do_add","group_id":218000001}}"#;
    assert_eq!(
        upload_url(200, body).unwrap(),
        "https://pu.vk.com/c123/ss2/upload.php?act=do_add"
    );
    assert!(
        permanent(upload_url(200, br#"{"response":{"upload_url":""}}"#)).contains("upload server")
    );
    let denied = br#"{"error":{"error_code":15,"error_msg":"Access denied"}}"#;
    assert!(permanent(upload_url(200, denied)).contains("VK error 15"));
}

#[test]
fn the_form_names_the_field_each_kind_uses() {
    let photo = Upload {
        kind: UploadKind::Photo,
        file_name: "cat.jpg".into(),
        mime_type: "image/jpeg".into(),
        data: vec![0xff, 0xd8],
    };
    let body = String::from_utf8_lossy(&form(&photo, "m1").body).into_owned();
    assert!(body.contains("name=\"photo\"; filename=\"cat.jpg\"\r\nContent-Type: image/jpeg"));
    let body = String::from_utf8_lossy(&form(&file(UploadKind::Doc), "m1").body).into_owned();
    assert!(body.contains(
        "name=\"file\"; filename=\"счёт.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7"
    ));
    let body =
        String::from_utf8_lossy(&form(&file(UploadKind::AudioMessage), "m1").body).into_owned();
    assert!(body.contains("name=\"file\""));
}

#[test]
fn a_photo_upload_is_saved_with_server_photo_and_hash() {
    let answer = br#"{"server":812345,"photo":"[{\"photo\":\"abc\",\"sizes\":[]}]","hash":"f00d"}"#;
    let call = save_call(&file(UploadKind::Photo), 200, answer).unwrap();
    assert_eq!(call.method, "photos.saveMessagesPhoto");
    assert_eq!(
        call.params,
        vec![
            ("server", "812345".to_string()),
            ("photo", r#"[{"photo":"abc","sizes":[]}]"#.to_string()),
            ("hash", "f00d".to_string()),
        ]
    );
    let rejected = br#"{"server":812345,"photo":"[]","hash":"f00d"}"#;
    assert!(permanent(save_call(&file(UploadKind::Photo), 200, rejected)).contains("JPEG"));
}

#[test]
fn a_doc_upload_is_saved_with_its_title() {
    let call = save_call(
        &file(UploadKind::Doc),
        200,
        br#"{"file":"55501234|0|0|abc"}"#,
    )
    .unwrap();
    assert_eq!(call.method, "docs.save");
    assert_eq!(call.get("file"), Some("55501234|0|0|abc"));
    assert_eq!(call.get("title"), Some("счёт.pdf"));
}

#[test]
fn upload_server_errors_are_reported() {
    let refused = br#"{"error":"unknown error","error_descr":"file type is not allowed"}"#;
    assert_eq!(
        permanent(save_call(&file(UploadKind::Doc), 200, refused)),
        "VK's upload server refused the file: file type is not allowed"
    );
    assert!(
        permanent(save_call(&file(UploadKind::Doc), 200, br#"{"file":""}"#))
            .contains("did not accept")
    );
    assert!(permanent(save_call(&file(UploadKind::Doc), 200, b"<html>")).contains("JSON"));
    assert!(matches!(
        save_call(&file(UploadKind::Doc), 502, b"Bad Gateway"),
        Err(SendError::Retry(_))
    ));
}

#[test]
fn saved_photos_become_attachment_strings() {
    let body = br#"{"response":[{"album_id":-3,"date":1,"id":457239020,"owner_id":-218000001,"access_key":"ak1","sizes":[]}]}"#;
    assert_eq!(
        attachment(UploadKind::Photo, 200, body).unwrap(),
        "photo-218000001_457239020_ak1"
    );
    let body = br#"{"response":[{"id":457239020,"owner_id":-218000001}]}"#;
    assert_eq!(
        attachment(UploadKind::Photo, 200, body).unwrap(),
        "photo-218000001_457239020"
    );
}

#[test]
fn saved_docs_read_both_answer_shapes() {
    let current = br#"{"response":{"type":"doc","doc":{"id":6001,"owner_id":-218000001,"title":"invoice.pdf","url":"https://vk.com/doc"}}}"#;
    assert_eq!(
        attachment(UploadKind::Doc, 200, current).unwrap(),
        "doc-218000001_6001"
    );
    let voice = br#"{"response":{"type":"audio_message","audio_message":{"id":7001,"owner_id":-218000001,"duration":3}}}"#;
    assert_eq!(
        attachment(UploadKind::AudioMessage, 200, voice).unwrap(),
        "doc-218000001_7001"
    );
    let old = br#"{"response":[{"id":6002,"owner_id":5}]}"#;
    assert_eq!(attachment(UploadKind::Doc, 200, old).unwrap(), "doc5_6002");
    assert!(permanent(attachment(
        UploadKind::Doc,
        200,
        br#"{"response":{"type":"doc"}}"#
    ))
    .contains("unexpected"));
    assert!(
        permanent(attachment(UploadKind::Photo, 200, br#"{"response":[]}"#)).contains("unexpected")
    );
}
