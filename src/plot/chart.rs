//! The chart of a run's [`Table`] for a [`Request`]: the columns resolved by name, the rows
//! split into series by the group column, each series in sweep order, the legend's labels.

use std::collections::HashMap;

use super::Request;
use crate::error::{Error, Result};
use crate::export::{Cell, Kind, Table};
use crate::sequence::value::Value;

/// Everything drawn: what `draw.rs` turns into pixels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chart {
    /// The run's name.
    pub title: String,
    /// The x column's name.
    pub x_label: String,
    /// The y column's name.
    pub y_label: String,
    /// The lines, in legend order; labelled when grouped.
    pub series: Vec<Series>,
}

/// One line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    /// `group = value` for the legend; `None` without `--group`.
    pub label: Option<String>,
    /// (x, y) in sweep order.
    pub points: Vec<(f64, f64)>,
}

/// The chart of `table` for `request`, and how many rows were left out.
pub(super) fn chart(table: &Table, request: &Request, title: String) -> Result<(Chart, usize)> {
    let x = column(table, "--x", &request.x)?;
    let y = column(table, "--y", &request.y)?;
    let group = match &request.group {
        Some(name) => Some(column(table, "--group", name)?),
        None => None,
    };
    let mut series: Vec<Series> = Vec::new();
    // Where each group value's series is in `series`.
    let mut index: HashMap<Option<String>, usize> = HashMap::new();
    let mut skipped = 0;
    for row in &table.rows {
        let (Some(px), Some(py)) = (row[x].as_f64(), row[y].as_f64()) else {
            skipped += 1;
            continue;
        };
        let key = group.map(|g| legend_value(&row[g]));
        let at = *index.entry(key).or_insert_with_key(|key| {
            let label = match (&request.group, key) {
                (Some(name), Some(value)) => Some(format!("{name} = {value}")),
                _ => None,
            };
            series.push(Series {
                label,
                points: Vec::new(),
            });
            series.len() - 1
        });
        series[at].points.push((px, py));
    }
    if series.is_empty() {
        return Err(Error::usage(format!(
            "no point of `{}` has numbers for both `{}` and `{}`",
            request.log.display(),
            request.x,
            request.y
        )));
    }
    let points = || series.iter().flat_map(|s| s.points.iter());
    check_span(&request.x, points().map(|p| p.0))?;
    check_span(&request.y, points().map(|p| p.1))?;
    let chart = Chart {
        title,
        x_label: request.x.clone(),
        y_label: request.y.clone(),
        series,
    };
    Ok((chart, skipped))
}

/// A group value as the legend shows it: a number as a command renders a sweep variable
/// (`1`, `0.5`, `1e-05`; a float `1.0` from a linspace is `1`, see [`Value`]), text as is,
/// `(none)` for a row without it. Values that render alike are one series.
fn legend_value(cell: &Cell) -> String {
    match cell {
        Cell::Empty => "(none)".to_owned(),
        Cell::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Int(i).to_string(),
            // Past i64 (a u64): its exact digits, which a float would round.
            (None, _) if n.is_u64() => n.to_string(),
            (None, Some(x)) => Value::Float(x).to_string(),
            (None, None) => n.to_string(),
        },
        cell => cell.to_string(),
    }
}

/// Widest span of values an axis can show: plotters' tick layout overflows (and never
/// ends) near the largest float, about `1.8e308`.
const MAX_SPAN: f64 = 1e300;

/// Refuses an axis whose values span more than [`MAX_SPAN`].
fn check_span(name: &str, values: impl Iterator<Item = f64>) -> Result<()> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if hi - lo <= MAX_SPAN {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "`{name}` goes from {lo:e} to {hi:e}, a span too large to draw (at most {MAX_SPAN:e})"
        )))
    }
}

