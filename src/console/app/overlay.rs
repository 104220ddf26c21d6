//! What is open over the tab's list, as one stack: opening a view or popup pushes it (and so
//! remembers what was under it), closing pops back there, and the top decides where keys go.

use crate::console::dialog::{DeleteDialog, ImportDialog};
use crate::console::dry_run::ResultView;
use crate::console::form::Form;
use crate::console::form::open::NewChoice;
use crate::console::form::picker::Picker;
use crate::console::keymap::{Binding, Focus, Mode};
use crate::console::tabs::ListRow;

/// The detail view of one object.
#[derive(Debug, Clone)]
pub struct DetailView {
    /// The object's row (refreshed when data arrives).
    pub row: ListRow,
    /// Lines scrolled past.
    pub scroll: usize,
    /// The selected copyable line, stage binding or session.
    pub cursor: usize,
}

/// `run`'s confirmation before `q` stops the server with the console.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuitDialog {
    /// Focus on the Quit button (Cancel otherwise: Cancel is focused when it opens).
    pub on_quit: bool,
}

/// A message shown whole in a scrollable window: an error cut short elsewhere, a revealed
/// value, or the first-start message that stays until acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    /// The window's title.
    pub title: String,
    /// The text, already inert (it wraps; `\n` starts a new line).
    pub text: String,
    /// Lines scrolled past (the view clamps it to what there is).
    pub scroll: usize,
    /// How the text is coloured.
    pub tone: crate::console::tabs::Tone,
    /// What `y` copies from this window (a secret shown once), if anything.
    pub copy: Option<super::Clip>,
}

/// The flow inspector on one flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InspectView {
    /// The flow's id.
    pub flow_id: String,
    /// The selected binding among the inspector's items.
    pub cursor: usize,
    /// Enter moved the keys to the selected item's pane (j/k scroll it).
    pub in_pane: bool,
    /// Lines of the pane scrolled past.
    pub pane_scroll: usize,
}

/// The live executions, of one flow or of all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveView {
    /// Only this flow's executions (`None`: every flow's).
    pub flow_slug: Option<String>,
    /// The flow it was opened for (`L` switches between it and every flow).
    pub opened_for: Option<String>,
    /// The selected execution, by key (kept across refreshes).
    pub selected: Option<String>,
    /// Enter moved the keys to the execution's pane (j/k scroll it).
    pub in_pane: bool,
    /// Lines of the pane scrolled past.
    pub pane_scroll: usize,
}

/// The audit filter popup's state: one line of text per field of `app::FILTER_FIELDS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilterForm {
    /// What is typed in each field.
    pub values: Vec<String>,
    /// The focused field.
    pub focus: usize,
    /// Why the last Enter was refused (a time that is none), shown in the popup.
    pub error: Option<String>,
}

/// One thing open over the list.
pub enum Overlay {
    /// One object's detail.
    Detail(DetailView),
    /// The `?` overlay, scrolled this far.
    Help {
        /// Lines scrolled past.
        scroll: usize,
    },
    /// Typing the tab's `/` filter (the text lives with the tab).
    Filter,
    /// A create/edit form.
    Form(Box<Form>),
    /// What `n` creates.
    Choose(Picker, Vec<NewChoice>),
    /// The delete confirmation.
    Delete(DeleteDialog),
    /// The blueprint import confirmation.
    Import(ImportDialog),
    /// The `:` command line and what has been typed.
    Command(String),
    /// The Ctrl-P palette and the rows it offers.
    Palette(Picker, Vec<&'static Binding>),
    /// `run`'s "quit and stop the server?".
    Quit(QuitDialog),
    /// A message read whole.
    Message(MessageView),
    /// The flow inspector.
    Inspect(InspectView),
    /// The live executions.
    Live(LiveView),
    /// A dry run's answer.
    Result(ResultView),
    /// The Events tab's audit filter being edited.
    EventFilter(EventFilterForm),
}

impl Overlay {
    /// Where keys go while this overlay is on top.
    pub fn focus(&self) -> Focus {
        match self {
            Overlay::Detail(_) => Focus::of(Mode::Detail),
            Overlay::Help { .. } => Focus::of(Mode::Help),
            Overlay::Filter => Focus::of(Mode::Filter),
            Overlay::Form(f) => f.focus(),
            Overlay::Choose(..) => Focus::of(Mode::Choose),
            Overlay::Delete(_) => Focus::of(Mode::Delete),
            Overlay::Import(_) => Focus::of(Mode::Import),
            Overlay::Command(_) => Focus::of(Mode::Command),
            Overlay::Palette(..) => Focus::of(Mode::Palette),
            Overlay::Quit(_) => Focus::of(Mode::Quit),
            Overlay::Message(_) => Focus::of(Mode::Message),
            Overlay::Inspect(_) => Focus::of(Mode::Inspect),
            Overlay::Live(_) => Focus::of(Mode::Live),
            Overlay::Result(_) => Focus::of(Mode::Result),
            Overlay::EventFilter(_) => Focus::of(Mode::EventFilter),
        }
    }
}

/// The overlays, bottom first; the list is under all of them.
#[derive(Default)]
pub struct Overlays(Vec<Overlay>);

impl Overlays {
    /// Opens `o` over what is showing.
    pub fn push(&mut self, o: Overlay) {
        self.0.push(o);
    }

