//! Wall-clock time per pipeline step, and the peak memory reached by its end, printed to
//! stderr by `--timings` so that a slow or heavy build shows where its time and memory go.

use std::io::Write as _;
use std::time::{Duration, Instant};

/// The steps measured so far, in order. Measuring is cheap; printing only happens when asked.
#[derive(Debug)]
pub struct Timings {
    enabled: bool,
    start: Instant,
    last: Instant,
    steps: Vec<Step>,
}

#[derive(Debug)]
struct Step {
    name: &'static str,
    took: Duration,
    /// The process's peak resident memory at the step's end, in KiB, where the system says.
    peak_kib: Option<u64>,
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
        self.steps.push(Step {
            name,
            took: now - self.last,
            peak_kib: if self.enabled { peak_kib() } else { None },
        });
        self.last = now;
    }

    /// Prints one line per step and the total to stderr, when enabled.
    pub fn print(&self) {
        if !self.enabled {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        for step in &self.steps {
            let peak = step
                .peak_kib
                .map(|kib| format!("  peak {:>6.1} MiB", kib as f64 / 1024.0))
                .unwrap_or_default();
            let _ = writeln!(
                stderr,
                "timings: {:<8} {:>8.1} ms{peak}",
                step.name,
                millis(step.took)
            );
        }
        let total = self.last - self.start;
        let _ = writeln!(stderr, "timings: {:<8} {:>8.1} ms", "total", millis(total));
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The peak resident set size so far (`VmHWM` in `/proc/self/status`), on Linux.
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
