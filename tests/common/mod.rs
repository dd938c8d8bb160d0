//! Helpers shared by the tests of the record-changing commands: read what the binary printed,
//! and assert its exit status with its output in the failure message.

use std::process::Output;

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("affrel prints UTF-8")
}

pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}
