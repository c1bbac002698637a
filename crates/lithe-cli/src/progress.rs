//! Progress bars on a terminal (indicatif); nothing when stderr is not a terminal or
//! with --quiet.

use std::io::IsTerminal;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use crate::GlobalArgs;

/// A byte-progress bar for reading `path`, or `None` when no bar should show.
pub fn file_bar(g: &GlobalArgs, path: &std::path::Path) -> Option<ProgressBar> {
    if g.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let total = std::fs::metadata(path).ok()?.len();
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(format!("reading {}", path.display()));
    Some(pb)
}

/// The callback lithe-core's reader calls with bytes consumed.
pub fn callback(pb: &Option<ProgressBar>) -> Option<lithe_core::io::ProgressFn> {
    pb.as_ref().map(|pb| {
        let pb = pb.clone();
        Arc::new(move |n: u64| pb.set_position(n)) as lithe_core::io::ProgressFn
    })
}

/// A counting bar (e.g. boosting rounds), or `None` when no bar should show.
pub fn count_bar(g: &GlobalArgs, total: u64, what: &str) -> Option<ProgressBar> {
    if g.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(what.to_string());
    Some(pb)
}
