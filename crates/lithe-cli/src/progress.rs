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

/// Run `work` with a counting bar of `total` steps (e.g. boosting rounds) on a
/// terminal; `work` reports the steps done through the callback it is given. The bar
/// is cleared when `work` returns, whatever it returns.
pub fn with_count_bar<T>(
    g: &GlobalArgs,
    total: u64,
    what: &str,
    work: impl FnOnce(&(dyn Fn(usize) + Sync)) -> T,
) -> T {
    let bar = (!g.quiet && std::io::stderr().is_terminal()).then(|| {
        let pb = ProgressBar::new(total);
        pb.set_style(
            ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.set_message(what.to_string());
        pb
    });
    let progress = |done: usize| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    };
    let out = work(&progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    out
}

/// Run `work` with a spinner whose message `work` sets through the callback it is
/// given (for work whose length is not known ahead); on a terminal only. The spinner
/// is cleared when `work` returns.
pub fn with_message_bar<T>(
    g: &GlobalArgs,
    what: &str,
    work: impl FnOnce(&(dyn Fn(&str) + Sync)) -> T,
) -> T {
    let bar = (!g.quiet && std::io::stderr().is_terminal()).then(|| {
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_message(what.to_string());
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    });
    let say = |msg: &str| {
        if let Some(b) = &bar {
            b.set_message(msg.to_string());
        }
    };
    let out = work(&say);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    out
}
