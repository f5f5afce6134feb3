//! `sequencer export RUN.jsonl [--format csv|jsonl] [-o FILE]`: a run log as a table for a
//! spreadsheet, pandas or jq, one row per sweep point.
//!
//! [`export`] reads the whole [`Table`] first and only then opens the output, so a log it
//! cannot read never truncates an earlier export. CSV goes through the `csv` crate, which
//! quotes exactly the fields that need it (commas, quotes, line breaks: instrument replies
//! such as `0,"No error"` have them) and doubles inner quotes, as RFC 4180 and spreadsheets
//! expect. JSON Lines rows are objects with the CSV header's keys in the same order, `null`
//! for an empty cell.
//!
//! # Layout
//! - `mod.rs`: [`Format`], [`export`], the two writers.
//! - `table.rs`: [`Table`]: which rows and columns, numbers or text (shared with
//!   [`crate::plot`]).

pub mod table;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub use self::table::{Cell, Column, Kind, Table};
use crate::error::{Error, Result};
use crate::runlog::read::{GIVE_A_LOG, Records};

/// An output format of `sequencer export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// The format an output file's name asks for when `--format` is not given: JSON Lines
    /// for `.jsonl`, `.ndjson` and `.json`, CSV for anything else (and for stdout).
    pub fn for_output(path: Option<&Path>) -> Format {
        let ext = path.and_then(Path::extension).and_then(|e| e.to_str());
        match ext.map(str::to_ascii_lowercase).as_deref() {
            Some("jsonl" | "ndjson" | "json") => Format::Jsonl,
            _ => Format::Csv,
        }
    }
}

/// Writes the table of the run log at `log` to `output` (stdout when `None`) in `format`
/// (from `output`'s extension when `None`); returns the number of rows. Missing folders of
/// `output` are created; an existing file is replaced, unless it is the run log itself.
pub fn export(log: &Path, format: Option<Format>, output: Option<&Path>) -> Result<usize> {
    let mut records =
        Records::open(log).map_err(|e| e.advise("it holds no point to export", GIVE_A_LOG))?;
    let table = Table::read(&mut records)?;
    let format = format.unwrap_or_else(|| Format::for_output(output));
    let write = |out: &mut dyn Write| match format {
        Format::Csv => write_csv(&table, out),
        Format::Jsonl => write_jsonl(&table, out),
    };
    if let Some(path) = output {
        let mut file = create_output(log, path)?;
        write(&mut file)
            .and_then(|()| file.flush())
            .map_err(|source| output_error(path, source))?;
    } else {
        // A closed pipe (`sequencer export run.jsonl | head`) is an error here too: the
        // caller ends quietly with exit 1 on it, as every command whose product is stdout.
        let mut out = BufWriter::new(io::stdout().lock());
        write(&mut out)
            .and_then(|()| out.flush())
            .map_err(|source| output_error(Path::new("<stdout>"), source))?;
    }
    Ok(table.rows.len())
}

/// Writes `table` as CSV: a header line, then one line per row.
pub fn write_csv(table: &Table, out: impl Write) -> io::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(table.columns.iter().map(|c| &c.name))?;
    let mut fields = Vec::with_capacity(table.columns.len());
    for row in &table.rows {
        fields.clear();
        fields.extend(row.iter().map(ToString::to_string));
        csv.write_record(&fields)?;
    }
    csv.flush()
}

/// Writes `table` as JSON Lines: one object per row, keys in column order.
pub fn write_jsonl(table: &Table, mut out: impl Write) -> io::Result<()> {
    for row in &table.rows {
        let object: serde_json::Map<String, serde_json::Value> = table
            .columns
            .iter()
            .zip(row)
            .map(|(column, cell)| (column.name.clone(), cell.to_json()))
            .collect();
        serde_json::to_writer(&mut out, &object)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Opens `path` for writing a file derived from the run log `log` (an export, a plot):
/// creates its folders, replaces an existing file, refuses to replace the log itself.
pub(crate) fn create_output(log: &Path, path: &Path) -> Result<BufWriter<File>> {
    if let (Ok(a), Ok(b)) = (log.canonicalize(), path.canonicalize())
        && a == b
    {
        return Err(Error::usage(format!(
            "`-o {}` is the run log itself; name another file",
            path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| output_error(path, source))?;
    }
    let file = File::create(path).map_err(|source| output_error(path, source))?;
    Ok(BufWriter::new(file))
}

/// An [`Error::Output`] for `path`.
pub(crate) fn output_error(path: &Path, source: io::Error) -> Error {
    Error::Output {
        path: PathBuf::from(path),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A two-row table with text that needs quoting, an empty cell, numbers and a clash.
    fn table() -> Table {
        let column = |name: &str, kind| Column {
            name: name.to_owned(),
            kind,
        };
        Table {
            columns: vec![
                column("id", Kind::Fixed),
                column("v", Kind::Var),
                column("err", Kind::Value),
            ],
            rows: vec![
                vec![
                    Cell::Text("s/0".into()),
                    Cell::Number(serde_json::Number::from_f64(0.1).unwrap()),
                    Cell::Text("0,\"No error\"".into()),
                ],
                vec![
                    Cell::Text("s/1".into()),
                    Cell::Empty,
                    Cell::Number(7.into()),
                ],
            ],
        }
    }

    /// CSV quotes exactly the fields that need it; numbers and empty cells are plain.
    #[test]
    fn csv_quotes_what_needs_it() {
        let mut out = Vec::new();
        write_csv(&table(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id,v,err\ns/0,0.1,\"0,\"\"No error\"\"\"\ns/1,,7\n"
        );
    }

    /// JSON Lines rows keep column order, numbers as numbers and `null` for empty cells.
    #[test]
    fn jsonl_rows() {
        let mut out = Vec::new();
        write_jsonl(&table(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r#"{"id":"s/0","v":0.1,"err":"0,\"No error\""}"#);
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second, json!({"id": "s/1", "v": null, "err": 7}));
    }

    /// Without `--format`, the output's extension decides.
    #[test]
    fn format_from_the_output_name() {
        let cases = [
            (None, Format::Csv),
            (Some("out.csv"), Format::Csv),
            (Some("out.jsonl"), Format::Jsonl),
            (Some("OUT.NDJSON"), Format::Jsonl),
            (Some("out.json"), Format::Jsonl),
            (Some("out.txt"), Format::Csv),
        ];
        for (path, want) in cases {
            assert_eq!(Format::for_output(path.map(Path::new)), want, "{path:?}");
        }
    }
}
