//! Wall-clock time per pipeline step, printed to stderr by `--timings` so that a slow build
//! shows where its time goes.

use std::io::Write as _;
use std::time::{Duration, Instant};

/// The steps measured so far, in order. Measuring is cheap; printing only happens when asked.
#[derive(Debug)]
pub struct Timings {
    enabled: bool,
    start: Instant,
    last: Instant,
    steps: Vec<(&'static str, Duration)>,
}

impl Timings {
    /// Starts the clock; `enabled` says whether [`Timings::print`] prints anything.
    pub fn new(enabled: bool) -> Self {
        let now = Instant::now();
        Self {
            enabled,
            start: now,
            last: now,
            steps: Vec::new(),
        }
    }

    /// Ends the step called `name`: the time since the previous step ended (or the start).
    pub fn step(&mut self, name: &'static str) {
        let now = Instant::now();
        self.steps.push((name, now - self.last));
        self.last = now;
    }

    /// Prints one line per step and the total to stderr, when enabled.
    pub fn print(&self) {
        if !self.enabled {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        for (name, took) in &self.steps {
            let _ = writeln!(stderr, "timings: {name:<8} {:>8.1} ms", millis(*took));
        }
        let total = self.last - self.start;
        let _ = writeln!(stderr, "timings: {:<8} {:>8.1} ms", "total", millis(total));
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
