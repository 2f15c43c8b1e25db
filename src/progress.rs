//! One progress line on stderr for long commands (`enrich` today): items
//! done out of the total, the rate, and the time left.
//!
//! With `--progress auto` (the default) the line is drawn only when stderr
//! is a terminal and `-q` was not given; it is redrawn in place at most
//! [`REDRAW_EVERY`] and erased when the work ends, so what stays on the
//! screen is the command's own output. `--progress always` draws it
//! anyway (one line per redraw when stderr is not a terminal, or is one
//! with `TERM=dumb`, at most every [`LINE_EVERY`]), unless `-qq` asked for
//! nothing on stderr; `--progress never` draws nothing.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use clap::ValueEnum;

/// How often the line is redrawn on a terminal, at most.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// How often a new line is written when stderr is not a terminal, at most.
const LINE_EVERY: Duration = Duration::from_secs(1);

/// When to show progress (`--progress`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// When stderr is a terminal and `-q` was not given.
    #[default]
    Auto,
    /// Always, also into a file or a pipe.
    Always,
    /// Never.
    Never,
}

/// What decides whether and how the line is drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgressSettings {
    /// `--progress`.
    pub mode: ProgressMode,
    /// How many times `-q` was given.
    pub quiet: u8,
    /// Whether `TERM` is `dumb` (a terminal that cannot redraw a line).
    pub dumb_terminal: bool,
}

/// Where the line goes and how it is redrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Nowhere.
    Hidden,
    /// A terminal: redrawn in place, erased at the end.
    Terminal,
    /// A file or pipe: a new line each time.
    Lines,
}

/// A progress line for one piece of work.
#[derive(Debug)]
pub struct Progress {
    label: &'static str,
    target: Target,
    total: Option<u64>,
    done: u64,
    started: Instant,
    drawn: Option<Instant>,
    /// The counts of the last line written (a file gets no two lines of
    /// the same counts).
    last_counts: Option<(u64, Option<u64>)>,
}

impl Progress {
    /// Starts the line of `label` (what is being done) for `total` items,
    /// if known.
    pub fn start(settings: &ProgressSettings, label: &'static str, total: Option<u64>) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let target = match settings.mode {
            ProgressMode::Never => Target::Hidden,
            _ if settings.quiet >= 2 => Target::Hidden,
            ProgressMode::Auto if settings.quiet > 0 || !terminal => Target::Hidden,
            _ if terminal && !settings.dumb_terminal => Target::Terminal,
            _ => Target::Lines,
        };
        let mut progress = Progress {
            label,
            target,
            total,
            done: 0,
            started: Instant::now(),
            drawn: None,
            last_counts: None,
        };
        progress.draw(true);
        progress
    }

    /// Whether the line is drawn at all (so that work done only to feed
    /// it can be skipped).
    pub fn visible(&self) -> bool {
        self.target != Target::Hidden
    }

    /// Sets the total, when it is learnt or changes (shown at the next
    /// update).
    pub fn set_total(&mut self, total: u64) {
        self.total = Some(total);
    }

    /// Counts `items` more done; the line is drawn at once when that
    /// completes the total.
    pub fn advance(&mut self, items: u64) {
        self.done += items;
        self.draw(self.total == Some(self.done));
    }

    /// Erases the line from the terminal until the next update, so that
    /// what the command prints next (on stdout, the same terminal) starts
    /// on a clean line.
    pub fn clear(&mut self) {
        if self.target == Target::Terminal && self.drawn.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            self.drawn = None;
        }
    }

    /// Ends the line: erased on a terminal, a last line otherwise.
    pub fn finish(&mut self) {
        match self.target {
            Target::Hidden => {}
            Target::Terminal => {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            }
            Target::Lines => self.draw(true),
        }
        self.target = Target::Hidden;
    }

    /// Draws the line if enough time passed since the last drawing (or `now`).
    fn draw(&mut self, now: bool) {
        let every = match self.target {
            Target::Hidden => return,
            Target::Terminal => REDRAW_EVERY,
            Target::Lines => LINE_EVERY,
        };
        if !now && self.drawn.is_some_and(|at| at.elapsed() < every) {
            return;
        }
        self.drawn = Some(Instant::now());
        let line = render(self.label, self.done, self.total, self.started.elapsed());
        let counts = Some((self.done, self.total));
        let mut stderr = std::io::stderr().lock();
        let _ = match self.target {
            Target::Terminal => write!(stderr, "\r\x1b[2K{line}"),
            _ if counts == self.last_counts => return,
            _ => writeln!(stderr, "{line}"),
        };
        let _ = stderr.flush();
        self.last_counts = counts;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The text of the line: `label done/total percent · rate · ETA`.
fn render(label: &str, done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        done as f64 / seconds
    } else {
        0.0
    };
    let mut line = match total {
        Some(total) if total > 0 => {
            let percent = (done.min(total) * 100) / total;
            format!("{label} {done}/{total} {percent}%")
        }
        _ => format!("{label} {done}"),
    };
    if done > 0 {
        line.push_str(&format!(" · {} /s", rate_text(rate)));
        if let Some(left) = total.map(|total| total.saturating_sub(done))
            && left > 0
            && rate > 0.0
        {
            line.push_str(&format!(" · ETA {}", duration_text(left as f64 / rate)));
        }
    }
    line
}

/// A rate with the precision it deserves.
fn rate_text(rate: f64) -> String {
    if rate >= 100.0 {
        format!("{rate:.0}")
    } else if rate >= 10.0 {
        format!("{rate:.1}")
    } else {
        format!("{rate:.2}")
    }
}

/// Seconds as `42s`, `3m07s` or `2h05m`.
fn duration_text(seconds: f64) -> String {
    let seconds = seconds.ceil() as u64;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, (seconds % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_done_total_rate_and_time_left() {
        let line = render("enrich", 10, Some(40), Duration::from_secs(5));
        assert_eq!(line, "enrich 10/40 25% · 2.00 /s · ETA 15s");
        assert_eq!(
            render("enrich", 0, Some(40), Duration::ZERO),
            "enrich 0/40 0%"
        );
        assert_eq!(
            render("ingest", 1500, None, Duration::from_secs(1)),
            "ingest 1500 · 1500 /s"
        );
        assert_eq!(
            render("enrich", 40, Some(40), Duration::from_secs(8)),
            "enrich 40/40 100% · 5.00 /s"
        );
        assert_eq!(duration_text(187.0), "3m07s");
        assert_eq!(duration_text(7500.0), "2h05m");
    }
}
