//! The steps of a sequence's tree in run order, one [`Stage`] per step per iteration of its
//! loops ([`Walk`]): lazily, holding only the current path through the tree, so that a
//! 1,000 x 1,000 nested sequence costs what a flat one does.
//!
//! A stage's path names it in the run log: `iv` for a top-level step, `T/2/iv` for step
//! `iv` in iteration 2 of loop `T` (iterations count on across `repeat` passes); its points
//! are `T/2/iv/0`, `T/2/iv/1`, ... Its outer values are the enclosing loops' variables in
//! that iteration, outermost first, as the step's templates index them (before its own).

use std::sync::Arc;

use super::value::Value;
use super::{LetFailed, Loop, Node, Step};

/// One step as it runs in one iteration of each of its loops.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Its path: the loops' names and iterations, then the step's name (`T/2/iv`).
    pub path: String,
    /// Where its innermost loop's iteration starts in `path` (`T/2/` of `T/2/iv`), empty
    /// for a top-level step.
    pub iteration: usize,
    /// The step.
    pub step: Arc<Step>,
    /// The enclosing loops' values in this iteration, outermost first.
    pub outer: Vec<Value>,
}

impl Stage {
    /// The path of the iteration it runs in, with its trailing `/` (`T/2/`), or `""`.
    pub fn iteration_path(&self) -> &str {
        &self.path[..self.iteration]
    }

    /// Its variables' names, the loops' then its step's own: the keys of a point's `vars`.
    pub fn names(&self) -> Vec<String> {
        self.step.var_names().map(str::to_owned).collect()
    }

    /// Writes into `out` the values of the point at `sweep_index` of its step's sweep: the
    /// loops' values, then the point's own (`own` is scratch for those), then its `let:`
    /// values. A stage outside loops (the usual case) writes its values in place, reusing
    /// `out`'s buffers. A `let:` that cannot be computed is the error, and `out` holds the
    /// values before it.
    pub fn point_into(
        &self,
        sweep_index: u64,
        own: &mut Vec<Value>,
        out: &mut Vec<Value>,
    ) -> Result<(), Box<LetFailed>> {
        if self.outer.is_empty() {
            self.step.sweep.point_into(sweep_index, out);
        } else {
            self.step.sweep.point_into(sweep_index, own);
            out.clear();
            out.extend(self.outer.iter().chain(own.iter()).cloned());
        }
        for l in &self.step.lets {
            match l.expr.eval(&*out) {
                Ok(value) => out.push(value),
                Err(error) => {
                    return Err(Box::new(LetFailed {
                        name: l.name.clone(),
                        error,
                    }));
                }
            }
        }
        Ok(())
    }
}

/// The stages of a list of nodes, in run order (see the module's docs).
#[derive(Debug)]
pub struct Walk {
    /// The top-level nodes.
    roots: Vec<Node>,
    /// The next top-level node to enter.
    next_root: usize,
    /// The loops entered, outermost first.
    frames: Vec<Frame>,
    /// The path of the current iteration (`T/2/`), with its trailing `/`.
    path: String,
    /// The values of the entered loops' variables, outermost first.
    values: Vec<Value>,
    /// Scratch for one loop's values of one iteration.
    scratch: Vec<Value>,
}

/// A loop entered by the walk.
#[derive(Debug)]
struct Frame {
    /// The loop.
    lp: Arc<Loop>,
    /// The iteration running, from 0 (on across `repeat` passes).
    iteration: u64,
    /// The next node of its body to enter.
    next_child: usize,
    /// `path` before this loop's `name/iteration/`.
    path_len: usize,
    /// `values` before this loop's values.
    values_len: usize,
}

impl Walk {
    /// The stages of `nodes`, top-level ones.
    pub fn new(nodes: &[Node]) -> Walk {
        Walk::within(nodes, String::new(), Vec::new())
    }

    /// The stages of `nodes`, the body of an iteration at `path` (with its trailing `/`)
    /// whose enclosing loops have `values`.
    pub fn within(nodes: &[Node], path: String, values: Vec<Value>) -> Walk {
        Walk {
            roots: nodes.to_vec(),
            next_root: 0,
            frames: Vec::new(),
            path,
            values,
            scratch: Vec::new(),
        }
    }

    /// Enters `lp`'s first iteration; false (nothing entered) if it has none.
    fn enter(&mut self, lp: &Arc<Loop>) -> bool {
        if lp.iterations() == 0 || lp.body.is_empty() {
            return false;
        }
        self.frames.push(Frame {
            lp: lp.clone(),
            iteration: 0,
            next_child: 0,
            path_len: self.path.len(),
            values_len: self.values.len(),
        });
        self.set_iteration();
        true
    }

    /// Path and values for the innermost frame's current iteration.
    fn set_iteration(&mut self) {
        let Some(frame) = self.frames.last() else {
            return;
        };
        self.path.truncate(frame.path_len);
        self.path.push_str(&frame.lp.name);
        self.path.push('/');
        self.path.push_str(&frame.iteration.to_string());
        self.path.push('/');
        self.values.truncate(frame.values_len);
        let len = frame.lp.sweep.len().max(1);
        if !frame.lp.sweep.is_empty() {
            frame
                .lp
                .sweep
                .point_into(frame.iteration % len, &mut self.scratch);
            self.values.extend(self.scratch.iter().cloned());
        }
    }

