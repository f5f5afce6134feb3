//! Lazily expanded sweeps: a step's named axes and how they combine into points.
//!
//! An [`Axis`] is a formula (linspace, range, log) or a short explicit list, and a [`Sweep`]
//! maps a point index to one value per axis by arithmetic, so a million-point sweep costs the
//! same memory as a three-point one. The YAML layer builds axes with the validating
//! constructors and maps [`AxisError::field`] / [`SweepError::axis`] back to source
//! positions; the sequencer calls [`Sweep::point_into`] with a reused buffer for every point.
//! [`lanes`] orders a step's points when only some of them may run at the same time
//! (`parallel:`), by the same arithmetic.

mod axis;
pub mod lanes;

pub use axis::{Axis, AxisError, MAX_AXIS_POINTS};

use super::value::Value;

/// How a sweep combines its axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every combination; the first axis is outermost, the last changes fastest.
    #[default]
    Product,
    /// Axes advance together; all must have the same length.
    Zip,
}

/// Why the axes do not combine into a sweep.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    /// In zip mode, an axis whose length differs from the first one's.
    #[error(
        "zip sweep: `{name}` has {len} and `{first}` has {first_len} values; zipped variables need the same number"
    )]
    ZipLengthMismatch {
        /// Index of the offending axis.
        axis: usize,
        /// Its name.
        name: String,
        /// Its length.
        len: u64,
        /// Name of the first axis.
        first: String,
        /// Length of the first axis.
        first_len: u64,
    },
    /// The product of the axis lengths overflows `u64`.
    #[error("the sweep has more than 2^64 points (from variable `{name}` on)")]
    TooManyPoints {
        /// Index of the axis at which the count overflowed.
        axis: usize,
        /// Its name.
        name: String,
    },
    /// Two axes with the same name.
    #[error("sweep variable `{name}` is defined twice")]
    DuplicateName {
        /// Index of the second definition.
        axis: usize,
        /// The name.
        name: String,
    },
}

impl SweepError {
    /// Index (in the axes given to [`Sweep::new`]) of the axis the error is about.
    pub fn axis(&self) -> usize {
        match self {
            SweepError::ZipLengthMismatch { axis, .. }
            | SweepError::TooManyPoints { axis, .. }
            | SweepError::DuplicateName { axis, .. } => *axis,
        }
    }
}

/// A step's sweep: named axes combined by product (first key outermost, last fastest) or zip
/// (all equal lengths).
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// The axes in key order; a variable's slot is its index here.
    axes: Vec<(String, Axis)>,
    /// The axes' names, in the same order (every point record lists them).
    names: Vec<String>,
    /// How the axes combine.
    mode: Mode,
    /// For product mode, how many points one step of each axis spans (product of the lengths
    /// after it); unused in zip mode.
    strides: Vec<u64>,
    /// Number of points, computed once.
    len: u64,
}

impl Default for Sweep {
    /// No axes: a single point with no values.
    fn default() -> Self {
        Sweep {
            axes: Vec::new(),
            names: Vec::new(),
            mode: Mode::default(),
            strides: Vec::new(),
            len: 1,
        }
    }
}

impl Sweep {
    /// Combines `axes` (in key order) by `mode`.
    pub fn new(axes: Vec<(String, Axis)>, mode: Mode) -> Result<Sweep, SweepError> {
        for (index, (name, _)) in axes.iter().enumerate() {
            if axes[..index].iter().any(|(other, _)| other == name) {
                return Err(SweepError::DuplicateName {
                    axis: index,
                    name: name.clone(),
                });
            }
        }
        let mut strides = Vec::new();
        let len = match mode {
            Mode::Product => {
                // Strides come from the fastest (last) axis backwards.
                strides = vec![1; axes.len()];
                let mut len: u64 = 1;
                for (index, (name, axis)) in axes.iter().enumerate().rev() {
                    strides[index] = len;
                    len = len
                        .checked_mul(axis.len())
                        .ok_or_else(|| SweepError::TooManyPoints {
                            axis: index,
                            name: name.clone(),
                        })?;
                }
                len
            }
            Mode::Zip => {
                let first_len = axes.first().map_or(1, |(_, axis)| axis.len());
                for (index, (name, axis)) in axes.iter().enumerate() {
                    if axis.len() != first_len {
                        return Err(SweepError::ZipLengthMismatch {
                            axis: index,
                            name: name.clone(),
                            len: axis.len(),
                            first: axes[0].0.clone(),
                            first_len,
                        });
                    }
                }
                first_len
            }
        };
        Ok(Sweep {
            names: axes.iter().map(|(name, _)| name.clone()).collect(),
            axes,
            mode,
            strides,
            len,
        })
    }

    /// Number of points: the product or zip count; 1 when there are no axes (a step without
    /// sweep runs once).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when some axis is empty, so the step has no points.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Axis names in order; a name's index is its slot for [`super::template::Template::parse`].
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The named axes in order.
    pub fn axes(&self) -> &[(String, Axis)] {
        &self.axes
    }

