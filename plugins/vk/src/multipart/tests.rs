use super::*;

fn boundary_of(form: &Multipart) -> String {
    form.content_type
        .strip_prefix("multipart/form-data; boundary=")
        .expect("the content type names the boundary")
        .to_string()
}

#[test]
fn one_file_part_with_name_and_type() {
    let form = single_file("m1", "photo", "кот \"1\".jpg", "image/jpeg", &[0xff, 0xd8]);
    let boundary = boundary_of(&form);
    assert!(boundary.starts_with("switchboard-vk-"));
    let mut expected = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"кот %221%22.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    expected.extend_from_slice(&[0xff, 0xd8]);
    expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    assert_eq!(form.body, expected);
}

#[test]
fn header_injection_is_defused() {
    let form = single_file("m1", "file", "a\r\nX: y", "text/plain\r\nX: y", b"x");
    let text = String::from_utf8(form.body).unwrap();
    assert!(text.contains("filename=\"a%0D%0AX: y\""));
    assert!(text.contains("Content-Type: text/plainX: y\r\n\r\n"));
}

#[test]
fn boundary_is_stable_per_seed() {
    let a1 = single_file("a", "file", "f", "text/plain", b"1");
    let a2 = single_file("a", "file", "f", "text/plain", b"1");
    let b = single_file("b", "file", "f", "text/plain", b"1");
    assert_eq!(a1.content_type, a2.content_type);
    assert_ne!(a1.content_type, b.content_type);
}

#[test]
fn boundary_avoids_the_content() {
    let first = boundary_of(&single_file("seed", "file", "f", "text/plain", b"1"));
    let hostile = format!("--{first}--");
    let form = single_file("seed", "file", "f", "text/plain", hostile.as_bytes());
    assert_ne!(boundary_of(&form), first);
}
