//! Lanes: the order in which a step's points may be handed out when only some of them are
//! independent (`parallel: [ch]`, or one lane for a step without `parallel:`).
//!
//! A lane is one combination of values of the lane variables; points of one lane run one
//! after another, in sweep order and pass after pass, and never overlap; points of
//! different lanes may run at once. [`Lanes`] hands out the next point whose lane is free
//! ([`Lanes::next`]) and is told when a point's lane is free again ([`Lanes::release`],
//! after the point's final outcome: retries stay in the lane). Nothing here grows with the
//! number of points or of lanes:
//!
//! - product sweeps are structural: the lane variables' axes are grouped into classes of
//!   equal value ([`Classes`]); lane number `l` is one class per lane axis (mixed radix,
//!   first axis most significant), and its points are the sub-product of those classes'
//!   positions and every position of the other axes, which a cursor decodes by mixed radix.
//!   Lanes are opened lazily in lane-number order (their first points come in sweep order),
//!   at most `max_open` at a time, and closed when their last point is released: memory is
//!   that of the open lanes, bounded by the caller's window;
//! - zip sweeps look ahead: the points after the last one handed out are examined in order,
//!   up to [`LOOK_AHEAD`] of them held while their lane is busy. A point further on waits
//!   even if its lane is free, so a zip sweep whose lanes come in runs longer than that
//!   runs them one at a time.
//!
//! Pure arithmetic, no I/O; the sequencer keeps one [`Lanes`] per step while it runs.

mod classes;

use std::collections::{HashMap, VecDeque};

pub use classes::{Classes, GROUPED_MAX};

use super::{Mode, Sweep};

/// Most points of a zip sweep examined ahead of the last one handed out, held while their
/// lane is busy.
pub const LOOK_AHEAD: usize = 1024;

/// A point handed out: its index in the step (pass after pass) and its lane, to give back
/// to [`Lanes::release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// Point index within the step: `pass * sweep.len() + sweep index`.
    pub index: u64,
    /// Its lane's handle.
    pub lane: u64,
}

/// How many lanes a step's points fall into, and how many points the longest has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Number of lanes.
    pub lanes: u64,
    /// Points (over every pass) in the longest lane: the least number of points that must
    /// run one after another.
    pub longest: u64,
}

/// The points of one step, handed out lane by lane.
#[derive(Debug)]
pub struct Lanes(Plan);

#[derive(Debug)]
enum Plan {
    /// One lane: every point in order, one at a time.
    One {
        /// Next point to hand out.
        next: u64,
        /// Points in all.
        total: u64,
        /// The last point handed out is not released yet.
        busy: bool,
    },
    /// Product sweep, lanes by structure.
    Product(Product),
    /// Zip sweep, lanes found by looking ahead.
    Zip(Zip),
}

impl Lanes {
    /// The points of a step with `sweep` run `repeat` times, in lanes of the variables in
    /// `slots` (sweep slots; none: one lane).
    pub fn new(sweep: &Sweep, repeat: u64, slots: &[usize]) -> Lanes {
        let total = sweep.len().saturating_mul(repeat);
        Lanes(if slots.is_empty() {
            Plan::One {
                next: 0,
                total,
                busy: false,
            }
        } else if sweep.mode() == Mode::Zip {
            Plan::Zip(Zip::new(sweep, repeat, slots))
        } else {
            Plan::Product(Product::new(sweep, repeat, slots))
        })
    }

    /// The next point whose lane is free, now taken; `None` when every point left is in a
    /// busy lane (or, for a product sweep, in a lane not opened because `max_open` lanes
    /// are, or, for a zip sweep, beyond the look-ahead), or none is left.
    pub fn next(&mut self, max_open: usize) -> Option<Ticket> {
        match &mut self.0 {
            Plan::One { busy: true, .. } => None,
            Plan::One { next, total, busy } => (*next < *total).then(|| {
                *busy = true;
                *next += 1;
                Ticket {
                    index: *next - 1,
                    lane: 0,
                }
            }),
            Plan::Product(p) => p.next(max_open),
            Plan::Zip(z) => z.next(),
        }
    }

