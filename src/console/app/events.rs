//! The Events tab as an audit tool. `f` opens the audit filter (action, user, application,
//! client IP, origin, time range); the service answers it with the store's indexed query, so
//! it reaches past the newest events the console keeps, and every reload asks it again until
//! Esc on the list drops it. Enter's detail lays the event's context out as JSON, built when
//! the detail opens rather than for every row at every reload; `y` copies the event as the
//! JSON object `latchkey events --json` prints, `v` shows that JSON whole.

use super::App;
use super::overlay::{EventFilterForm, Overlay};
use crate::console::actions::Request;
use crate::console::data::EVENT_LIMIT;
use crate::console::keymap::{self, Action};
use crate::console::tabs::{TABS, TabId, Tone, index_of};
use crate::console::text::inert;
use crate::domain::audit::{self, parse_time_bound};
use crate::domain::{Event, EventFilter, UserMatch};

/// The audit filter's fields, in order: label and what to type there.
pub const FILTER_FIELDS: &[(&str, &str)] = &[
    ("Action", "exact names, several apart: login login_failed"),
    ("User", "part of the username, or =name for exactly"),
    ("Application", "the application's slug"),
    ("Client IP", "the address, exactly"),
    ("Origin", "http, console, cli, system, blueprint [name]"),
    ("Since", "30m, 1h, 2d (ago), a date, or RFC 3339"),
    ("Until", "the same forms; empty: up to now"),
];

const ACTION: usize = 0;
const USER: usize = 1;
const APP: usize = 2;
const CLIENT_IP: usize = 3;
const ORIGIN: usize = 4;
const SINCE: usize = 5;
const UNTIL: usize = 6;

/// The detail line the event's context starts at (added when the detail opens).
const CONTEXT: &str = "context";

impl EventFilterForm {
    /// The form showing `f` (times as RFC 3339, so reopening shows what is in effect).
    fn of(f: &EventFilter) -> Self {
        let mut values = vec![String::new(); FILTER_FIELDS.len()];
        values[ACTION] = f.actions.join(" ");
        values[USER] = match &f.user {
            Some(UserMatch::Exact(u)) => format!("={u}"),
            Some(UserMatch::Contains(u)) => u.clone(),
            None => String::new(),
        };
        values[APP] = f.app.clone().unwrap_or_default();
        values[CLIENT_IP] = f.client_ip.clone().unwrap_or_default();
        values[ORIGIN] = f.origin.clone().unwrap_or_default();
        values[SINCE] = f.since.map(audit::rfc3339).unwrap_or_default();
        values[UNTIL] = f.until.map(audit::rfc3339).unwrap_or_default();
        Self {
            values,
            focus: 0,
            error: None,
        }
    }

    /// The filter typed, relative times counted back from `now`; or the field that is wrong
    /// and why.
    pub fn filter(&self, now: i64) -> Result<EventFilter, (usize, String)> {
        let text = |i: usize| {
            let v = self.values[i].trim();
            (!v.is_empty()).then(|| v.to_string())
        };
        let time = |i: usize| {
            text(i)
                .map(|t| parse_time_bound(&t, now))
                .transpose()
                .map_err(|e| (i, format!("{}: {e}", FILTER_FIELDS[i].0)))
        };
        let user = text(USER).map(|u| match u.strip_prefix('=') {
            Some(exact) => UserMatch::Exact(exact.to_string()),
            None => UserMatch::Contains(u),
        });
        let actions: Vec<String> = self.values[ACTION]
            .split(|c: char| c.is_whitespace() || c == ',' || c == '|')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(bad) = actions
            .iter()
            .find(|a| !crate::domain::event_actions::is_known(a))
        {
            return Err((
                ACTION,
                format!(
                    "{}: '{bad}' is not an event action: use authentik's (login, \
                     model_updated, …) or custom_…",
                    FILTER_FIELDS[ACTION].0
                ),
            ));
        }
        Ok(EventFilter {
            actions,
            user,
            app: text(APP),
            client_ip: text(CLIENT_IP),
            origin: text(ORIGIN),
            since: time(SINCE)?,
            until: time(UNTIL)?,
            limit: EVENT_LIMIT,
        })
    }
}

