//! The tree of steps: a [`Node`] is a step or a loop, a [`Loop`] runs its body once per
//! point of its own sweep, and [`Leaves`] walks every step of a tree depth first. Counts
//! here are arithmetic over the tree (saturating); nothing is expanded.

use std::sync::Arc;

use super::sweep::Sweep;
use super::{Sequence, Step};

/// A node of the sequence's tree of steps.
#[derive(Debug, Clone)]
pub enum Node {
    /// A step, whose points run commands.
    Step(Arc<Step>),
    /// A loop (a step with `steps:`), whose body runs once per point of its sweep.
    Loop(Arc<Loop>),
}

impl Node {
    /// The node's name, unique among its siblings.
    pub fn name(&self) -> &str {
        match self {
            Node::Step(step) => &step.name,
            Node::Loop(l) => &l.name,
        }
    }

    /// All the points under it: a step's, or every iteration's of a loop (saturating).
    pub fn points(&self) -> u64 {
        match self {
            Node::Step(step) => step.points(),
            Node::Loop(l) => l.points(),
        }
    }

    /// The step, if the node is one.
    pub fn as_step(&self) -> Option<&Arc<Step>> {
        match self {
            Node::Step(step) => Some(step),
            Node::Loop(_) => None,
        }
    }
}

/// A step with `steps:`: its body runs once per point of its own sweep (a group, with no
/// sweep, once). Iterations run one after another: each is a barrier, as a step is.
#[derive(Debug)]
pub struct Loop {
    /// Name, unique among its siblings; the first part of its points' ids
    /// (`T/2/iv/7`).
    pub name: String,
    /// Its own variables only; a group: the empty sweep of one point.
    pub sweep: Sweep,
    /// Passes over its iteration list; iteration indices number on across passes.
    pub repeat: u64,
    /// The steps and loops of one iteration, in order; at least one.
    pub body: Vec<Node>,
}

impl Loop {
    /// Iterations: sweep length times repeat.
    pub fn iterations(&self) -> u64 {
        self.sweep.len().saturating_mul(self.repeat)
    }

    /// Points of one iteration: the sum over the body (saturating).
    pub fn points_per_iteration(&self) -> u64 {
        self.body
            .iter()
            .fold(0u64, |acc, n| acc.saturating_add(n.points()))
    }

    /// All its points: iterations times the body's points (saturating).
    pub fn points(&self) -> u64 {
        self.iterations()
            .saturating_mul(self.points_per_iteration())
    }
}

impl Sequence {
    /// Every step of the tree, depth first in file order (each once, however many
    /// iterations run it); setup and teardown not included.
    pub fn leaves(&self) -> Leaves<'_> {
        Leaves {
            stack: vec![self.steps.iter()],
        }
    }

    /// The first loop of the top level, if the sequence has one (`None`: a flat sequence).
    pub fn first_loop(&self) -> Option<&Loop> {
        self.steps.iter().find_map(|n| match n {
            Node::Loop(l) => Some(&**l),
            Node::Step(_) => None,
        })
    }
}

/// The steps of a tree of nodes, depth first ([`Sequence::leaves`]): a stack of the
/// bodies being walked, as deep as the loops nest.
pub struct Leaves<'a> {
    /// The top level, then the body of each loop being walked.
    stack: Vec<std::slice::Iter<'a, Node>>,
}

impl<'a> Iterator for Leaves<'a> {
    type Item = &'a Arc<Step>;

    fn next(&mut self) -> Option<&'a Arc<Step>> {
        loop {
            match self.stack.last_mut()?.next() {
                Some(Node::Step(step)) => return Some(step),
                Some(Node::Loop(l)) => self.stack.push(l.body.iter()),
                None => {
                    self.stack.pop();
                }
            }
        }
    }
}
