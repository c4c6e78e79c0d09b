//! The calls waiting for their turn, in order of arrival, and the wait of one of them.
//!
//! Hand-written: tokio's `Semaphore` keeps order but knows no scopes (the calls of a held
//! account would block every call behind them), and rate limiters such as `governor` neither
//! keep order nor run on tokio's clock, which the tests pause.
//!
//! No task runs the queue: each waiting call sleeps until it is woken. Whatever frees a turn
//! (a call ending, a hold ending, the rate's next slot) gives turns out in order of arrival
//! under the budget's lock. One waiting call at a time keeps the timer (sleeps until the next
//! instant something changes); when it leaves, it wakes the first waiting call to take over.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::select;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Budget, State};
use crate::{CustomerId, Error};

/// What the budget says to one waiting call.
pub(super) enum Turn {
    Go,
    Wait,
    Refuse(Error),
}

enum Status {
    Waiting,
    Go,
    Refused(Error),
}

struct Entry {
    customer: Option<CustomerId>,
    status: Status,
    notify: Arc<Notify>,
}

#[derive(Default)]
pub(super) struct Queue {
    /// By ticket: the order of arrival.
    entries: BTreeMap<u64, Entry>,
    next_ticket: u64,
    /// The instant the call keeping the timer wakes at, if one does.
    timer: Option<Instant>,
}

/// A call's place in the queue.
pub(super) struct Ticket {
    number: u64,
    notify: Arc<Notify>,
}

impl Queue {
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(super) fn push(&mut self, customer: Option<CustomerId>) -> Ticket {
        let number = self.next_ticket;
        self.next_ticket += 1;
        let notify = Arc::new(Notify::new());
        self.entries.insert(
            number,
            Entry {
                customer,
                status: Status::Waiting,
                notify: notify.clone(),
            },
        );
        Ticket { number, notify }
    }

    /// Asks `turn` about each waiting call, in order of arrival, and wakes those it lets go
    /// or refuses.
    pub(super) fn dispatch(&mut self, mut turn: impl FnMut(Option<CustomerId>) -> Turn) {
        for entry in self.entries.values_mut() {
            if !matches!(entry.status, Status::Waiting) {
                continue;
            }
            match turn(entry.customer) {
                Turn::Wait => continue,
                Turn::Go => entry.status = Status::Go,
                Turn::Refuse(error) => entry.status = Status::Refused(error),
            }
            entry.notify.notify_one();
        }
    }

    /// Makes sure a waiting call keeps the timer for `next`: wakes the first one when no
    /// timer is set for `next` or earlier.
    pub(super) fn watch(&self, next: Option<Instant>) {
        let Some(next) = next else { return };
        if self.timer.is_some_and(|at| at <= next) {
            return;
        }
        if let Some(first) = self
            .entries
            .values()
            .find(|e| matches!(e.status, Status::Waiting))
        {
            first.notify.notify_one();
        }
    }

    /// Takes the call's entry out once it has been let go or refused.
    fn settle(&mut self, ticket: u64) -> Option<Result<(), Error>> {
        let entry = self.entries.get(&ticket)?;
        if matches!(entry.status, Status::Waiting) {
            return None;
        }
        match self.entries.remove(&ticket)?.status {
            Status::Refused(error) => Some(Err(error)),
            _ => Some(Ok(())),
        }
    }
}

/// One call waiting for its turn; dropped before it ends (the call was cancelled), it gives
/// its place, and a turn it was given but did not take, back.
pub(super) struct Waiting {
    budget: Arc<Budget>,
    ticket: Ticket,
    /// The instant this call sleeps until, when it keeps the timer.
    armed: Option<Instant>,
    done: bool,
}

impl Waiting {
    pub(super) fn new(budget: Arc<Budget>, ticket: Ticket) -> Self {
        Self {
            budget,
            ticket,
            armed: None,
            done: false,
        }
    }

    /// Until the call may start (`Ok`) or is refused.
    pub(super) async fn wait(mut self) -> Result<(), Error> {
        loop {
            let sleep = {
                let budget = self.budget.clone();
                let mut state = budget.lock();
                let now = Instant::now();
                if self.armed.is_some_and(|at| at <= now) {
                    self.leave_timer(&mut state);
                }
                budget.dispatch(&mut state, now);
                if let Some(result) = state.queue.settle(self.ticket.number) {
                    self.done = true;
                    self.leave_timer(&mut state);
                    return result;
                }
                if let Some(at) = state.next_event(now)
                    && state.queue.timer.is_none_or(|t| at < t)
                {
                    state.queue.timer = Some(at);
                    self.armed = Some(at);
                }
                self.armed
            };
            let notified = std::pin::pin!(self.ticket.notify.notified());
            match sleep {
                Some(at) => {
                    let timer = std::pin::pin!(tokio::time::sleep_until(at));
                    // Woken either way; the next round sees which.
                    let _ = select(notified, timer).await;
                }
                None => notified.await,
            }
        }
    }

    /// Gives the timer up, if this call keeps it, and wakes the first waiting call to take
    /// it over.
    fn leave_timer(&mut self, state: &mut State) {
        let Some(at) = self.armed.take() else { return };
        if state.queue.timer == Some(at) {
            state.queue.timer = None;
            let next = state.next_event(Instant::now());
            state.queue.watch(next);
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let budget = self.budget.clone();
        let mut state = budget.lock();
        if let Some(entry) = state.queue.entries.remove(&self.ticket.number)
            && matches!(entry.status, Status::Go)
        {
            state.in_flight = state.in_flight.saturating_sub(1);
        }
        self.leave_timer(&mut state);
        budget.dispatch(&mut state, Instant::now());
    }
}