impl App {
    /// The audit filter in effect on the Events tab (every reload asks the store with it).
    pub fn event_filter(&self) -> &EventFilter {
        &self.event_filter
    }

    /// The audit filter popup, when it is open.
    pub fn event_filter_form(&self) -> Option<&EventFilterForm> {
        match self.overlays.top() {
            Some(Overlay::EventFilter(f)) => Some(f),
            _ => None,
        }
    }

    /// `f` on the Events tab: the audit filter, showing the one in effect.
    pub(super) fn open_event_filter(&mut self) {
        let form = EventFilterForm::of(&self.event_filter);
        self.overlays.push(Overlay::EventFilter(form));
    }

    /// A row's action in the audit filter popup.
    pub(super) fn event_filter_action(&mut self, action: Action) {
        let now = self.data.now;
        let Some(Overlay::EventFilter(f)) = self.overlays.top_mut() else {
            return;
        };
        let n = FILTER_FIELDS.len();
        match action {
            Action::NextField => f.focus = (f.focus + 1) % n,
            Action::PrevField => f.focus = (f.focus + n - 1) % n,
            Action::DeleteChar => {
                f.values[f.focus].pop();
            }
            Action::ClearFilter => {
                f.values.iter_mut().for_each(String::clear);
                f.error = None;
            }
            Action::Cancel => {
                self.overlays.pop();
            }
            Action::Accept => match f.filter(now) {
                Ok(filter) => {
                    self.overlays.pop();
                    self.set_event_filter(filter);
                }
                Err((field, why)) => {
                    f.focus = field;
                    f.error = Some(why);
                }
            },
            _ => {}
        }
    }

    /// A typed character for the popup's focused field.
    pub(super) fn event_filter_typed(&mut self, c: char) {
        if let Some(Overlay::EventFilter(f)) = self.overlays.top_mut() {
            f.values[f.focus].push(c);
            f.error = None;
        }
    }

    /// Puts `filter` in effect: no criteria show the newest events again at once; otherwise
    /// the service is asked (the answer comes back as [`App::apply_events`]).
    pub(super) fn set_event_filter(&mut self, filter: EventFilter) {
        self.event_filter = filter;
        if self.event_filter.is_unfiltered() {
            self.data.filtered_events = None;
            self.rebuild_event_rows();
            self.set_status("audit filter cleared: the newest events", Tone::Muted);
        } else {
            self.pending = Some(Request::QueryEvents(self.event_filter.clone()));
            self.set_status("reading the events…", Tone::Muted);
        }
    }

    /// Drops the audit filter (Esc on the Events list); false when there was none.
    pub(super) fn clear_event_filter(&mut self) -> bool {
        if TABS[self.tab].id != TabId::Events || self.event_filter.is_unfiltered() {
            return false;
        }
        self.set_event_filter(EventFilter {
            limit: EVENT_LIMIT,
            ..EventFilter::default()
        });
        true
    }

    /// The service's answer to `filter`; an answer to a filter no longer in effect is dropped.
    pub fn apply_events(&mut self, filter: EventFilter, events: Vec<Event>) {
        if filter != self.event_filter {
            return;
        }
        let n = events.len();
        self.data.filtered_events = Some(events);
        self.rebuild_event_rows();
        let newest = if n as i64 >= filter.effective_limit() {
            "the newest "
        } else {
            ""
        };
        self.set_status(
            &format!(
                "{newest}{n} event{} where {}",
                if n == 1 { "" } else { "s" },
                filter.describe()
            ),
            Tone::Ok,
        );
    }

    fn rebuild_event_rows(&mut self) {
        let i = index_of(TabId::Events);
        if let Some(build) = TABS[i].rows {
            let keep = self.selected_key(i);
            self.rows[i] = build(&self.data);
            self.refilter(i, keep);
        }
    }

