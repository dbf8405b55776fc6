//! Progress bars for long phases. They draw on stderr only when it is a
//! terminal and `--quiet` is off, so logs and CI output stay clean.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A shared handle that hands out bars, or hidden ones when quiet.
#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    /// Bars unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        let multi = (!quiet).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { multi }
    }

    /// A hidden handle, for tests and library use.
    pub fn hidden() -> Self {
        Self { multi: None }
    }

    /// A bar of `len` steps labelled `msg`.
    pub fn bar(&self, len: u64, msg: &str) -> ProgressBar {
        match &self.multi {
            None => ProgressBar::hidden(),
            Some(m) => {
                let b = m.add(ProgressBar::new(len));
                b.set_style(
                    ProgressStyle::with_template(
                        "{msg:>32} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}",
                    )
                    .expect("static template")
                    .progress_chars("=> "),
                );
                b.set_message(msg.to_string());
                b
            }
        }
    }

    /// Prints a line above the bars (or plainly when there are none).
    pub fn println(&self, line: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }
}

/// A byte-count bar for downloads.
pub fn bytes_bar(len: Option<u64>, msg: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
    b.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .expect("static template")
            .progress_chars("=> "),
    );
    b.set_message(msg.to_string());
    b
}