    /// The point last handed out in `lane` reached its final outcome: the lane is free.
    pub fn release(&mut self, lane: u64) {
        match &mut self.0 {
            Plan::One { busy, .. } => *busy = false,
            Plan::Product(p) => p.release(lane),
            Plan::Zip(z) => z.release(lane),
        }
    }

    /// True while some point has not been handed out.
    pub fn has_more(&self) -> bool {
        match &self.0 {
            Plan::One { next, total, .. } => next < total,
            Plan::Product(p) => p.next_lane < p.lanes || p.open.iter().any(|o| o.cursor < p.len(o)),
            Plan::Zip(z) => z.next < z.total || !z.pending.is_empty(),
        }
    }

    /// How the points of `sweep` run `repeat` times fall into lanes of the variables in
    /// `slots` (for the plan `check` prints).
    pub fn shape(sweep: &Sweep, repeat: u64, slots: &[usize]) -> Shape {
        let classes: Vec<Classes> = slots
            .iter()
            .map(|&s| Classes::of_axis(&sweep.axes[s].1))
            .collect();
        let total = sweep.len().saturating_mul(repeat);
        if sweep.mode() == Mode::Product || slots.is_empty() {
            let lanes = classes
                .iter()
                .fold(1u64, |n, c| n.saturating_mul(c.count()));
            let sub = classes
                .iter()
                .fold(1u64, |n, c| n.saturating_mul(c.largest()));
            let others = sweep
                .axes
                .iter()
                .enumerate()
                .filter(|(k, _)| !slots.contains(k))
                .fold(1u64, |n, (_, (_, a))| n.saturating_mul(a.len()));
            let longest = sub.saturating_mul(others).saturating_mul(repeat);
            return Shape { lanes, longest };
        }
        // Zip: a lane is a combination of classes at one index.
        if classes.iter().any(|c| matches!(c, Classes::Distinct(_))) {
            return Shape {
                lanes: sweep.len(),
                longest: repeat,
            };
        }
        if classes.iter().all(|c| matches!(c, Classes::Same(_))) {
            return Shape {
                lanes: 1,
                longest: total,
            };
        }
        // Some class is grouped: the sweep is as long as that list, so it can be walked.
        let mut counts: HashMap<Vec<u64>, u64> = HashMap::new();
        for i in 0..sweep.len() {
            *counts
                .entry(classes.iter().map(|c| c.class_of(i)).collect())
                .or_default() += 1;
        }
        Shape {
            lanes: counts.len() as u64,
            longest: counts
                .values()
                .max()
                .copied()
                .unwrap_or(0)
                .saturating_mul(repeat),
        }
    }
}

/// A product sweep's lanes, opened lazily.
#[derive(Debug)]
struct Product {
    /// Per axis: its length, its stride in the sweep index, and its classes when it is a
    /// lane variable.
    axes: Vec<(u64, u64, Option<Classes>)>,
    /// Points per pass of the sweep.
    sweep_len: u64,
    /// Passes.
    repeat: u64,
    /// Number of lanes: the product of the lane axes' class counts.
    lanes: u64,
    /// The next lane to open.
    next_lane: u64,
    /// Lanes opened and not finished: each with a point not handed out, or with its last
    /// point not released.
    open: Vec<Open>,
}

/// One open lane of a product sweep.
#[derive(Debug)]
struct Open {
    /// Lane number.
    number: u64,
    /// Class of each lane axis (in axis order).
    classes: Vec<u64>,
    /// Points per pass.
    per_pass: u64,
    /// Points handed out so far (over all passes).
    cursor: u64,
    /// Step index of the point at `cursor` (meaningless once every point is handed out).
    next_index: u64,
    /// The last point handed out is not released yet.
    busy: bool,
}

