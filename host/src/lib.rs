//! Switchboard host: HTTP edge, topic pipeline, storage and the sandboxed
//! provider plugin runtime.

pub mod api;
pub mod app;
pub mod bus;
pub mod config;
pub mod metrics;
pub mod pipeline;
pub mod plugin;
pub mod plugins_cli;
pub mod replay;
pub mod secrets;
pub mod store;
pub mod web;