    /// How the axes combine.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Clears `out` and fills it with the values of point `index` (index < len), in names
    /// order.
    ///
    /// Reuses `out`'s allocation, and the string buffers of text values already in it, so a
    /// loop over every point allocates nothing for numeric sweeps.
    ///
    /// # Panics
    /// When `index >= self.len()`.
    pub fn point_into(&self, index: u64, out: &mut Vec<Value>) {
        assert!(index < self.len, "point {index} of a sweep of {}", self.len);
        out.truncate(self.axes.len());
        for (k, (_, axis)) in self.axes.iter().enumerate() {
            let i = match self.mode {
                Mode::Product => index / self.strides[k] % axis.len(),
                Mode::Zip => index,
            };
            if let Some(slot) = out.get_mut(k) {
                axis.write(i, slot);
            } else {
                out.push(axis.get(i));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points of a sweep, each rendered and joined with `,`.
    fn points(sweep: &Sweep) -> Vec<String> {
        let mut out = Vec::new();
        (0..sweep.len())
            .map(|i| {
                sweep.point_into(i, &mut out);
                out.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    /// Two axes named `ch` and `volt`.
    fn ch_volt(ch: Vec<Value>, volt: Axis) -> Vec<(String, Axis)> {
        vec![
            ("ch".into(), Axis::list(ch).unwrap()),
            ("volt".into(), volt),
        ]
    }

    /// Product puts the first axis outermost; zip pairs values; no axes is one empty point.
    #[test]
    fn sweep_points() {
        type Case = (Vec<(String, Axis)>, Mode, &'static [&'static str]);
        let ints = |v: &[i64]| v.iter().map(|&i| Value::Int(i)).collect::<Vec<_>>();
        let volt = || Axis::linspace(0.0, 1.0, 3).unwrap();
        let cases: [Case; 4] = [
            (
                ch_volt(ints(&[1, 2]), volt()),
                Mode::Product,
                &["1,0", "1,0.5", "1,1", "2,0", "2,0.5", "2,1"],
            ),
            (
                ch_volt(ints(&[1, 2, 3]), volt()),
                Mode::Zip,
                &["1,0", "2,0.5", "3,1"],
            ),
            (vec![], Mode::Product, &[""]),
            (vec![], Mode::Zip, &[""]),
        ];
        for (axes, mode, want) in cases {
            let sweep = Sweep::new(axes, mode).unwrap();
            assert_eq!(sweep.mode(), mode);
            assert_eq!(sweep.len(), want.len() as u64);
            assert_eq!(points(&sweep), want, "{mode:?}");
        }
        let sweep = Sweep::new(ch_volt(ints(&[1]), volt()), Mode::Product).unwrap();
        assert_eq!(sweep.names(), ["ch", "volt"]);
        assert_eq!(sweep.axes()[1].1, volt());
        assert_eq!(Sweep::default().len(), 1);
        assert_eq!(points(&Sweep::default()), [""]);
    }

    /// Invalid combinations name the axis at fault.
    #[test]
    fn sweep_errors() {
        let ten = || Axis::linspace(0.0, 1.0, 10).unwrap();
        let huge = || Axis::linspace(0.0, 1.0, 1 << 40).unwrap();
        let named = |names: &[&str], axes: Vec<Axis>| -> Vec<(String, Axis)> {
            names.iter().map(|n| (*n).to_owned()).zip(axes).collect()
        };
        let cases = [
            (
                Sweep::new(
                    named(
                        &["a", "b", "c"],
                        vec![ten(), ten(), Axis::linspace(0.0, 1.0, 3).unwrap()],
                    ),
                    Mode::Zip,
                ),
                2,
                "zip sweep: `c` has 3 and `a` has 10 values; zipped variables need the same number",
            ),
            (
                Sweep::new(
                    named(&["a", "b", "c"], vec![huge(), ten(), huge()]),
                    Mode::Product,
                ),
                0,
                "the sweep has more than 2^64 points (from variable `a` on)",
            ),
            (
                Sweep::new(
                    named(&["a", "b", "a"], vec![ten(), ten(), ten()]),
                    Mode::Product,
                ),
                2,
                "sweep variable `a` is defined twice",
            ),
        ];
        for (result, axis, message) in cases {
            let err = result.unwrap_err();
            assert_eq!(err.axis(), axis, "{err:?}");
            assert_eq!(err.to_string(), message);
        }
    }

    /// A million-point sweep is a formula: its last point is computed directly, and walking
    /// points reuses the caller's buffer (text values included) instead of allocating.
    #[test]
    fn huge_sweep_is_lazy() {
        let axes = vec![
            ("a".to_owned(), Axis::linspace(0.0, 1.0, 1000).unwrap()),
            ("b".to_owned(), Axis::range(1.0, 1000.0, 1.0, true).unwrap()),
            (
                "m".to_owned(),
                Axis::list(vec!["LO".into(), "HI".into()]).unwrap(),
            ),
        ];
        let sweep = Sweep::new(axes, Mode::Product).unwrap();
        assert_eq!(sweep.len(), 2_000_000);
        let mut out = Vec::new();
        sweep.point_into(sweep.len() - 1, &mut out);
        assert_eq!(
            out,
            [Value::Float(1.0), Value::Int(1000), Value::Str("HI".into())]
        );
        let vec_ptr = out.as_ptr();
        let Value::Str(s) = &out[2] else {
            unreachable!()
        };
        let str_ptr = s.as_ptr();
        for index in (0..sweep.len()).step_by(997) {
            sweep.point_into(index, &mut out);
        }
        sweep.point_into(1_000_001, &mut out);
        assert_eq!(
            out,
            [
                Value::Float(500.0 / 999.0),
                Value::Int(1),
                Value::Str("HI".into())
            ]
        );
        assert_eq!(out.as_ptr(), vec_ptr);
        let Value::Str(s) = &out[2] else {
            unreachable!()
        };
        assert_eq!(s.as_ptr(), str_ptr);
    }

    /// A buffer left longer by a bigger sweep is cut to this sweep's width.
    #[test]
    fn point_into_clears_leftovers() {
        let sweep = Sweep::new(
            vec![("x".into(), Axis::linspace(0.0, 1.0, 2).unwrap())],
            Mode::Zip,
        )
        .unwrap();
        let mut out = vec![Value::Str("old".into()); 4];
        sweep.point_into(1, &mut out);
        assert_eq!(out, [Value::Float(1.0)]);
    }
}