impl Product {
    fn new(sweep: &Sweep, repeat: u64, slots: &[usize]) -> Product {
        let axes: Vec<(u64, u64, Option<Classes>)> = sweep
            .axes
            .iter()
            .zip(&sweep.strides)
            .enumerate()
            .map(|(k, ((_, axis), &stride))| {
                let classes = slots.contains(&k).then(|| Classes::of_axis(axis));
                (axis.len(), stride, classes)
            })
            .collect();
        let lanes = axes
            .iter()
            .filter_map(|(_, _, c)| c.as_ref())
            .fold(1u64, |n, c| n.saturating_mul(c.count()));
        Product {
            axes,
            sweep_len: sweep.len(),
            repeat,
            lanes: if sweep.is_empty() || repeat == 0 {
                0
            } else {
                lanes
            },
            next_lane: 0,
            open: Vec::new(),
        }
    }

    /// Points of `lane` over every pass.
    fn len(&self, lane: &Open) -> u64 {
        lane.per_pass.saturating_mul(self.repeat)
    }

    /// Class of each lane axis for lane `number` (mixed radix, last lane axis fastest),
    /// into `out`.
    fn classes(&self, number: u64, out: &mut Vec<u64>) {
        out.clear();
        let mut rest = number;
        for c in self.axes.iter().rev().filter_map(|(_, _, c)| c.as_ref()) {
            out.push(rest % c.count());
            rest /= c.count();
        }
        out.reverse();
    }

    /// Step index of the first point of lane `number`: the first position of each of its
    /// classes, position 0 of the other axes.
    fn first_index(&self, number: u64) -> u64 {
        let mut rest = number;
        let mut index = 0u64;
        for (_, stride, c) in self.axes.iter().rev() {
            if let Some(c) = c {
                index += c.position(rest % c.count(), 0) * stride;
                rest /= c.count();
            }
        }
        index
    }

    /// Opens lane `number`.
    fn open(&self, number: u64) -> Open {
        let mut classes = Vec::new();
        self.classes(number, &mut classes);
        let mut class = classes.iter();
        let per_pass = self.axes.iter().fold(1u64, |n, (len, _, c)| {
            let size = match c {
                Some(c) => c.size(class.next().copied().unwrap_or(0)),
                None => *len,
            };
            n.saturating_mul(size)
        });
        Open {
            number,
            classes,
            per_pass,
            cursor: 0,
            next_index: self.first_index(number),
            busy: false,
        }
    }

    /// Step index of point `cursor` of `lane`: its pass, then its position on each axis by
    /// mixed radix over the lane's sizes (last axis fastest).
    fn index(&self, lane: &Open, cursor: u64) -> u64 {
        let (pass, mut rest) = (cursor / lane.per_pass, cursor % lane.per_pass);
        let mut index = 0u64;
        let mut class = lane.classes.iter().rev();
        for (len, stride, c) in self.axes.iter().rev() {
            let class = c.as_ref().map(|c| (c, class.next().copied().unwrap_or(0)));
            let size = class.map_or(*len, |(c, k)| c.size(k));
            let j = rest % size;
            rest /= size;
            let pos = class.map_or(j, |(c, k)| c.position(k, j));
            index += pos * stride;
        }
        pass.saturating_mul(self.sweep_len).saturating_add(index)
    }

    fn next(&mut self, max_open: usize) -> Option<Ticket> {
        // The ready open lane whose next point comes first in the sweep.
        let best = self
            .open
            .iter()
            .enumerate()
            .filter(|(_, o)| !o.busy && o.cursor < self.len(o))
            .map(|(i, o)| (o.next_index, i))
            .min();
        // A new lane only when it comes first, and while fewer than `max_open` are open.
        let fresh = (self.next_lane < self.lanes && self.open.len() < max_open.max(1))
            .then(|| self.first_index(self.next_lane));
        let at = match (best, fresh) {
            (Some((_, i)), None) => i,
            (Some((index, i)), Some(first)) if index < first => i,
            (_, Some(_)) => {
                self.open.push(self.open(self.next_lane));
                self.next_lane += 1;
                self.open.len() - 1
            }
            (None, None) => return None,
        };
        let following = self.index(&self.open[at], self.open[at].cursor + 1);
        let lane = &mut self.open[at];
        let index = lane.next_index;
        lane.cursor += 1;
        lane.next_index = following;
        lane.busy = true;
        Some(Ticket {
            index,
            lane: lane.number,
        })
    }