/// The index of the column `name` given to `flag`, or an error listing the names.
fn column(table: &Table, flag: &str, name: &str) -> Result<usize> {
    table.find(name).ok_or_else(|| {
        let list = |kind| {
            let names = table.names(kind);
            if names.is_empty() {
                "none".to_owned()
            } else {
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        Error::usage(format!(
            "{flag} `{name}` is not a column of this run (variables: {}; values: {}; or {})",
            list(Kind::Var),
            list(Kind::Value),
            list(Kind::Fixed)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runlog::read::PointRecord;
    use serde_json::json;
    use std::path::PathBuf;

    /// A table of the points `(step, vars, values)`, indexed in order.
    fn table(points: &[(&str, serde_json::Value, serde_json::Value)]) -> Table {
        let map = |v: &serde_json::Value| v.as_object().cloned().unwrap_or_default();
        let records = points
            .iter()
            .enumerate()
            .map(|(i, (step, vars, values))| PointRecord {
                id: format!("{step}/{i}"),
                step: (*step).to_owned(),
                index: i as u64,
                vars: map(vars),
                values: map(values),
                ..PointRecord::default()
            })
            .collect();
        Table::from_points(records)
    }

    fn request(x: &str, y: &str, group: Option<&str>) -> Request {
        Request {
            log: PathBuf::from("run.jsonl"),
            x: x.to_owned(),
            y: y.to_owned(),
            group: group.map(str::to_owned),
            output: None,
        }
    }

    fn iv() -> Table {
        table(&[
            ("iv", json!({"ch": 1, "volt": 0.0}), json!({"current": "0"})),
            (
                "iv",
                json!({"ch": 1, "volt": 0.5}),
                json!({"current": "1e-3"}),
            ),
            (
                "iv",
                json!({"ch": 2, "volt": 0.0}),
                json!({"current": "OVLD"}),
            ),
            (
                "iv",
                json!({"ch": 2, "volt": 0.5}),
                json!({"current": "2e-3"}),
            ),
            (
                "iv",
                json!({"ch": 2, "volt": 1.0}),
                json!({"current": "4e-3"}),
            ),
            ("other", json!({"f": 10}), json!({})),
        ])
    }

    /// One series per group value, in first-seen order, points in sweep order; rows whose
    /// x or y is not a number (text, or a step without it) are counted, not drawn.
    #[test]
    fn series_per_group() {
        let (chart, skipped) =
            chart(&iv(), &request("volt", "current", Some("ch")), "t".into()).unwrap();
        assert_eq!(skipped, 2);
        let labels: Vec<_> = chart.series.iter().map(|s| s.label.clone()).collect();
        assert_eq!(
            labels,
            [Some("ch = 1".to_owned()), Some("ch = 2".to_owned())]
        );
        assert_eq!(chart.series[0].points, [(0.0, 0.0), (0.5, 1e-3)]);
        assert_eq!(chart.series[1].points, [(0.5, 2e-3), (1.0, 4e-3)]);
        assert_eq!(
            (chart.x_label.as_str(), chart.y_label.as_str()),
            ("volt", "current")
        );
    }

    /// Without a group there is one unlabelled series; x may be a value.
    #[test]
    fn one_series_without_group() {
        let (chart, _) = chart(&iv(), &request("current", "volt", None), "t".into()).unwrap();
        assert_eq!(chart.series.len(), 1);
        assert_eq!(chart.series[0].label, None);
        assert_eq!(chart.series[0].points.len(), 4);
    }

    /// An unknown name is an invalid-input error listing the names.
    #[test]
    fn unknown_names_list_the_choices() {
        for (x, y, group, flag) in [
            ("vol", "current", None, "--x `vol`"),
            ("volt", "Current", None, "--y `Current`"),
            ("volt", "current", Some("chan"), "--group `chan`"),
        ] {
            let err = chart(&iv(), &request(x, y, group), "t".into()).unwrap_err();
            assert_eq!(err.exit_code(), crate::error::EXIT_INVALID);
            let text = err.to_string();
            assert!(text.contains(flag), "{text}");
            assert!(
                text.contains(
                    "(variables: `ch`, `volt`, `f`; values: `current`; or `id`, `step`, \
                     `status`, `attempt`, `started_at`, `elapsed_ms`)"
                ),
                "{text}"
            );
        }
    }

    /// Fixed columns can be used too: one line per step, or a text column that gives no
    /// number at all.
    #[test]
    fn fixed_columns() {
        let (chart, skipped) =
            chart(&iv(), &request("volt", "current", Some("step")), "t".into()).unwrap();
        assert_eq!(skipped, 2);
        assert_eq!(chart.series.len(), 1);
        assert_eq!(chart.series[0].label.as_deref(), Some("step = iv"));
        let err = super::chart(&iv(), &request("volt", "status", None), "t".into()).unwrap_err();
        assert!(
            err.to_string()
                .contains("has numbers for both `volt` and `status`")
        );
    }

    /// An axis no float can span is refused rather than drawn.
    #[test]
    fn huge_spans_are_refused() {
        let huge = table(&[
            ("s", json!({"v": 0}), json!({"y": "1e308"})),
            ("s", json!({"v": 1}), json!({"y": "-1e308"})),
            ("s", json!({"v": 1e301}), json!({"y": "0"})),
        ]);
        let err = chart(&huge, &request("v", "y", None), "t".into()).unwrap_err();
        assert!(
            err.to_string()
                .contains("`v` goes from 0e0 to 1e301, a span too large"),
            "{err}"
        );
        let err = chart(&huge, &request("y", "v", None), "t".into()).unwrap_err();
        assert!(
            err.to_string().contains("`y` goes from -1e308 to 1e308"),
            "{err}"
        );
        let near = table(&[
            ("s", json!({"v": 0}), json!({"y": "-5e299"})),
            ("s", json!({"v": 1}), json!({"y": "5e299"})),
        ]);
        assert!(chart(&near, &request("v", "y", None), "t".into()).is_ok());
    }

    /// Nothing to draw is an error, not an empty picture.
    #[test]
    fn no_numbers_no_plot() {
        let err = chart(&iv(), &request("f", "current", None), "t".into()).unwrap_err();
        assert!(
            err.to_string()
                .contains("no point of `run.jsonl` has numbers for both")
        );
    }

    /// Legend values read as commands render them: an integer `1`, a float `0.5`, a float
    /// `1.0` (from a linspace) as `1`, `%.12g` noise hidden; floats that render alike are one
    /// series, as they were one command.
    #[test]
    fn legend_values_as_commands_render_them() {
        let t = table(&[
            ("s", json!({"g": 1, "x": 0}), json!({"y": "1"})),
            ("s", json!({"g": 0.5, "x": 0}), json!({"y": "1"})),
            ("s", json!({"g": 1.0, "x": 1}), json!({"y": "1"})),
            ("s", json!({"g": 0.1 + 0.2, "x": 0}), json!({"y": "1"})),
            ("s", json!({"g": 0.3, "x": 1}), json!({"y": "1"})),
            ("s", json!({"g": 1e-5, "x": 0}), json!({"y": "1"})),
            ("s", json!({"g": u64::MAX, "x": 0}), json!({"y": "1"})),
            ("s", json!({"g": "01", "x": 0}), json!({"y": "1"})),
            ("s", json!({"g": true, "x": 0}), json!({"y": "1"})),
            ("s", json!({"x": 0}), json!({"y": "1"})),
        ]);
        let (chart, _) = chart(&t, &request("x", "y", Some("g")), "t".into()).unwrap();
        let labels: Vec<_> = chart
            .series
            .iter()
            .map(|s| s.label.clone().unwrap())
            .collect();
        assert_eq!(
            labels,
            [
                "g = 1",
                "g = 0.5",
                "g = 0.3",
                "g = 1e-05",
                "g = 18446744073709551615",
                "g = 01",
                "g = true",
                "g = (none)",
            ]
        );
        assert_eq!(chart.series[0].points, [(0.0, 1.0), (1.0, 1.0)]);
        assert_eq!(chart.series[2].points, [(0.0, 1.0), (1.0, 1.0)]);
    }
}
