//! Winding a sweep down on a signal, the way batch systems ask: SLURM sends SIGTERM at a job's
//! time limit (and SIGKILL some seconds later), `#SBATCH --signal=B:USR1@120` sends SIGUSR1 two
//! minutes before it, and Ctrl-C is SIGINT.
//!
//! On the first of SIGTERM, SIGINT or SIGUSR1 no new run starts; runs in flight get a grace
//! time to finish (their rows are written as usual), then are abandoned. A second SIGINT or
//! SIGTERM abandons them at once. This module only sets the runner's [`Control`] flags: the
//! engine sees nothing but its `abandon` flag, and the caller decides what to print and which
//! exit code to give.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signal_hook::consts::signal::{SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::{Handle, Signals};

use crate::runner::Control;

/// The signals that stop a sweep.
pub const STOP_SIGNALS: [i32; 3] = [SIGTERM, SIGINT, SIGUSR1];

/// "SIGTERM" for `SIGTERM`.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGTERM => "SIGTERM",
        SIGINT => "SIGINT",
        SIGUSR1 => "SIGUSR1",
        _ => "a signal",
    }
}

/// Listens for the stop signals for as long as it lives.
pub struct Watcher {
    handle: Handle,
    first: Arc<Mutex<Option<i32>>>,
}