    fn release(&mut self, number: u64) {
        if let Some(i) = self.open.iter().position(|o| o.number == number) {
            self.open[i].busy = false;
            if self.open[i].cursor >= self.len(&self.open[i]) {
                self.open.swap_remove(i);
            }
        }
    }
}

/// A zip sweep's lanes, found by looking ahead.
#[derive(Debug)]
struct Zip {
    /// Classes of each lane axis.
    classes: Vec<Classes>,
    /// Points per pass.
    len: u64,
    /// Points in all.
    total: u64,
    /// The next point never examined.
    next: u64,
    /// Points examined and held because their lane was busy, in sweep order, with their
    /// lane's handle (at most [`LOOK_AHEAD`]).
    pending: VecDeque<(u64, u32)>,
    /// Handle of each lane that has a point held or busy, by its classes.
    handles: HashMap<Box<[u64]>, u32>,
    /// Per handle: its classes, its points held or busy, and whether it is busy. A handle
    /// with none is free for another lane (`spare`).
    slots: Vec<(Box<[u64]>, u32, bool)>,
    /// Handles free for reuse.
    spare: Vec<u32>,
}

impl Zip {
    fn new(sweep: &Sweep, repeat: u64, slots: &[usize]) -> Zip {
        Zip {
            classes: slots
                .iter()
                .map(|&s| Classes::of_axis(&sweep.axes[s].1))
                .collect(),
            len: sweep.len(),
            total: sweep.len().saturating_mul(repeat),
            next: 0,
            pending: VecDeque::new(),
            handles: HashMap::new(),
            slots: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// The handle of point `index`'s lane, counting one more point in it.
    fn handle(&mut self, index: u64) -> u32 {
        let pos = index % self.len.max(1);
        let key: Box<[u64]> = self.classes.iter().map(|c| c.class_of(pos)).collect();
        if let Some(&h) = self.handles.get(&key) {
            self.slots[h as usize].1 += 1;
            return h;
        }
        let h = if let Some(h) = self.spare.pop() {
            self.slots[h as usize] = (key.clone(), 1, false);
            h
        } else {
            self.slots.push((key.clone(), 1, false));
            u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
        };
        self.handles.insert(key, h);
        h
    }

    fn next(&mut self) -> Option<Ticket> {
        // A held point whose lane is free now: the earliest, so a lane keeps its order.
        if let Some(at) = self
            .pending
            .iter()
            .position(|&(_, h)| !self.slots[h as usize].2)
        {
            let (index, h) = self.pending.remove(at)?;
            self.slots[h as usize].2 = true;
            return Some(Ticket {
                index,
                lane: u64::from(h),
            });
        }
        // Every held point's lane is busy; a lane that is not has none held.
        while self.pending.len() < LOOK_AHEAD && self.next < self.total {
            let index = self.next;
            self.next += 1;
            let h = self.handle(index);
            if self.slots[h as usize].2 {
                self.pending.push_back((index, h));
            } else {
                self.slots[h as usize].2 = true;
                return Some(Ticket {
                    index,
                    lane: u64::from(h),
                });
            }
        }
        None
    }

    fn release(&mut self, lane: u64) {
        let Some(slot) = usize::try_from(lane)
            .ok()
            .and_then(|h| self.slots.get_mut(h))
        else {
            return;
        };
        slot.2 = false;
        slot.1 = slot.1.saturating_sub(1);
        if slot.1 == 0 {
            let key = std::mem::take(&mut slot.0);
            self.handles.remove(&key);
            self.spare.push(lane as u32);
        }
    }
}

#[cfg(test)]
mod tests;
