//! A step's conditions, validated: its `stop_when:` entries ([`StopWhen`], each with the
//! [`Action`] it takes) and its `when:` ([`Condition`]). The sequencer acts on a fired
//! `stop_when` (`sequencer/breaks.rs`) and asks [`stage_runs`] whether a step with `when:`
//! runs in an iteration.

use std::fmt;

use super::Step;
use super::expr::Expr;
use super::value::Value;

/// One `stop_when:` entry of a step: when its condition holds after a point completes ok,
/// its action happens.
#[derive(Debug, Clone)]
pub struct StopWhen {
    /// The condition as written (`current > 1e-3`), for the run log and messages.
    pub text: String,
    /// Where its `if:` value is in the file (1-based line and column).
    pub at: (u64, u64),
    /// The condition, over the point's values (measured ones too).
    pub expr: Expr,
    /// What happens when it holds.
    pub action: Action,
}

/// What a fired `stop_when` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `break`: the step dispatches no more points; the sequence goes on with the next step.
    Break,
    /// `stop`: the run stops like a failure (teardown runs, exit status 1).
    Stop,
    /// `{next: LOOP}`: the current iteration of that enclosing loop ends.
    Next(LoopRef),
    /// `{break: LOOP}`: that enclosing loop ends.
    BreakLoop(LoopRef),
}

/// An enclosing loop named by an [`Action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopRef {
    /// Its name.
    pub name: String,
    /// How deep it is: 0 for a loop at the top level, 1 for a loop in its body, ... (the
    /// index of its frame in a [`super::walk::Walk`] of the whole tree).
    pub depth: usize,
}

/// A step's `when:`: the step runs only in the iterations where it holds.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The expression as written (`setpoint <= 150`).
    pub text: String,
    /// Where it is in the file (1-based line and column).
    pub at: (u64, u64),
    /// The condition, over the loops' variables.
    pub expr: Expr,
}

impl Action {
    /// The action as the run log's `break` record writes it: `"break"`, `"stop"`,
    /// `{"next":"T"}` or `{"break":"T"}`, as in the sequence file.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Action::Break => "break".into(),
            Action::Stop => "stop".into(),
            Action::Next(l) => serde_json::json!({ "next": l.name }),
            Action::BreakLoop(l) => serde_json::json!({ "break": l.name }),
        }
    }
}

/// As in messages: `break`, `stop`, `next: T`, `break: T`.
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Break => f.write_str("break"),
            Action::Stop => f.write_str("stop"),
            Action::Next(l) => write!(f, "next: {}", l.name),
            Action::BreakLoop(l) => write!(f, "break: {}", l.name),
        }
    }
}

/// Why a step's `when:` could not be decided in an iteration (the run then stops as
/// failed: whether the step is meant to run is unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhenError(pub String);

/// Whether `step` runs in an iteration whose loops have `loop_values` (outermost first, as
/// [`Step::outer`] names them): true without a `when:`.
pub fn stage_runs(step: &Step, loop_values: &[Value]) -> Result<bool, WhenError> {
    let Some(cond) = &step.when else {
        return Ok(true);
    };
    cond.expr
        .truth(loop_values)
        .map_err(|e| WhenError(e.to_string()))
}
