//! `report.json`'s bytes: `serde_json`'s pretty layout (two-space indents), with each line
//! break and its indent written at once instead of one indent step at a time.

use std::io::{self, Write as _};

use serde_json::ser::Formatter;

use crate::diagnostic::Diagnostic;
use crate::render::PIECE;
use crate::report::Report;

/// `report.json`'s bytes into `writer`, a [`PIECE`] at a time: a report of many referrals
/// is never held whole.
pub fn write_report(report: &Report, writer: &mut dyn io::Write) -> Result<(), Diagnostic> {
    let mut buffered = io::BufWriter::with_capacity(PIECE, writer);
    let mut serializer = serde_json::Serializer::with_formatter(&mut buffered, Pretty::default());
    let failed = |err: &dyn std::error::Error| Diagnostic::error("report.json", err.to_string());
    serde::Serialize::serialize(report, &mut serializer).map_err(|err| failed(&err))?;
    buffered
        .write_all(b"\n")
        .and_then(|()| buffered.flush())
        .map_err(|err| failed(&err))
}

/// A line break followed by the deepest indent a report reaches, and more.
const BREAKS: &[u8; 65] = b"\n                                                                ";

/// The same bytes as `serde_json::ser::PrettyFormatter` with its default indent.
#[derive(Default)]
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    /// A line break and the indent of the current depth.
    fn new_line<W: ?Sized + io::Write>(&self, writer: &mut W) -> io::Result<()> {
        let width = 1 + 2 * self.depth;
        if let Some(line) = BREAKS.get(..width) {
            writer.write_all(line)
        } else {
            writer.write_all(b"\n")?;
            (0..self.depth).try_for_each(|_| writer.write_all(b"  "))
        }
    }

    fn begin<W: ?Sized + io::Write>(&mut self, writer: &mut W, open: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(open)
    }

    fn end<W: ?Sized + io::Write>(&mut self, writer: &mut W, close: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.new_line(writer)?;
        }
        writer.write_all(close)
    }

    fn next_item<W: ?Sized + io::Write>(&self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        self.new_line(writer)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.next_item(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.next_item(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nested deeper than the prepared indents reach, with empty containers on the way.
    #[test]
    fn lays_out_json_as_serde_json_pretty_does() {
        let mut value = serde_json::json!({"a": [1, {"b": null, "c": []}, {}], "d": "x\n\"y\""});
        for depth in 0..40 {
            value = serde_json::json!({"level": depth, "inner": [value, [], {}]});
        }
        let mut ours = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut ours, Pretty::default());
        serde::Serialize::serialize(&value, &mut serializer).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }
}
