//! The positions of one lane variable's axis, grouped by value: points whose lane
//! variables have the same values belong to one lane, so the scheduler needs, for each
//! value, the positions that give it.
//!
//! Values are compared as they are rendered into commands (`{ch}`): `1` and `1.0` are the
//! same channel to the instrument. A list (short, and already in memory) is grouped
//! exactly, and so is a formula axis of up to [`GROUPED_MAX`] points; a longer formula axis
//! is taken as all distinct (or all equal, from `start` to the same `stop`), so a
//! million-point range costs no memory here. Classes are numbered in the order of their
//! first position.

use std::collections::HashMap;

use super::super::Axis;

/// Longest formula axis (linspace, range, log) whose values are compared one by one;
/// longer ones are all distinct unless `start` equals `stop`.
pub const GROUPED_MAX: u64 = 4096;

/// One axis's positions grouped into classes of equal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classes {
    /// Every value distinct (of this many positions): class `c` is position `c`.
    Distinct(u64),
    /// Every value the same (of this many positions): one class of every position.
    Same(u64),
    /// Some values repeat: each position's class, and each class's positions in order.
    Groups {
        /// Class of each position.
        of: Vec<u32>,
        /// Positions of each class, ascending; classes in order of their first position.
        members: Vec<Vec<u64>>,
    },
}

impl Classes {
    /// The classes of `axis`'s values.
    pub fn of_axis(axis: &Axis) -> Classes {
        let len = axis.len();
        #[expect(clippy::float_cmp, reason = "exactly the same number written twice")]
        let constant = match axis {
            Axis::Linspace { start, stop, .. } | Axis::Log { start, stop, .. } => start == stop,
            Axis::Range { .. } | Axis::List(_) => false,
        };
        if len <= 1 || constant {
            return Classes::Same(len);
        }
        if !matches!(axis, Axis::List(_)) && len > GROUPED_MAX {
            return Classes::Distinct(len);
        }
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut of = Vec::with_capacity(len as usize);
        let mut members: Vec<Vec<u64>> = Vec::new();
        for pos in 0..len {
            let next = u32::try_from(members.len()).unwrap_or(u32::MAX);
            let class = *ids.entry(axis.get(pos).to_string()).or_insert(next);
            if class == next {
                members.push(Vec::new());
            }
            members[class as usize].push(pos);
            of.push(class);
        }
        match members.len() as u64 {
            1 => Classes::Same(len),
            n if n == len => Classes::Distinct(len),
            _ => Classes::Groups { of, members },
        }
    }

    /// Number of classes.
    pub fn count(&self) -> u64 {
        match self {
            Classes::Distinct(len) => *len,
            Classes::Same(_) => 1,
            Classes::Groups { members, .. } => members.len() as u64,
        }
    }

    /// Number of positions in `class`.
    pub fn size(&self, class: u64) -> u64 {
        match self {
            Classes::Distinct(_) => 1,
            Classes::Same(len) => *len,
            Classes::Groups { members, .. } => members[class as usize].len() as u64,
        }
    }

    /// Positions in the largest class.
    pub fn largest(&self) -> u64 {
        match self {
            Classes::Distinct(_) => 1,
            Classes::Same(len) => *len,
            Classes::Groups { members, .. } => {
                members.iter().map(Vec::len).max().unwrap_or(0) as u64
            }
        }
    }

    /// The `j`th position (in order) of `class`.
    pub fn position(&self, class: u64, j: u64) -> u64 {
        match self {
            Classes::Distinct(_) => class,
            Classes::Same(_) => j,
            Classes::Groups { members, .. } => members[class as usize][j as usize],
        }
    }

    /// The class of position `pos`.
    pub fn class_of(&self, pos: u64) -> u64 {
        match self {
            Classes::Distinct(_) => pos,
            Classes::Same(_) => 0,
            Classes::Groups { of, .. } => u64::from(of[pos as usize]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::value::Value;

    /// Lists group by rendered value (`1` and `1.0` alike), formulas are distinct unless
    /// constant, and a long formula is distinct without being looked at.
    #[test]
    fn classes_of_axes() {
        let list = |v: Vec<Value>| Axis::list(v).unwrap();
        let cases = [
            (
                list(vec![Value::Int(1), Value::Int(2), Value::Int(1)]),
                Classes::Groups {
                    of: vec![0, 1, 0],
                    members: vec![vec![0, 2], vec![1]],
                },
            ),
            (
                list(vec![Value::Int(1), Value::Float(1.0), "1".into()]),
                Classes::Same(3),
            ),
            (list(vec!["a".into(), "b".into()]), Classes::Distinct(2)),
            (list(vec![Value::Int(7)]), Classes::Same(1)),
            (Axis::linspace(0.0, 1.0, 11).unwrap(), Classes::Distinct(11)),
            (Axis::linspace(2.0, 2.0, 5).unwrap(), Classes::Same(5)),
            (
                Axis::log(3.0, 3.0, 1 << 39).unwrap(),
                Classes::Same(1 << 39),
            ),
            (
                Axis::linspace(0.0, 1.0, 1 << 39).unwrap(),
                Classes::Distinct(1 << 39),
            ),
            // Twelve significant digits: these two render alike.
            (
                Axis::linspace(1.0, 1.000_000_000_000_1, 2).unwrap(),
                Classes::Same(2),
            ),
        ];
        for (axis, want) in cases {
            assert_eq!(Classes::of_axis(&axis), want, "{axis:?}");
        }
        let groups = Classes::of_axis(&list(vec![
            Value::Int(5),
            Value::Int(6),
            Value::Int(5),
            Value::Int(5),
        ]));
        assert_eq!(groups.count(), 2);
        assert_eq!(
            (groups.size(0), groups.size(1), groups.largest()),
            (3, 1, 3)
        );
        assert_eq!((groups.position(0, 2), groups.class_of(1)), (3, 1));
        let same = Classes::Same(4);
        assert_eq!(
            (same.position(0, 3), same.class_of(2), same.size(0)),
            (3, 0, 4)
        );
        let distinct = Classes::Distinct(4);
        assert_eq!((distinct.position(2, 0), distinct.class_of(3)), (2, 3));
    }
}
