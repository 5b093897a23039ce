//! Loading plugins from a directory: good components load, bad ones are
//! refused with the file and the reason, and one bad file never stops the rest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use switchboard::plugin::engine::PluginEngine;
use switchboard::plugin::loader::{contract_version, CONTRACT_SECTION};
use switchboard::plugin::{Loader, OperatorLimits};

/// The 8-byte preamble of a WebAssembly component (layer 1, version 0x0d).
const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ sits in the workspace")
        .to_path_buf()
}

fn telegram_component() -> Vec<u8> {
    let path = workspace().join("target/plugins/telegram.wasm");
    std::fs::read(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run scripts/build-plugins.sh first",
            path.display()
        )
    })
}

/// An empty component carrying a contract-version custom section.
fn component_claiming(version: &str) -> Vec<u8> {
    let name = CONTRACT_SECTION.as_bytes();
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(version.as_bytes());
    let mut bytes = EMPTY_COMPONENT.to_vec();
    bytes.push(0); // custom section id
    bytes.push(payload.len() as u8); // LEB128 size (payload < 128 bytes)
    bytes.extend_from_slice(&payload);
    bytes
}

fn loader() -> Loader {
    let engine: Arc<PluginEngine> = PluginEngine::new().expect("engine");
    Loader::new(engine, reqwest::Client::new(), OperatorLimits::default()).expect("loader")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_are_refused_by_name_and_reason_while_good_ones_load() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    write("telegram.wasm", &telegram_component());
    write("a-copy-of-telegram.wasm", &telegram_component());
    write("garbage.wasm", b"this is not wasm at all");
    write("core-module.wasm", b"\0asm\x01\0\0\0");
    write("no-sdk.wasm", EMPTY_COMPONENT);
    write("future.wasm", &component_claiming("9.0.0"));
    write("no-exports.wasm", &component_claiming("0.1.0"));
    write("truncated.wasm", &telegram_component()[..4096]);
    write("notes.txt", b"ignored: not a .wasm file");

    let (loaded, refused) = loader().load_dir(dir.path());

    let ids: Vec<&str> = loaded.iter().map(|plugin| plugin.id()).collect();
    assert_eq!(
        ids,
        ["telegram"],
        "exactly one telegram loads: {refused:#?}"
    );
    assert_eq!(
        loaded[0].file_name, "a-copy-of-telegram.wasm",
        "files load in name order"
    );
    assert_eq!(loaded[0].digest.len(), 64, "sha256 hex digest recorded");

    let reason = |file: &str| -> String {
        refused
            .iter()
            .find(|refusal| refusal.file.ends_with(file))
            .unwrap_or_else(|| panic!("{file} should be refused: {refused:#?}"))
            .reason
            .clone()
    };
    assert!(
        reason("telegram.wasm").contains("already loaded"),
        "{refused:#?}"
    );
    assert!(
        reason("garbage.wasm").contains("not a WebAssembly component"),
        "{refused:#?}"
    );
    assert!(
        reason("core-module.wasm").contains("core wasm module"),
        "{refused:#?}"
    );
    assert!(
        reason("no-sdk.wasm").contains("not built with the Switchboard plugin SDK"),
        "{refused:#?}"
    );
    assert!(
        reason("future.wasm").contains("built for contract 9.0.0"),
        "{refused:#?}"
    );
    assert!(
        reason("no-exports.wasm").contains("does not export"),
        "{refused:#?}"
    );
    assert!(!reason("truncated.wasm").is_empty());
    assert_eq!(refused.len(), 7, "{refused:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_directory_is_reported_not_fatal() {
    let (loaded, refused) = loader().load_dir(Path::new("/nonexistent/switchboard-plugins"));
    assert!(loaded.is_empty());
    assert_eq!(refused.len(), 1);
    assert!(refused[0]
        .reason
        .contains("cannot read the plugins directory"));
}

#[test]
fn the_contract_version_is_read_from_the_sdk_section() {
    assert_eq!(contract_version(&telegram_component()).unwrap(), "0.2.0");
    assert_eq!(
        contract_version(&component_claiming("0.1.0")).unwrap(),
        "0.1.0"
    );
}
