//! Lending a point's `on:` commands to a connection of another instrument: what the
//! connection running the point is given ([`Others`], [`Lend`]) and gets back ([`Lent`],
//! [`Unlent`]), and how their exchanges and measured values join the point's.

use super::{Command, Exec, PointError, Ran, Transport, Values};
use tokio::time::Instant;

/// Where a point's `on:` commands go: the connection that runs the point lends them to a
/// connection of another instrument.
#[derive(Clone, Copy)]
pub struct Others<'a> {
    /// The index of the instrument this connection talks to: commands `on:` it run here.
    pub own: usize,
    /// Runs the others (none: the point has none).
    pub lend: Option<&'a dyn Lend>,
}

impl std::fmt::Debug for Others<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Others")
            .field("own", &self.own)
            .finish_non_exhaustive()
    }
}

/// Runs a run of a point's consecutive `on:` commands on a connection of their instrument,
/// taken when the first is due and given back after the last.
pub trait Lend {
    /// Runs the commands at `range` of the point's step, with the point's `values` so
    /// far, on a connection of instrument `instrument`.
    fn run_on(
        &self,
        instrument: usize,
        range: std::ops::Range<usize>,
        values: Values,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Lent, Unlent>>>>;
}

/// What a run of `on:` commands did on the connection it borrowed.
pub struct Lent {
    /// The borrowed connection (its `conn`).
    pub conn: usize,
    /// Its instrument's name.
    pub instrument: String,
    /// What ran there (its `values`: what the lent commands measured).
    pub ran: Ran,
}

/// Why a run of `on:` commands found no connection of their instrument.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no connection to instrument `{instrument}` for its `on:` commands: {why}")]
pub struct Unlent {
    /// The instrument's name.
    pub instrument: String,
    /// Why (its pool's words).
    pub why: String,
}

impl<S: Transport> Exec<'_, S> {
    /// Runs the commands at `range` on a connection of `instrument` lent by `others`, with
    /// the point's values; their exchanges (marked with the instrument and the connection)
    /// and values join the point's.
    pub(super) async fn lent(
        &mut self,
        others: Option<Others<'_>>,
        instrument: usize,
        commands: &[Command],
        range: std::ops::Range<usize>,
    ) -> Result<(), PointError> {
        let Some(lend) = others.and_then(|o| o.lend) else {
            return Err(PointError::Unlent(Unlent {
                instrument: instrument.to_string(),
                why: "this connection lends to no other instrument".to_owned(),
            }));
        };
        let Lent {
            conn,
            instrument,
            ran,
        } = lend
            .run_on(instrument, range.clone(), self.values.clone())
            .await
            .map_err(PointError::Unlent)?;
        for mut exchange in ran.exchanges {
            exchange.on = Some(instrument.clone());
            exchange.conn = Some(conn);
            self.out.exchanges.push(exchange);
        }
        // What the lent commands measured, at their slots (names are unique in a list).
        for (index, command) in commands[range.clone()].iter().enumerate() {
            if let Some(name) = command.measures()
                && let Some((_, reply)) = ran.values.iter().find(|(n, _)| n == name)
            {
                self.values.take(range.start + index, reply);
            }
        }
        self.out.values.extend(ran.values);
        self.last = Instant::now();
        match ran.error {
            Some(e) => Err(*e),
            None => Ok(()),
        }
    }
}
