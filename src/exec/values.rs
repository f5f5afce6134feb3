//! A point's values as its command texts and conditions read them ([`Values`]).

use super::{Fired, PointError, Ran};
use crate::sequence::LetFailed;
use crate::sequence::conditions::StopWhen;
use std::sync::Arc;

use crate::sequence::expr::{Env, Problem, reply_number};
use crate::sequence::value::Value;

/// A point's values, by slot: first what the sequencer computed at dispatch (the loops'
/// and the step's sweep variables, then the `let:` values), then what the point has
/// measured so far: the reply of each command named with `as`, at the slot of the command's
/// index in its step (so a run of `on:` commands lent to another connection fills the same
/// slots), then, during a poll, its latest reply (`value` in `until:`).
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// The sequencer's values (shared with its record of the point).
    pub vars: Arc<[Value]>,
    /// Measured values by command index (`None`: not measured in this point), one slot
    /// per command when some text or condition of the step reads a measured value; empty
    /// otherwise, and then no reply is copied.
    pub taken: Vec<Option<Value>>,
    /// Why the sequencer could not compute the point's values (a `let:` that failed): the
    /// point fails with it before sending anything.
    pub fault: Option<Box<LetFailed>>,
}

impl Values {
    /// The sequencer's values, with room for what the point measures when `keep` (some
    /// text or condition of the step reads a measured value) for a step of `commands`.
    pub fn new(vars: Arc<[Value]>, keep: bool, commands: usize) -> Values {
        Values {
            vars,
            taken: if keep {
                vec![None; commands]
            } else {
                Vec::new()
            },
            fault: None,
        }
    }

    /// Keeps `reply`, measured by the command at `index` of the step, when measured values
    /// are kept.
    pub fn take(&mut self, index: usize, reply: &str) {
        if let Some(slot) = self.taken.get_mut(index) {
            *slot = Some(Value::Str(reply.to_owned()));
        }
    }
}

impl Env for Values {
    /// The value at `slot`: a sequencer's value, or a measured one (`None` when the command
    /// that measures it has not run in this point).
    fn get(&self, slot: usize) -> Option<&Value> {
        match slot.checked_sub(self.vars.len()) {
            None => self.vars.get(slot),
            Some(index) => self.taken.get(index).and_then(Option::as_ref),
        }
    }
}

/// After a point whose commands all ran ok: the first of `conditions` (a step's
/// `stop_when:`) that holds for the point's `values` goes into [`Ran::fired`]; one that
/// reads a value not measured in this point (its command skipped by `when:`) does not
/// hold; one that cannot be evaluated otherwise (a reply that is not a number) fails the
/// point.
pub fn fire(ran: &mut Ran, conditions: &[StopWhen], values: &Values) {
    if ran.error.is_some() {
        return;
    }
    for (condition, when) in conditions.iter().enumerate() {
        match when.expr.truth(values) {
            Ok(false) => {}
            Ok(true) => {
                // A measured reply that is a number is recorded as the number the
                // condition read.
                let values = when
                    .expr
                    .values(values)
                    .into_iter()
                    .map(|(name, value)| match &value {
                        Value::Str(reply) => match reply_number(reply) {
                            Some(x) => (name, Value::Float(x)),
                            None => (name, value),
                        },
                        _ => (name, value),
                    })
                    .collect();
                ran.fired = Some(Box::new(Fired { condition, values }));
                return;
            }
            // A value its command's `when:` skipped was not measured: a condition on it
            // cannot hold for this point (its data are whole), so it does not fire.
            Err(error) if matches!(error.what, Problem::NotMeasured(_)) => {}
            Err(error) => {
                ran.error = Some(Box::new(PointError::Eval {
                    place: "`stop_when`".to_owned(),
                    error,
                }));
                return;
            }
        }
    }
}
