//! The filterable picker a select opens (and the checklist of a multi-select).

use crossterm::event::KeyEvent;

use super::field::{Choice, FieldValue};
use crate::console::keymap::{Action, typed_char};

/// The id of the "(none)" row of an optional select.
const NONE_ID: &str = "";

/// An open picker.
#[derive(Debug, Clone)]
pub struct Picker {
    /// The field it belongs to.
    pub field: usize,
    /// Checklist (Space toggles) rather than pick-one.
    pub multi: bool,
    /// Every choice.
    pub choices: Vec<Choice>,
    /// Typed filter.
    pub query: String,
    /// Selected row among the filtered ones.
    pub selected: usize,
    /// Ticked ids (multi).
    pub checked: Vec<String>,
}

/// What a key did to the picker.
#[derive(Debug, Clone, PartialEq)]
pub enum PickerOutcome {
    /// Still open.
    Stay,
    /// Closed without a change.
    Cancel,
    /// Closed with this value.
    Pick(FieldValue),
}

/// What a key did to a picker over a list ([`Picker::over_list`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ListPick<T> {
    /// Still open.
    Stay,
    /// Closed: with the picked item, or none when cancelled.
    Closed(Option<T>),
}

impl Picker {
    /// A pick-one picker over a list of labels (the palette, the type chooser): each choice's
    /// id is its index, which [`Picker::act_on_list`] turns back into the item.
    pub fn over_list(labels: impl IntoIterator<Item = String>) -> Self {
        let choices = labels
            .into_iter()
            .enumerate()
            .map(|(i, label)| Choice {
                id: i.to_string(),
                label,
            })
            .collect();
        Self::open(0, false, false, choices, &FieldValue::One(None))
    }

    /// [`Picker::act`] on a picker [`over_list`](Picker::over_list) of `items`.
    pub fn act_on_list<T: Copy>(&mut self, action: Action, items: &[T]) -> ListPick<T> {
        match self.act(action) {
            PickerOutcome::Stay => ListPick::Stay,
            PickerOutcome::Cancel => ListPick::Closed(None),
            PickerOutcome::Pick(v) => ListPick::Closed(
                v.one()
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| items.get(i).copied()),
            ),
        }
    }

    /// Opens over `choices`, selecting the current value; optional selects get a "(none)" row.
    pub fn open(
        field: usize,
        multi: bool,
        optional: bool,
        mut choices: Vec<Choice>,
        current: &FieldValue,
    ) -> Self {
        if optional && !multi {
            choices.insert(
                0,
                Choice {
                    id: NONE_ID.into(),
                    label: "(none)".into(),
                },
            );
        }
        let selected = current
            .one()
            .and_then(|id| choices.iter().position(|c| c.id == id))
            .unwrap_or(0);
        Self {
            field,
            multi,
            choices,
            query: String::new(),
            selected,
            checked: current.many().to_vec(),
        }
    }

    /// The choices the filter lets through.
    pub fn visible(&self) -> Vec<&Choice> {
        let q = self.query.to_lowercase();
        self.choices
            .iter()
            .filter(|c| c.label.to_lowercase().contains(&q))
            .collect()
    }

    /// Carries out what a bound key asks (moving, ticking, picking, cancelling).
    pub fn act(&mut self, action: Action) -> PickerOutcome {
        let n = self.visible().len();
        match action {
            Action::Cancel => return PickerOutcome::Cancel,
            Action::Down => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Toggle if self.multi => self.tick(),
            Action::Accept => return self.pick(),
            Action::DeleteChar => {
                self.query.pop();
                self.selected = 0;
            }
            _ => {}
        }
        PickerOutcome::Stay
    }

    /// Takes a key no row binds: a printable one filters the choices.
    pub fn type_key(&mut self, ev: &KeyEvent) {
        if let Some(c) = typed_char(ev) {
            self.query.push(c);
            self.selected = 0;
        }
    }

    /// Ticks or unticks the selected checklist row.
    fn tick(&mut self) {
        if let Some(id) = self.visible().get(self.selected).map(|c| c.id.clone()) {
            if let Some(i) = self.checked.iter().position(|c| *c == id) {
                self.checked.remove(i);
            } else {
                self.checked.push(id);
            }
        }
    }

    /// The value Enter takes: the ticked ids, or the selected choice.
    fn pick(&self) -> PickerOutcome {
        if self.multi {
            return PickerOutcome::Pick(FieldValue::Many(self.checked.clone()));
        }
        let Some(c) = self.visible().get(self.selected).map(|c| c.id.clone()) else {
            return PickerOutcome::Stay;
        };
        PickerOutcome::Pick(FieldValue::One(if c.is_empty() { None } else { Some(c) }))
    }
}
