//! Tests of the parent module: hand-worked orders, the shapes `check` prints, and a
//! property test over random sweeps and completion orders.

use std::collections::{HashMap, HashSet, VecDeque};

use proptest::prelude::*;
use proptest::test_runner::Config;

use super::super::{Axis, Mode, Sweep};
use super::{Lanes, Shape};
use crate::sequence::value::Value;

/// A list axis of integers.
fn ints(values: &[i64]) -> Axis {
    Axis::list(values.iter().map(|&i| Value::Int(i)).collect()).unwrap()
}

/// A sweep of named axes.
fn sweep(axes: Vec<(&str, Axis)>, mode: Mode) -> Sweep {
    Sweep::new(
        axes.into_iter().map(|(n, a)| (n.to_owned(), a)).collect(),
        mode,
    )
    .unwrap()
}

/// The order points are handed out in when at most `window` run at once, each finishing
/// in the order it started (first in, first out).
fn fifo_order(sweep: &Sweep, repeat: u64, slots: &[usize], window: usize) -> Vec<u64> {
    let mut lanes = Lanes::new(sweep, repeat, slots);
    let mut running = VecDeque::new();
    let mut order = Vec::new();
    loop {
        while running.len() < window {
            let Some(t) = lanes.next(window) else { break };
            order.push(t.index);
            running.push_back(t.lane);
        }
        let Some(lane) = running.pop_front() else {
            break;
        };
        lanes.release(lane);
    }
    assert!(!lanes.has_more(), "points left over");
    order
}

/// A case of `orders_by_lane`: what it shows, the sweep, repeat, lane slots, window, order.
type Case = (
    &'static str,
    Sweep,
    u64,
    &'static [usize],
    usize,
    &'static [u64],
);

/// Points go out lane by lane: one at a time per lane, in sweep order, other lanes
/// filling the free places, new lanes opened in order and only while `window` allows.
#[test]
fn orders_by_lane() {
    let ch = || ints(&[1, 2]);
    let three = || Axis::linspace(0.0, 1.0, 3).unwrap();
    let cases: Vec<Case> = vec![
        (
            "no lane variable: one at a time, in order",
            sweep(vec![("ch", ch()), ("v", three())], Mode::Product),
            1,
            &[],
            4,
            &[0, 1, 2, 3, 4, 5],
        ),
        (
            "two lanes by the outer axis alternate",
            sweep(vec![("ch", ch()), ("v", three())], Mode::Product),
            1,
            &[0],
            4,
            &[0, 3, 1, 4, 2, 5],
        ),
        (
            "a repeated value is one lane: ch 1 at positions 0 and 2",
            sweep(
                vec![("ch", ints(&[1, 2, 1])), ("v", ints(&[7, 8]))],
                Mode::Product,
            ),
            1,
            &[0],
            4,
            &[0, 2, 1, 3, 4, 5],
        ),
        (
            "lanes by the inner axis",
            sweep(vec![("ch", ch()), ("v", three())], Mode::Product),
            1,
            &[1],
            4,
            &[0, 1, 2, 3, 4, 5],
        ),
        (
            "repeat: a lane's second pass after its first",
            sweep(vec![("ch", ch()), ("v", ints(&[7, 8]))], Mode::Product),
            2,
            &[0],
            2,
            &[0, 2, 1, 3, 4, 6, 5, 7],
        ),
        (
            "one open lane at a time with a window of one",
            sweep(vec![("ch", ch()), ("v", ints(&[7, 8]))], Mode::Product),
            1,
            &[0],
            1,
            &[0, 1, 2, 3],
        ),
        (
            "zip: the free lane goes on while the busy one's point waits",
            sweep(
                vec![("ch", ints(&[1, 1, 2, 1])), ("v", ints(&[5, 6, 7, 8]))],
                Mode::Zip,
            ),
            1,
            &[0],
            2,
            &[0, 2, 1, 3],
        ),
        (
            "zip without lane variable",
            sweep(vec![("ch", ints(&[1, 2])), ("v", ints(&[5, 6]))], Mode::Zip),
            2,
            &[],
            3,
            &[0, 1, 2, 3],
        ),
    ];
    for (what, sweep, repeat, slots, window, want) in cases {
        assert_eq!(fifo_order(&sweep, repeat, slots, window), want, "{what}");
    }
}

