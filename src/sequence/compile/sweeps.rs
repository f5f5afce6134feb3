//! Validation of sweeps: each variable's list or range, and how they combine.

use std::ops::Range;

use super::super::bounds;
use super::super::name;
use super::super::raw::{Num, OrderedMap, RawAxis, RawRange, Scalar, Spanned};
use super::super::sweep::{Axis, AxisError, Mode, Sweep, SweepError};
use super::super::value::Value;
use super::Cx;
use crate::yaml::Problem;

impl Cx<'_> {
    pub(super) fn sweep(&mut self, raw: Option<OrderedMap<Spanned<RawAxis>>>, mode: Mode) -> Sweep {
        let Some(raw) = raw else {
            return Sweep::default();
        };
        let mut axes = Vec::new();
        let mut key_spans = Vec::new();
        for (key, axis) in raw.0 {
            let key_span = self.span(&key);
            if let Some(message) = name::value_problem("variable name", &key.value) {
                self.problem(key_span.clone(), message, "bad name");
            }
            // A bad axis is reported and stood in for, so its name stays known and its
            // placeholders do not add follow-on errors.
            let axis = self
                .axis(axis)
                .unwrap_or_else(|| Axis::List(vec![Value::Int(0)]));
            axes.push((key.value, axis));
            key_spans.push(key_span);
        }
        match Sweep::new(axes.clone(), mode) {
            Ok(sweep) => sweep,
            Err(e) => {
                let span = key_spans.get(e.axis()).cloned().unwrap_or(0..0);
                let mut problem = Problem::new(span, e.to_string(), "here");
                if matches!(e, SweepError::TooManyPoints { .. }) {
                    problem = problem.help(bounds::NUM.help);
                }
                self.problems.push(problem);
                Sweep::stand_in(axes)
            }
        }
    }

    fn axis(&mut self, raw: Spanned<RawAxis>) -> Option<Axis> {
        let whole = self.span(&raw);
        match raw.value {
            RawAxis::List(items) => {
                let values = items
                    .into_iter()
                    .map(|s| match s.value {
                        Scalar::Num(Num::Int(i)) => Value::Int(i),
                        Scalar::Num(Num::Float(f)) => Value::Float(f),
                        Scalar::Text(t) => Value::Str(t),
                    })
                    .collect();
                self.axis_result(Axis::list(values), &whole, None)
            }
            RawAxis::Range(range) => self.range(&range, whole),
        }
    }

    fn range(&mut self, r: &RawRange, whole: Range<usize>) -> Option<Axis> {
        let log = r.log.as_ref().is_some_and(|l| l.value);
        let (start, stop) = (r.start.value.as_f64(), r.stop.value.as_f64());
        let result = match (&r.num, &r.step) {
            (Some(_), Some(step)) => {
                let span = self.span(step);
                self.problem(span, "give either `num` or `step`, not both", "remove one");
                return None;
            }
            (None, None) => {
                self.problem(
                    whole,
                    "a range needs `num` (points, both ends included) or `step`",
                    "add `num:` or `step:`",
                );
                return None;
            }
            (None, Some(_)) if log => {
                let span = r.log.as_ref().map_or(whole.clone(), |l| self.span(l));
                self.problem(span, "a log sweep takes `num`, not `step`", "use `num:`");
                return None;
            }
            (Some(num), None) if log => Axis::log(start, stop, num.value.0),
            (Some(num), None) => Axis::linspace(start, stop, num.value.0),
            (None, Some(step)) => {
                let ints = [r.start.value, r.stop.value, step.value]
                    .iter()
                    .all(|n| matches!(n, Num::Int(_)));
                Axis::range(start, stop, step.value.as_f64(), ints)
            }
        };
        self.axis_result(result, &whole, Some(r))
    }

    fn axis_result(
        &mut self,
        result: Result<Axis, AxisError>,
        whole: &Range<usize>,
        range: Option<&RawRange>,
    ) -> Option<Axis> {
        match result {
            Ok(axis) => Some(axis),
            Err(e) => {
                let span = match (e.field(), range) {
                    ("num", Some(r)) => r.num.as_ref().map(|s| self.span(s)),
                    ("step", Some(r)) => r.step.as_ref().map(|s| self.span(s)),
                    ("start", Some(r)) => Some(self.span(&r.start)),
                    ("stop", Some(r)) => Some(self.span(&r.stop)),
                    _ => None,
                }
                .unwrap_or_else(|| whole.clone());
                let mut problem = Problem::new(span, e.to_string(), "here");
                if matches!(
                    e,
                    AxisError::NumTooLarge { .. } | AxisError::TooManyPoints { .. }
                ) {
                    problem = problem.help(bounds::NUM.help);
                }
                self.problems.push(problem);
                None
            }
        }
    }
}
