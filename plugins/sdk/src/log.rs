//! Logging through the host (lines end up in the host's log, tagged with the plugin).

use crate::wit::switchboard::provider::host::{self, LogLevel};

pub fn debug(message: &str) {
    host::log(LogLevel::Debug, message);
}

pub fn info(message: &str) {
    host::log(LogLevel::Info, message);
}

pub fn warn(message: &str) {
    host::log(LogLevel::Warn, message);
}

pub fn error(message: &str) {
    host::log(LogLevel::Error, message);
}
