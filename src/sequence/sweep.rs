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

use super::bounds::MAX_POINTS;
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
    /// The product of the axis lengths is more than [`MAX_POINTS`].
    #[error("the sweep has more than 10^12 points (from variable `{name}` on)")]
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
                        .filter(|&len| len <= MAX_POINTS)
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

    /// A sweep of one point with these variables, for one that [`Sweep::new`] refused (after
    /// the refusal is reported): every name stays known, duplicates included, and so does
    /// whether it takes text, so that placeholders, `parallel:` and poll bounds naming its
    /// variables add no problem of their own.
    pub fn stand_in(axes: Vec<(String, Axis)>) -> Sweep {
        let axes: Vec<(String, Axis)> = axes
            .into_iter()
            .map(|(name, axis)| (name, axis.one_value()))
            .collect();
        Sweep {
            names: axes.iter().map(|(name, _)| name.clone()).collect(),
            strides: vec![1; axes.len()],
            axes,
            mode: Mode::Product,
            len: 1,
        }
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
mod tests;
