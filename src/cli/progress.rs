//! Progress of a sweep on stderr: a bar on a terminal, one plain line per finished run in a
//! batch job's log (no escape codes there). The ETA is the remaining runs' predicted cost over
//! the throughput measured so far ([`Eta`]), not the mean run time × runs left: runs start
//! longest first, so the first ones to finish say little about the rest.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use nnsweep::estimate::Eta;

pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
    start: Instant,
    eta: Eta,
}

impl Progress {
    pub fn new(total: usize, eta: Eta) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30.cyan/blue} {pos}/{len} runs  {elapsed_precise} elapsed, {prefix}  {msg}",
                )
                .expect("a valid template"),
            );
            bar.set_prefix("ETA after the first run");
            bar.enable_steady_tick(Duration::from_millis(500));
            bar
        });
        Progress {
            bar,
            total,
            done: 0,
            start: Instant::now(),
            eta,
        }
    }

    /// Run `id` ended after `seconds`; `what` says which and how it did.
    pub fn finished(&mut self, id: &str, seconds: f64, what: &str) {
        self.done += 1;
        self.eta.finished(id, seconds);
        let eta = self
            .eta
            .seconds_left()
            .map_or_else(|| "unknown".to_string(), human);
        match &self.bar {
            Some(bar) => {
                bar.set_prefix(format!("ETA {eta}"));
                bar.set_message(what.to_string());
                bar.inc(1);
            }
            None => eprintln!(
                "[{}/{}] {what}  elapsed {}, ETA {eta}",
                self.done,
                self.total,
                human(self.start.elapsed().as_secs_f64()),
            ),
        }
    }

    /// Prints a line above the bar (or as is in a log).
    pub fn line(&self, text: &str) {
        self.printer().line(text);
    }

    /// Something that prints lines without breaking the bar, for another thread.
    pub fn printer(&self) -> Printer {
        Printer(self.bar.clone())
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
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