    /// Closes the top overlay; what was under it shows (and has focus) again.
    pub fn pop(&mut self) -> Option<Overlay> {
        self.0.pop()
    }

    /// Closes everything: back to the list.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The overlay with focus.
    pub fn top(&self) -> Option<&Overlay> {
        self.0.last()
    }

    /// The overlay with focus, to change it.
    pub fn top_mut(&mut self) -> Option<&mut Overlay> {
        self.0.last_mut()
    }

    /// Where keys go: the top overlay's focus, or the list's.
    pub fn focus(&self) -> Focus {
        self.top().map_or(Focus::of(Mode::List), Overlay::focus)
    }

    /// The detail view on top, if that is what has focus.
    pub fn detail_on_top(&self) -> Option<&DetailView> {
        match self.top() {
            Some(Overlay::Detail(d)) => Some(d),
            _ => None,
        }
    }

    /// See [`Overlays::detail_on_top`].
    pub fn detail_on_top_mut(&mut self) -> Option<&mut DetailView> {
        match self.top_mut() {
            Some(Overlay::Detail(d)) => Some(d),
            _ => None,
        }
    }

    /// The open detail view, wherever it is in the stack (a form may be over it).
    pub fn detail_mut(&mut self) -> Option<&mut DetailView> {
        self.0.iter_mut().rev().find_map(|o| match o {
            Overlay::Detail(d) => Some(d),
            _ => None,
        })
    }

    /// See [`Overlays::detail_mut`].
    pub fn detail(&self) -> Option<&DetailView> {
        self.0.iter().rev().find_map(|o| match o {
            Overlay::Detail(d) => Some(d),
            _ => None,
        })
    }

    /// The open form (always the top while it is open).
    pub fn form(&self) -> Option<&Form> {
        match self.top() {
            Some(Overlay::Form(f)) => Some(f),
            _ => None,
        }
    }

    /// See [`Overlays::form`].
    pub fn form_mut(&mut self) -> Option<&mut Form> {
        match self.top_mut() {
            Some(Overlay::Form(f)) => Some(f),
            _ => None,
        }
    }

    /// The open inspector, wherever it is in the stack (help or the live view may be over it).
    pub fn inspector(&self) -> Option<&InspectView> {
        self.0.iter().rev().find_map(|o| match o {
            Overlay::Inspect(v) => Some(v),
            _ => None,
        })
    }

    /// The open live view, wherever it is in the stack.
    pub fn live(&self) -> Option<&LiveView> {
        self.0.iter().rev().find_map(|o| match o {
            Overlay::Live(v) => Some(v),
            _ => None,
        })
    }

    /// The open dry-run result, wherever it is in the stack (help may be over it).
    pub fn result(&self) -> Option<&ResultView> {
        self.0.iter().rev().find_map(|o| match o {
            Overlay::Result(v) => Some(v),
            _ => None,
        })
    }

    /// True when the top overlay is a form.
    pub fn form_on_top(&self) -> bool {
        matches!(self.top(), Some(Overlay::Form(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str) -> ListRow {
        ListRow {
            key: key.into(),
            cells: Vec::new(),
            detail: Vec::new(),
            haystack: String::new(),
        }
    }

    fn detail(key: &str) -> Overlay {
        Overlay::Detail(DetailView {
            row: row(key),
            scroll: 3,
            cursor: 1,
        })
    }

    #[test]
    fn popping_returns_to_what_was_under() {
        let mut s = Overlays::default();
        assert_eq!(s.focus().mode, Mode::List, "an empty stack is the list");
        s.push(detail("flow-1"));
        s.push(Overlay::Help { scroll: 0 });
        assert_eq!(s.focus().mode, Mode::Help);
        assert!(s.detail_on_top().is_none(), "help covers the detail");
        assert_eq!(s.detail().map(|d| d.row.key.as_str()), Some("flow-1"));
        assert!(matches!(s.pop(), Some(Overlay::Help { .. })));
        // Back on the detail, as it was left.
        assert_eq!(s.focus().mode, Mode::Detail);
        let d = s.detail_on_top().expect("the detail again");
        assert_eq!((d.row.key.as_str(), d.scroll, d.cursor), ("flow-1", 3, 1));
        s.push(Overlay::Command(":fl".into()));
        assert_eq!(s.focus().mode, Mode::Command);
        s.pop();
        s.pop();
        assert_eq!(s.focus().mode, Mode::List);
        assert!(s.pop().is_none(), "popping the list does nothing");
        assert_eq!(s.focus().mode, Mode::List);
    }

    #[test]
    fn a_form_over_a_detail_returns_to_the_detail() {
        let mut s = Overlays::default();
        s.push(detail("flow-1"));
        s.push(Overlay::Form(Box::new(
            crate::console::form::open::import_form(),
        )));
        assert_eq!(s.focus().mode, Mode::Form);
        assert!(s.form_on_top() && s.form().is_some());
        if let Some(d) = s.detail_mut() {
            d.row = row("flow-1-refreshed");
        }
        s.pop();
        assert!(s.form().is_none());
        assert_eq!(
            s.detail_on_top().map(|d| d.row.key.as_str()),
            Some("flow-1-refreshed")
        );
        s.clear();
        assert_eq!(s.focus().mode, Mode::List);
        assert!(s.detail().is_none());
    }
}