    /// The event the Events tab points at: the open detail's, else the selected row's.
    pub fn selected_event(&self) -> Option<&Event> {
        if TABS[self.tab].id != TabId::Events || self.showing_logs() {
            return None;
        }
        let key = match self.overlays.detail() {
            Some(d) => d.row.key.clone(),
            None => self.selected_row()?.key.clone(),
        };
        self.data
            .filtered_events
            .iter()
            .flatten()
            .chain(&self.data.events)
            .find(|e| e.id == key)
    }

    /// `y` on the Events tab: the event as one JSON object (authentik's shape, plus origin).
    pub(super) fn copy_event(&mut self) {
        let Some(e) = self.selected_event() else {
            self.no_action(keymap::label_of(Action::Copy));
            return;
        };
        let clip = super::Clip {
            what: format!("the {} event as JSON", e.action),
            value: audit::to_authentik_json(e).to_string(),
        };
        self.copy_clip(clip);
    }

    /// `v` in an event's detail: its JSON whole, to read or select with the mouse.
    pub(super) fn reveal_event(&mut self) {
        let Some(e) = self.selected_event() else {
            self.no_action(keymap::label_of(Action::RevealValue));
            return;
        };
        let title = format!("Event {} as JSON (select it with the mouse)", e.action);
        let text = pretty(&audit::to_authentik_json(e));
        self.show_message(&title, &text, Tone::Normal);
    }

    /// Lays the open event's context out as JSON at the end of its detail, once per opening
    /// (a reload that replaces the row lays it out again).
    pub(super) fn expand_event_detail(&mut self) {
        if TABS[self.tab].id != TabId::Events {
            return;
        }
        let Some(context) = self.selected_event().map(|e| pretty(&e.context)) else {
            return;
        };
        let Some(d) = self.overlays.detail_mut() else {
            return;
        };
        if d.row.detail.iter().any(|(k, _)| k == CONTEXT) {
            return;
        }
        let mut lines = context.lines();
        let first = lines.next().unwrap_or_default();
        d.row.detail.push((CONTEXT.into(), inert(first)));
        d.row
            .detail
            .extend(lines.map(|l| (String::new(), inert(l))));
    }
}

/// JSON indented for reading (a value serde_json cannot print is shown compact).
fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(values: &[(usize, &str)]) -> EventFilterForm {
        let mut f = EventFilterForm::of(&EventFilter::default());
        for (i, v) in values {
            f.values[*i] = v.to_string();
        }
        f
    }

    #[test]
    fn a_mistyped_action_is_marked_at_its_field() {
        let err = form(&[(ACTION, "login logn")])
            .filter(10_000)
            .expect_err("refused");
        assert_eq!(err.0, ACTION);
        assert!(err.1.contains("'logn' is not an event action"), "{}", err.1);
    }

    #[test]
    fn the_form_reads_lists_exact_users_and_times() {
        let f = form(&[
            (ACTION, " login, logout|login_failed "),
            (USER, "=akadmin"),
            (SINCE, "1h"),
            (ORIGIN, "blueprint"),
        ])
        .filter(10_000)
        .expect("valid");
        assert_eq!(f.actions, ["login", "logout", "login_failed"]);
        assert_eq!(f.user, Some(UserMatch::Exact("akadmin".into())));
        assert_eq!(f.since, Some(10_000 - 3_600));
        assert_eq!(f.origin.as_deref(), Some("blueprint"));
        assert_eq!((f.app.as_deref(), f.until), (None, None));
        let back = EventFilterForm::of(&f);
        assert_eq!(back.values[USER], "=akadmin");
        assert_eq!(back.values[ACTION], "login logout login_failed");
        let again = back.filter(99).expect("reopened");
        assert_eq!(again.since, f.since, "an absolute time stays put");
    }

    #[test]
    fn a_bad_time_names_its_field() {
        let (field, why) = form(&[(UNTIL, "later")]).filter(0).expect_err("bad");
        assert_eq!(field, UNTIL);
        assert!(why.starts_with("Until: \"later\" is not a time"), "{why}");
        assert!(form(&[]).filter(0).expect("empty").is_unfiltered());
    }
}
