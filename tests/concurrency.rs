//! Concurrent builds and killed builds through the real binary: whatever happens, the output
//! folder is always a complete output, and the next build succeeds.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn build_command(root: &Path, out: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_affrel"));
    command
        .args(["build", "--as-of", "2026-11-24", "--root"])
        .arg(root)
        .arg("--out")
        .arg(out)
        .env_remove("SOURCE_DATE_EPOCH")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn start(root: &Path, out: &Path) -> Child {
    build_command(root, out).spawn().expect("affrel starts")
}

fn succeeds(child: Child) {
    let output = child.wait_with_output().expect("affrel finishes");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every file under `dir`, relative to it.
fn file_set(dir: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("readable tree"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// `out` holds a whole output: the same files as a finished build, report.json readable.
fn assert_complete(out: &Path, expected: &BTreeSet<String>, when: &str) {
    assert_eq!(
        &file_set(out),
        expected,
        "{when}: the output is not complete"
    );
    let json = fs::read(out.join("report.json")).expect("report.json exists");
    serde_json::from_slice::<serde_json::Value>(&json).expect("report.json is whole JSON");
}

/// Nothing but the output folder beside it: no staging folder, retired copy or lock.
fn assert_nothing_left_beside(out: &Path) {
    let parent = out.parent().expect("has a parent");
    let names: Vec<String> = fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("affrel"))
        .collect();
    assert!(names.is_empty(), "left beside the output: {names:?}");
}

/// A project of `count` referrals with a few events each, and a long history, so that a
/// build takes long enough to be interrupted while it writes.
fn generated_project(count: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    fs::create_dir_all(content.join("referrals")).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    fs::create_dir_all(content.join("emails")).unwrap();
    for template in fs::read_dir(repo.join("content/emails")).unwrap() {
        let template = template.unwrap();
        fs::copy(
            template.path(),
            content.join("emails").join(template.file_name()),
        )
        .unwrap();
    }
    fs::write(
        content.join("config.yaml"),
        "sender:\n  name: Sam Rivera\n  email: sam@example.com\nprograms:\n  - id: acme\n    name: Acme Hosting\n    residual_commissions: true\n    residual_rate: 0.1\nreport:\n  history_weeks: 26\n",
    )
    .unwrap();
    for i in 0..count {
        let day = 1 + i % 28;
        let record = format!(
            "name: Person {i}\nemail: p{i}@example.com\nprogram: acme\nreferred_on: 2026-06-{day:02}\nevents:\n  - {{ date: 2026-06-{day:02}, type: welcome_sent, minutes: 10 }}\n  - {{ date: 2026-07-{day:02}, type: sale, amount: 10 }}\n  - {{ date: 2026-08-{day:02}, type: follow_up_sent }}\n"
        );
        fs::write(content.join("referrals").join(format!("p{i}.yaml")), record).unwrap();
    }
    dir
}

// Two builds started together into one folder, twenty times: the second waits for the
// first, both succeed, and the folder is whole after every pair.
#[test]
fn simultaneous_builds_never_break_the_output() {
    let project = generated_project(40);
    let out = project.path().join("site").join("output");
    succeeds(start(project.path(), &out));
    let expected = file_set(&out);
    for round in 0..20 {
        let first = start(project.path(), &out);
        let second = start(project.path(), &out);
        succeeds(first);
        succeeds(second);
        assert_complete(&out, &expected, &format!("pair {round}"));
        assert_nothing_left_beside(&out);
    }
}

/// A small deterministic generator, so that a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound.max(1)
    }
}

// A build killed with SIGKILL at twenty moments spread over its run leaves the previous (or
// the new) output whole, and the next build succeeds and cleans up after it.
#[test]
fn a_killed_build_leaves_a_whole_output() {
    let project = generated_project(300);
    let out = project.path().join("site").join("output");
    let started = Instant::now();
    succeeds(start(project.path(), &out));
    let duration = started.elapsed();
    let expected = file_set(&out);
    let mut random = Lcg(0x5eed);
    let span = (duration.as_millis() as u64 * 6 / 5).max(1);
    for round in 0..20 {
        let mut child = start(project.path(), &out);
        std::thread::sleep(Duration::from_millis(random.below(span)));
        let _ = child.kill();
        let _ = child.wait();
        assert_complete(&out, &expected, &format!("after kill {round}"));
        succeeds(start(project.path(), &out));
        assert_complete(
            &out,
            &expected,
            &format!("after the build that followed kill {round}"),
        );
        assert_nothing_left_beside(&out);
    }
}

// A run killed between moving the old output aside and moving the new one in (possible only
// where the folders cannot be exchanged in one step) is mended by the next run.
#[test]
fn a_missing_output_with_a_retired_copy_is_restored_first() {
    let project = generated_project(5);
    let out = project.path().join("site").join("output");
    succeeds(start(project.path(), &out));
    let expected = file_set(&out);
    let retired = out.with_file_name(".output.affrel-old");
    fs::rename(&out, &retired).unwrap();
    fs::write(
        project.path().join("content/referrals/p0.yaml"),
        "name: [broken\n",
    )
    .unwrap();
    let output = build_command(project.path(), &out).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_complete(&out, &expected, "restored before the failed build");
    assert!(!retired.exists());
}