impl Watcher {
    /// Catches SIGTERM, SIGINT and SIGUSR1 from now on, and winds `control` down on them with
    /// `grace` for the runs in flight. `say` tells the user what happens (it is called from
    /// another thread).
    pub fn install(
        control: Arc<Control>,
        grace: Duration,
        say: impl Fn(&str) + Send + 'static,
    ) -> std::io::Result<Watcher> {
        let mut signals = Signals::new(STOP_SIGNALS)?;
        let handle = signals.handle();
        let first = Arc::new(Mutex::new(None));
        let (sender, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("nnsweep-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if sender.send(signal).is_err() {
                        break;
                    }
                }
            })?;
        let seen = Arc::clone(&first);
        std::thread::Builder::new()
            .name("nnsweep-shutdown".into())
            .spawn(move || supervise(&receiver, &control, grace, &seen, &say))?;
        Ok(Watcher { handle, first })
    }

    /// The first stop signal received, if any.
    pub fn received(&self) -> Option<i32> {
        *self.first.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// The shutdown sequence, fed with signal numbers: first signal → stop starting runs; grace
/// over, or a second SIGINT/SIGTERM → abandon the runs in flight.
fn supervise(
    signals: &Receiver<i32>,
    control: &Control,
    grace: Duration,
    first: &Mutex<Option<i32>>,
    say: &dyn Fn(&str),
) {
    let Ok(signal) = signals.recv() else {
        return;
    };
    *first.lock().unwrap_or_else(|e| e.into_inner()) = Some(signal);
    control.stop_starting.store(true, SeqCst);
    // Each word is said before the flag it announces is set: once runs are abandoned the main
    // thread may end the process, and a word said after that would be lost.
    if grace.is_zero() {
        say(&format!(
            "{}: stopping; no new run starts and runs in flight are abandoned (--grace 0)",
            name(signal)
        ));
        control.abandon.store(true, SeqCst);
        return;
    }
    say(&format!(
        "{}: stopping; no new run starts, runs in flight get {} s to finish \
         (a second SIGINT/Ctrl-C or SIGTERM abandons them at once)",
        name(signal),
        grace.as_secs_f64()
    ));
    let deadline = Instant::now() + grace;
    loop {
        match signals.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(again @ (SIGINT | SIGTERM)) => {
                say(&format!(
                    "{} again: abandoning the runs in flight now",
                    name(again)
                ));
                control.abandon.store(true, SeqCst);
                return;
            }
            Ok(other) => say(&format!(
                "{}: already stopping, runs in flight have until the grace time ends",
                name(other)
            )),
            Err(RecvTimeoutError::Timeout) => {
                say(&format!(
                    "grace time of {} s over: abandoning the runs still in flight",
                    grace.as_secs_f64()
                ));
                control.abandon.store(true, SeqCst);
                return;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// A stop signal received before the sweep started training (while loading or planning):
/// nothing was written, and the same command starts again.
#[derive(Debug, thiserror::Error)]
#[error("stopped by {} before training started; nothing was written, run the same command again", name(*.0))]
pub struct Stopped(pub i32);

impl crate::exit::ExitStatus for Stopped {
    fn exit_code(&self) -> u8 {
        crate::exit::INTERRUPTED
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::Sender;
    use std::thread::JoinHandle;

    struct Run {
        control: Arc<Control>,
        sender: Sender<i32>,
        said: Arc<Mutex<Vec<String>>>,
        first: Arc<Mutex<Option<i32>>>,
        thread: JoinHandle<()>,
    }

    fn start(grace: Duration) -> Run {
        let control = Arc::new(Control::default());
        let (sender, receiver) = mpsc::channel();
        let said = Arc::new(Mutex::new(Vec::new()));
        let first = Arc::new(Mutex::new(None));
        let thread = {
            let (control, said, first) = (control.clone(), said.clone(), first.clone());
            std::thread::spawn(move || {
                let say = |s: &str| said.lock().unwrap().push(s.to_string());
                supervise(&receiver, &control, grace, &first, &say)
            })
        };
        Run {
            control,
            sender,
            said,
            first,
            thread,
        }
    }

    fn flags(c: &Control) -> (bool, bool) {
        (c.stop_starting.load(SeqCst), c.abandon.load(SeqCst))
    }

    fn wait_until(what: impl Fn() -> bool) {
        let end = Instant::now() + Duration::from_secs(5);
        while !what() {
            assert!(Instant::now() < end, "timed out");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn the_first_signal_stops_starting_and_the_grace_time_then_abandons() {
        let run = start(Duration::from_millis(300));
        assert_eq!(flags(&run.control), (false, false));
        let sent = Instant::now();
        run.sender.send(SIGUSR1).unwrap();
        wait_until(|| run.control.stop_starting.load(SeqCst));
        assert!(
            !run.control.abandon.load(SeqCst),
            "abandoned before the grace time"
        );
        // A repeated USR1 does not cut the grace time short.
        run.sender.send(SIGUSR1).unwrap();
        wait_until(|| run.control.abandon.load(SeqCst));
        assert!(sent.elapsed() >= Duration::from_millis(300));
        run.thread.join().unwrap();
        assert_eq!(*run.first.lock().unwrap(), Some(SIGUSR1));
        let said = run.said.lock().unwrap();
        assert!(said[0].starts_with("SIGUSR1: stopping"), "{said:?}");
        assert!(said.last().unwrap().contains("grace time"), "{said:?}");
    }

    #[test]
    fn a_second_sigint_abandons_at_once() {
        let run = start(Duration::from_secs(3600));
        run.sender.send(SIGTERM).unwrap();
        wait_until(|| run.control.stop_starting.load(SeqCst));
        assert!(!run.control.abandon.load(SeqCst));
        run.sender.send(SIGINT).unwrap();
        run.thread.join().unwrap();
        assert_eq!(flags(&run.control), (true, true));
        assert_eq!(*run.first.lock().unwrap(), Some(SIGTERM));
        assert!(run.said.lock().unwrap()[1].starts_with("SIGINT again"));
    }

    #[test]
    fn no_grace_abandons_at_the_first_signal() {
        let run = start(Duration::ZERO);
        run.sender.send(SIGTERM).unwrap();
        run.thread.join().unwrap();
        assert_eq!(flags(&run.control), (true, true));
    }

    #[test]
    fn no_signal_no_stop() {
        let run = start(Duration::from_millis(1));
        drop(run.sender);
        run.thread.join().unwrap();
        assert_eq!(flags(&run.control), (false, false));
        assert_eq!(*run.first.lock().unwrap(), None);
    }
}
