//! Reading the audit trail (recording is [`crate::context::Context::record_event`]): the newest
//! events, a filtered query that reaches the whole trail through the store's indexes, and a
//! follower that hands out each new event once.

use std::collections::HashMap;

use super::{Service, ServiceResult};
use crate::domain::{Event, EventCursor, EventFilter, Timestamp};
use crate::store::events;

/// How far back (seconds) a follower looks again at every poll. An event's time is taken
/// when it is made, before its transaction waits for the write lock (up to the busy timeout,
/// 5 s by default) and commits, so an event can become visible after a newer one was read;
/// looking this far behind the newest event handed out (and skipping the ids already handed
/// out) lets none slip past.
pub const FOLLOW_LOOKBACK: i64 = 10;

impl Service {
    /// The newest events, newest first.
    pub async fn recent_events(&self, limit: i64) -> ServiceResult<Vec<Event>> {
        let mut conn = self.store().read().await?;
        Ok(events::recent(&mut conn, limit).await?)
    }

    /// The newest events `filter` lets through, newest first (at most its limit).
    pub async fn query_events(&self, filter: &EventFilter) -> ServiceResult<Vec<Event>> {
        let mut conn = self.store().read().await?;
        Ok(events::query(&mut conn, filter).await?)
    }

    /// The events `filter` lets through after `cursor`, oldest first (at most its limit).
    pub async fn events_after(
        &self,
        filter: &EventFilter,
        cursor: &EventCursor,
    ) -> ServiceResult<Vec<Event>> {
        let mut conn = self.store().read().await?;
        Ok(events::after(&mut conn, filter, cursor).await?)
    }

    /// Follows the trail: the first [`EventFollower::poll`] returns the newest events `filter`
    /// lets through (at most its limit), later ones what was recorded since; oldest first.
    pub fn follow_events(&self, filter: EventFilter) -> EventFollower {
        EventFollower {
            service: self.clone(),
            filter,
            started: false,
            newest: Timestamp::MIN,
            handed_out: HashMap::new(),
        }
    }
}

/// Follows the audit trail (see [`Service::follow_events`]): each event is handed out once.
pub struct EventFollower {
    service: Service,
    filter: EventFilter,
    /// The backlog was handed out.
    started: bool,
    /// The newest time handed out (or when following began).
    newest: Timestamp,
    /// Ids handed out within the lookback, with their times (forgotten once behind it).
    handed_out: HashMap<String, Timestamp>,
}

impl EventFollower {
    /// The events recorded since the last poll (the first time: the backlog), oldest first.
    pub async fn poll(&mut self) -> ServiceResult<Vec<Event>> {
        if !self.started {
            let mut backlog = self.service.query_events(&self.filter).await?;
            backlog.reverse();
            self.newest = backlog
                .last()
                .map_or_else(|| self.service.now(), |e| e.created_at);
            self.note(&backlog);
            self.started = true;
            return Ok(backlog);
        }
        let from = self.newest.saturating_sub(FOLLOW_LOOKBACK);
        // An empty id sorts before every id: this cursor is "from `from` on".
        let mut cursor = EventCursor {
            created_at: from,
            id: String::new(),
        };
        let mut out = Vec::new();
        loop {
            let page = self.service.events_after(&self.filter, &cursor).await?;
            let full = page.len() as i64 >= self.filter.effective_limit();
            let Some(last) = page.last() else { break };
            cursor = EventCursor::after(last);
            out.extend(
                page.into_iter()
                    .filter(|e| !self.handed_out.contains_key(&e.id)),
            );
            if !full {
                break;
            }
        }
        self.note(&out);
        Ok(out)
    }

    fn note(&mut self, handed: &[Event]) {
        for e in handed {
            self.newest = self.newest.max(e.created_at);
            self.handed_out.insert(e.id.clone(), e.created_at);
        }
        let from = self.newest.saturating_sub(FOLLOW_LOOKBACK);
        self.handed_out.retain(|_, at| *at >= from);
    }
}