/// A busy lane holds its next point back until released; the other lane does not wait.
#[test]
fn busy_lane_waits_for_release() {
    let s = sweep(
        vec![("ch", ints(&[1, 2])), ("v", ints(&[5, 6, 7]))],
        Mode::Product,
    );
    let mut lanes = Lanes::new(&s, 1, &[0]);
    let a = lanes.next(8).unwrap();
    let b = lanes.next(8).unwrap();
    assert_eq!((a.index, b.index), (0, 3));
    assert_eq!(lanes.next(8), None, "both lanes busy");
    lanes.release(b.lane);
    assert_eq!(lanes.next(8).map(|t| t.index), Some(4));
    assert_eq!(lanes.next(8), None);
    lanes.release(a.lane);
    assert_eq!(lanes.next(8).map(|t| t.index), Some(1));
    assert!(lanes.has_more());
}

/// The lane count and longest lane `check` prints, for product and zip sweeps.
#[test]
fn shapes() {
    let volt = || Axis::linspace(0.0, 1.0, 11).unwrap();
    let shape = |lanes, longest| Shape { lanes, longest };
    let cases = [
        (
            sweep(vec![("ch", ints(&[1, 2])), ("v", volt())], Mode::Product),
            1,
            vec![0],
            shape(2, 11),
        ),
        (
            sweep(vec![("ch", ints(&[1, 2])), ("v", volt())], Mode::Product),
            2,
            vec![0],
            shape(2, 22),
        ),
        (
            sweep(vec![("ch", ints(&[1, 2])), ("v", volt())], Mode::Product),
            1,
            vec![],
            shape(1, 22),
        ),
        (
            sweep(vec![("ch", ints(&[1, 2])), ("v", volt())], Mode::Product),
            1,
            vec![0, 1],
            shape(22, 1),
        ),
        (
            sweep(vec![("ch", ints(&[1, 2, 1])), ("v", volt())], Mode::Product),
            1,
            vec![0],
            shape(2, 22),
        ),
        (
            sweep(
                vec![("ch", ints(&[1, 2, 1])), ("v", ints(&[4, 5, 6]))],
                Mode::Zip,
            ),
            1,
            vec![0],
            shape(2, 2),
        ),
        (
            sweep(
                vec![("ch", ints(&[1, 2, 1])), ("v", ints(&[4, 5, 6]))],
                Mode::Zip,
            ),
            3,
            vec![1],
            shape(3, 3),
        ),
        (
            sweep(
                vec![("ch", ints(&[1, 1, 1])), ("v", ints(&[4, 5, 6]))],
                Mode::Zip,
            ),
            1,
            vec![0],
            shape(1, 3),
        ),
        (sweep(vec![], Mode::Product), 3, vec![], shape(1, 3)),
    ];
    for (s, repeat, slots, want) in cases {
        assert_eq!(Lanes::shape(&s, repeat, &slots), want, "{s:?} by {slots:?}");
    }
}

/// A million-point product sweep in lanes keeps only the open lanes: handing out and
/// releasing its first points touches a handful of lanes, whatever the number of lanes.
#[test]
fn huge_product_keeps_only_open_lanes() {
    let s = sweep(
        vec![
            ("v", Axis::linspace(0.0, 1.0, 1_000_000).unwrap()),
            ("ch", ints(&[1, 2])),
        ],
        Mode::Product,
    );
    let mut lanes = Lanes::new(&s, 1, &[0]);
    for _ in 0..10_000 {
        let t = lanes.next(8).unwrap();
        lanes.release(t.lane);
    }
    let super::Plan::Product(p) = &lanes.0 else {
        unreachable!()
    };
    assert!(p.open.len() <= 8, "{} lanes open", p.open.len());
    assert_eq!(p.lanes, 1_000_000);
}