    /// Ends the current iteration of the loop entered at `depth` (0: the outermost; the
    /// walk of a whole tree, [`Walk::new`]) as a `stop_when` with `{next: LOOP}` does: the
    /// stages left in it are never produced, and the next is that loop's next iteration.
    /// Returns the points of the stages passed over (saturating); nothing if the walk is
    /// not in such a loop (already left by an earlier end).
    pub fn end_iteration(&mut self, depth: usize) -> u64 {
        self.end(depth, false)
    }

    /// Ends the loop entered at `depth` as a `stop_when` with `{break: LOOP}` does: its
    /// stages left in this iteration and all its later iterations are never produced.
    /// Returns the points passed over, as [`Walk::end_iteration`].
    pub fn end_loop(&mut self, depth: usize) -> u64 {
        self.end(depth, true)
    }

    /// [`Walk::end_iteration`] (`whole` false) or [`Walk::end_loop`].
    fn end(&mut self, depth: usize, whole: bool) -> u64 {
        if depth >= self.frames.len() {
            return 0;
        }
        let mut passed = 0u64;
        for (k, frame) in self.frames.iter().enumerate().skip(depth) {
            let body = &frame.lp.body;
            let rest = body
                .get(frame.next_child..)
                .unwrap_or_default()
                .iter()
                .fold(0u64, |acc, n| acc.saturating_add(n.points()));
            passed = passed.saturating_add(rest);
            // Loops inside the one ended are left whole; the one ended too for a break.
            if k > depth || whole {
                let later = frame
                    .lp
                    .iterations()
                    .saturating_sub(frame.iteration.saturating_add(1));
                passed =
                    passed.saturating_add(later.saturating_mul(frame.lp.points_per_iteration()));
            }
        }
        self.frames.truncate(depth + 1);
        if let Some(frame) = self.frames.last_mut() {
            frame.next_child = frame.lp.body.len();
            if whole {
                frame.iteration = frame.lp.iterations().saturating_sub(1);
            }
        }
        passed
    }

    /// A stage of `step` at the current path.
    fn stage(&self, step: &Arc<Step>) -> Stage {
        let iteration = self.path.len();
        let mut path = String::with_capacity(iteration + step.name.len());
        path.push_str(&self.path);
        path.push_str(&step.name);
        Stage {
            path,
            iteration,
            step: step.clone(),
            outer: self.values.clone(),
        }
    }
}

impl Iterator for Walk {
    type Item = Stage;

    fn next(&mut self) -> Option<Stage> {
        loop {
            // The next node: in the innermost loop's body, or at the top.
            let node = if let Some(frame) = self.frames.last_mut() {
                if let Some(node) = frame.lp.body.get(frame.next_child) {
                    frame.next_child += 1;
                    node.clone()
                } else {
                    // The iteration is over: the next one, or out of the loop.
                    frame.iteration += 1;
                    frame.next_child = 0;
                    if frame.iteration < frame.lp.iterations() {
                        self.set_iteration();
                    } else {
                        let done = self.frames.pop().expect("a frame is entered");
                        self.path.truncate(done.path_len);
                        self.values.truncate(done.values_len);
                    }
                    continue;
                }
            } else {
                let node = self.roots.get(self.next_root)?.clone();
                self.next_root += 1;
                node
            };
            match node {
                Node::Step(step) => return Some(self.stage(&step)),
                Node::Loop(lp) => {
                    self.enter(&lp);
                }
            }
        }
    }
}

/// The loop whose iteration is at `path` (`T/2/`, with its trailing `/`) among `nodes`,
/// if the tree runs that iteration.
pub fn find_loop(nodes: &[Node], path: &str) -> Option<Arc<Loop>> {
    let mut nodes = nodes;
    let mut parts = path.strip_suffix('/')?.split('/');
    loop {
        let name = parts.next()?;
        let Node::Loop(lp) = nodes.iter().find(|n| n.name() == name)? else {
            return None;
        };
        let iteration: u64 = parts.next()?.parse().ok()?;
        if iteration >= lp.iterations() {
            return None;
        }
        if parts.clone().next().is_none() {
            return Some(lp.clone());
        }
        nodes = &lp.body;
    }
}

/// The step of the stage at `path` among `nodes` (`T/2/iv`: step `iv` in iteration 2 of
/// loop `T`), if the tree has that stage: every name a node of its level, every iteration
/// one its loop runs. Reads only the path's nodes.
pub fn find(nodes: &[Node], path: &str) -> Option<Arc<Step>> {
    let mut nodes = nodes;
    let mut parts = path.split('/');
    loop {
        let name = parts.next()?;
        match nodes.iter().find(|n| n.name() == name)? {
            Node::Step(step) => return parts.next().is_none().then(|| step.clone()),
            Node::Loop(lp) => {
                let iteration: u64 = parts.next()?.parse().ok()?;
                if iteration >= lp.iterations() {
                    return None;
                }
                nodes = &lp.body;
            }
        }
    }
}

#[cfg(test)]
mod tests;
