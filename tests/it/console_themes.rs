//! Every theme (and NO_COLOR) on the screens that carry meaning in colour: a list, a form with
//! a field error, the delete dialog and the help overlay, at 80x24 and 120x40. The snapshots
//! hold the text and, under it, a map of styles (one letter per distinct foreground,
//! background and modifier set, with a legend), so a theme change shows up in review.

use std::collections::HashMap;

use latchkey::console::app::{App, AppConfig};
use latchkey::console::theme::Theme;
use latchkey::console::view;
use latchkey::service::Service;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::console_forms::{config, load, select_row, settle, tab, typ};
use crate::support::bootstrapped_service;

/// The screen's text, then its style map and legend.
pub(crate) fn render_styled(app: &mut App, w: u16, h: u16) -> String {
    app.resize(w, h);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal.draw(|f| view::draw(app, f)).expect("draw");
    let buffer = terminal.backend().buffer();
    let mut letters: HashMap<String, char> = HashMap::new();
    let mut legend: Vec<(char, String)> = Vec::new();
    let alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    let mut text = String::new();
    let mut styles = String::new();
    for y in 0..h {
        for x in 0..w {
            let cell = &buffer[(x, y)];
            text.push_str(cell.symbol());
            let key = format!("fg={:?} bg={:?} mod={:?}", cell.fg, cell.bg, cell.modifier);
            let next = alphabet.get(letters.len()).copied().unwrap_or('?');
            let letter = *letters.entry(key.clone()).or_insert_with(|| {
                legend.push((next, key));
                next
            });
            styles.push(letter);
        }
        text.push('\n');
        styles.push('\n');
    }
    let legend: String = legend.iter().map(|(c, k)| format!("{c}: {k}\n")).collect();
    format!("{text}--- styles\n{styles}--- legend\n{legend}")
}

async fn app_with(service: &Service, theme: Theme) -> App {
    let mut app = App::new(AppConfig { theme, ..config() });
    app.apply_data(load(service).await);
    app
}

async fn screens(name: &str, theme: Theme) {
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9000").await;

    let mut app = app_with(&service, theme.clone()).await;
    typ(&mut app, "2/auth");
    app.handle_key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    ));
    insta::assert_snapshot!(
        format!("{name}_list_80x24"),
        render_styled(&mut app, 80, 24)
    );
    insta::assert_snapshot!(
        format!("{name}_list_120x40"),
        render_styled(&mut app, 120, 40)
    );

    let mut app = app_with(&service, theme.clone()).await;
    typ(&mut app, "2n");
    typ(&mut app, "My flow");
    tab(&mut app, 2);
    typ(&mut app, "my flow");
    insta::assert_snapshot!(
        format!("{name}_field_error_80x24"),
        render_styled(&mut app, 80, 24)
    );
    insta::assert_snapshot!(
        format!("{name}_field_error_120x40"),
        render_styled(&mut app, 120, 40)
    );

    let mut app = app_with(&service, theme.clone()).await;
    typ(&mut app, "2");
    select_row(&mut app, "default-authentication-flow");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    insta::assert_snapshot!(
        format!("{name}_delete_dialog_80x24"),
        render_styled(&mut app, 80, 24)
    );
    insta::assert_snapshot!(
        format!("{name}_delete_dialog_120x40"),
        render_styled(&mut app, 120, 40)
    );

    let mut app = app_with(&service, theme).await;
    typ(&mut app, "2?");
    insta::assert_snapshot!(
        format!("{name}_help_80x24"),
        render_styled(&mut app, 80, 24)
    );
    insta::assert_snapshot!(
        format!("{name}_help_120x40"),
        render_styled(&mut app, 120, 40)
    );
}

#[tokio::test]
async fn theme_dark() {
    screens("dark", Theme::resolve(Some("dark"), false).expect("dark")).await;
}

#[tokio::test]
async fn theme_light() {
    screens(
        "light",
        Theme::resolve(Some("light"), false).expect("light"),
    )
    .await;
}

#[tokio::test]
async fn theme_high_contrast() {
    screens(
        "high_contrast",
        Theme::resolve(Some("high-contrast"), false).expect("high-contrast"),
    )
    .await;
}

#[tokio::test]
async fn theme_no_color() {
    let mono = Theme::resolve(Some("dark"), true).expect("NO_COLOR");
    assert!(mono.is_mono());
    screens("no_color", mono).await;
}

#[tokio::test]
async fn themes_differ_where_meaning_is_coloured() {
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let mut seen = Vec::new();
    for name in ["dark", "light", "high-contrast"] {
        let mut app = app_with(&service, Theme::resolve(Some(name), false).expect(name)).await;
        typ(&mut app, "2");
        let styled = render_styled(&mut app, 80, 24);
        let legend = styled
            .split("--- legend\n")
            .nth(1)
            .unwrap_or("")
            .to_string();
        assert!(!seen.contains(&legend), "{name} looks like another theme");
        seen.push(legend);
    }
}
