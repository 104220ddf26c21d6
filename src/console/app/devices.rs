//! The Endpoint Devices tab's detail: opening a device asks the service for its latest facts
//! (too large to load for every device on every refresh), which then join the row's detail
//! lines, so they scroll with it; every reload while the detail is open asks again, so a
//! check-in from any process shows within the console's reload pace.

use super::App;
use crate::console::actions::Request;
use crate::console::tabs::{TABS, TabId};

/// The detail line the facts start after.
const FACTS: &str = "facts";

/// The facts of the device whose detail is open, as detail rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFacts {
    /// The device's id.
    pub device_id: String,
    /// `(section, line)` rows (see `console::facts::fact_rows`).
    pub rows: Vec<(String, String)>,
}

impl App {
    /// The device whose detail has focus on the Devices tab, if any.
    fn open_device(&self) -> Option<String> {
        let open = self.overlays.detail()?;
        (TABS[self.tab].id == TabId::Devices).then(|| open.row.key.clone())
    }

    /// Asks for the open device's facts, unless something else is asked for (a request for
    /// another device's facts gives way: only the open one's matter).
    pub(super) fn request_device_facts(&mut self) {
        if matches!(self.pending, None | Some(Request::DeviceFacts { .. })) {
            self.pending = self.open_device().map(|id| Request::DeviceFacts { id });
        }
    }

    /// The open device's facts arrived (`None`: the device is gone).
    pub(super) fn apply_device_facts(&mut self, id: String, rows: Option<Vec<(String, String)>>) {
        self.device_facts = rows.map(|rows| DeviceFacts {
            device_id: id,
            rows,
        });
        self.merge_device_facts();
    }

    /// Appends the facts to their device's row and to the open detail showing it.
    pub(super) fn merge_device_facts(&mut self) {
        let Some(facts) = &self.device_facts else {
            return;
        };
        let Some(tab) = TABS.iter().position(|t| t.id == TabId::Devices) else {
            return;
        };
        let Some(row) = self.rows[tab].iter_mut().find(|r| r.key == facts.device_id) else {
            return;
        };
        // Facts merged before (an earlier answer) give way to these.
        if let Some(at) = row.detail.iter().position(|(k, _)| k == FACTS) {
            row.detail.truncate(at);
        }
        row.detail
            .push((FACTS.into(), "of the latest check-in:".into()));
        row.detail.extend(
            facts
                .rows
                .iter()
                .map(|(k, v)| (k.clone(), crate::console::text::inert(v))),
        );
        let row = row.clone();
        if self.tab == tab
            && let Some(d) = self.overlays.detail_mut()
            && d.row.key == row.key
        {
            d.row = row;
        }
    }

    /// The facts shown for the open device (tests read them).
    pub fn device_facts(&self) -> Option<&DeviceFacts> {
        self.device_facts.as_ref()
    }
}