/// Proptest settings: no regression files in the source tree.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// An axis of `len` values: small integers that repeat, or a (maybe constant) linspace.
fn axis(len: usize) -> impl Strategy<Value = Axis> {
    prop_oneof![
        prop::collection::vec(0..3i64, len).prop_map(|v| ints(&v)),
        (0..2u8).prop_map(
            move |c| Axis::linspace(0.0, f64::from(c), i64::try_from(len).unwrap()).unwrap()
        ),
    ]
}

/// A small product or zip sweep of one to three axes.
fn small_sweep() -> impl Strategy<Value = Sweep> {
    (1..4usize, any::<bool>())
        .prop_flat_map(|(n, zip)| {
            let lens = if zip {
                (1..5usize).prop_map(move |len| vec![len; n]).boxed()
            } else {
                prop::collection::vec(1..4usize, n).boxed()
            };
            lens.prop_flat_map(|lens| lens.into_iter().map(axis).collect::<Vec<_>>())
                .prop_map(move |axes| (axes, zip))
        })
        .prop_map(|(axes, zip)| {
            let named = axes
                .into_iter()
                .enumerate()
                .map(|(i, a)| (format!("x{i}"), a))
                .collect();
            Sweep::new(named, if zip { Mode::Zip } else { Mode::Product }).unwrap()
        })
}

/// The lane of step point `index` as the user means it: the rendered values of the lane
/// variables.
fn lane_key(sweep: &Sweep, slots: &[usize], index: u64) -> Vec<String> {
    let mut vars = Vec::new();
    sweep.point_into(index % sweep.len(), &mut vars);
    slots.iter().map(|&s| vars[s].to_string()).collect()
}

proptest! {
    #![proptest_config(config(512))]

    /// Whatever the sweep, lane variables, window and completion order: every point is
    /// handed out exactly once; never two points of one lane at once; a lane's points in
    /// sweep order (pass after pass); and nothing is held back while a place is free but
    /// for points whose lane is busy.
    #[test]
    fn every_point_once_lanes_never_overlap(
        sweep in small_sweep(),
        mask in 0..8u8,
        repeat in 1..4u64,
        window in 1..5usize,
        picks in prop::collection::vec(any::<prop::sample::Index>(), 200),
    ) {
        let slots: Vec<usize> = (0..sweep.axes().len()).filter(|k| mask & (1 << k) != 0).collect();
        let total = sweep.len() * repeat;
        let mut lanes = Lanes::new(&sweep, repeat, &slots);
        let mut running: Vec<(u64, Vec<String>)> = Vec::new();
        let mut seen = HashSet::new();
        let mut last: HashMap<Vec<String>, u64> = HashMap::new();
        let mut picks = picks.into_iter().cycle();
        loop {
            while running.len() < window {
                let Some(t) = lanes.next(window) else {
                    // Held back: only points of busy lanes are left.
                    let busy: HashSet<_> = running.iter().map(|(_, k)| k.clone()).collect();
                    for i in (0..total).filter(|i| !seen.contains(i)) {
                        prop_assert!(busy.contains(&lane_key(&sweep, &slots, i)), "point {i} held back");
                    }
                    break;
                };
                prop_assert!(t.index < total);
                prop_assert!(seen.insert(t.index), "point {} twice", t.index);
                let key = lane_key(&sweep, &slots, t.index);
                prop_assert!(running.iter().all(|(_, k)| *k != key), "lane {key:?} twice at once");
                if let Some(&before) = last.get(&key) {
                    prop_assert!(before < t.index, "lane {key:?}: {} after {before}", t.index);
                }
                last.insert(key.clone(), t.index);
                running.push((t.lane, key));
            }
            if running.is_empty() {
                break;
            }
            let (lane, _) = running.swap_remove(picks.next().unwrap().index(running.len()));
            lanes.release(lane);
        }
        prop_assert_eq!(seen.len() as u64, total);
        prop_assert!(!lanes.has_more());
    }
}
