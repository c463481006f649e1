//! Progress of a sweep on stderr: a bar on a terminal, one plain line per finished run in a
//! batch job's log (no escape codes there).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub enum Progress {
    Bar(ProgressBar),
    Lines {
        total: usize,
        done: usize,
        start: Instant,
    },
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30.cyan/blue} {pos}/{len} runs  {elapsed_precise} elapsed, ETA {eta}  {msg}",
                )
                .expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(500));
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                total,
                done: 0,
                start: Instant::now(),
            }
        }
    }

    /// One run ended; `what` says which and how it did.
    pub fn finished(&mut self, what: &str) {
        match self {
            Progress::Bar(bar) => {
                bar.set_message(what.to_string());
                bar.inc(1);
            }
            Progress::Lines { total, done, start } => {
                *done += 1;
                let elapsed = start.elapsed().as_secs_f64();
                let eta = elapsed / *done as f64 * (*total - *done) as f64;
                eprintln!(
                    "[{done}/{total}] {what}  elapsed {}, ETA {}",
                    human(elapsed),
                    human(eta)
                );
            }
        }
    }

    /// Prints a line above the bar (or as is in a log).
    pub fn line(&self, text: &str) {
        self.printer().line(text);
    }

    /// Something that prints lines without breaking the bar, for another thread.
    pub fn printer(&self) -> Printer {
        match self {
            Progress::Bar(bar) => Printer(Some(bar.clone())),
            Progress::Lines { .. } => Printer(None),
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// Prints whole lines on stderr, above the progress bar when there is one.
#[derive(Clone)]
pub struct Printer(Option<ProgressBar>);

impl Printer {
    pub fn line(&self, text: &str) {
        match &self.0 {
            Some(bar) if !bar.is_finished() => bar.println(text),
            _ => eprintln!("{text}"),
        }
    }
}

/// 42 s, 3 min 05 s, 2 h 07 min.
pub fn human(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s < 60 {
        format!("{:.1} s", seconds)
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}
