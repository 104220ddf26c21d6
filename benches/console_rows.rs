//! The console at 100 000 rows: building the rows from a snapshot, drawing one frame, one
//! filter keystroke (refilter + frame) and one scroll key (move + frame), on the Users tab at
//! 120x40 and 80x24, drawn into ratatui's test backend (no terminal I/O in the figures).
//!
//! Run: `cargo bench --bench console_rows` (args: ROWS FRAMES, default 100000 200).

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use latchkey::console::app::{App, AppConfig};
use latchkey::console::data::Data;
use latchkey::console::theme::Theme;
use latchkey::console::view;
use latchkey::domain::{User, UserType};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn users(n: usize) -> Vec<User> {
    (0..n)
        .map(|i| User {
            id: format!("00000000-0000-4000-8000-{i:012}"),
            username: format!("user-{i:06}"),
            name: format!("User Number {i}"),
            email: format!("user{i}@example.com"),
            is_active: i % 7 != 0,
            user_type: if i % 3 == 0 {
                UserType::External
            } else {
                UserType::Internal
            },
            path: "users".into(),
            attributes: serde_json::json!({}),
            has_password: true,
            last_login: None,
            created_at: 1_767_225_600,
            updated_at: 1_767_225_600,
            version: 1,
        })
        .collect()
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Mean, p99 and max of the samples, in microseconds.
fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let n = samples.len().max(1);
    let mean = samples.iter().sum::<Duration>() / n as u32;
    let p99 = samples[(n * 99 / 100).min(n - 1)];
    let max = samples[n - 1];
    println!(
        "{label:<44} mean {:>8.1} µs   p99 {:>8.1} µs   max {:>8.1} µs   ({n} samples)",
        mean.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        max.as_secs_f64() * 1e6,
    );
}

fn timed(app: &mut App, terminal: &mut Terminal<TestBackend>, ev: Option<KeyEvent>) -> Duration {
    let start = Instant::now();
    if let Some(ev) = ev {
        app.handle_key(ev);
    }
    terminal
        .draw(|f| view::draw(app, f))
        .expect("draw into the test backend");
    start.elapsed()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rows = args.first().copied().unwrap_or(100_000);
    let frames = args.get(1).copied().unwrap_or(200);
    let config = AppConfig {
        store_path: "/srv/latchkey/latchkey.db".into(),
        server_url: "http://127.0.0.1:9000".into(),
        readonly: false,
        startup_toast: None,
        theme: Theme::default(),
    };
    let data = Data {
        now: 1_767_225_600,
        users: users(rows),
        ..Data::default()
    };
    let rss_before = rss_kb();
    let mut app = App::new(config);
    let start = Instant::now();
    app.apply_data(data.clone());
    let build = start.elapsed();
    println!(
        "rows: {rows}; apply_data (rows for every tab): {:.1} ms; RSS {} -> {} kB",
        build.as_secs_f64() * 1e3,
        rss_before,
        rss_kb()
    );
    let mut reload = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        app.apply_data(data.clone());
        reload.push(start.elapsed());
    }
    summary("reload (apply_data of a fresh snapshot)", reload);

    for (w, h) in [(120u16, 40u16), (80, 24)] {
        println!("-- {w}x{h}");
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        app.resize(w, h);
        app.handle_key(key(KeyCode::Char('0')));
        assert_eq!(
            app.visible_rows().len(),
            rows,
            "the Users tab lists every row"
        );
        let samples = (0..frames)
            .map(|_| timed(&mut app, &mut terminal, None))
            .collect();
        summary("frame (no input)", samples);
        let samples = (0..frames)
            .map(|_| timed(&mut app, &mut terminal, Some(key(KeyCode::Char('j')))))
            .collect();
        summary("scroll key j + frame", samples);
        let samples = (0..frames / 4)
            .flat_map(|_| {
                [KeyCode::PageDown, KeyCode::Char('G'), KeyCode::Char('g')]
                    .map(|c| timed(&mut app, &mut terminal, Some(key(c))))
            })
            .collect();
        summary("PgDn / G / g + frame", samples);

        // Filtering: each keystroke refilters all rows, then draws.
        app.handle_key(key(KeyCode::Char('/')));
        let mut typing = Vec::new();
        for _ in 0..frames / 20 {
            for c in "user-04".chars() {
                typing.push(timed(&mut app, &mut terminal, Some(key(KeyCode::Char(c)))));
            }
            for _ in 0.."user-04".len() {
                typing.push(timed(
                    &mut app,
                    &mut terminal,
                    Some(key(KeyCode::Backspace)),
                ));
            }
        }
        summary("filter keystroke (type/backspace) + frame", typing);
        for c in "user-04".chars() {
            app.handle_key(key(KeyCode::Char(c)));
        }
        let narrowed = app.visible_rows().len();
        let mut negated = Vec::new();
        app.handle_key(key(KeyCode::Esc));
        app.handle_key(key(KeyCode::Char('/')));
        for c in "!example|number 9".chars() {
            negated.push(timed(&mut app, &mut terminal, Some(key(KeyCode::Char(c)))));
        }
        summary("filter keystroke with !negate and a|b", negated);
        println!("   'user-04' leaves {narrowed} rows");
        app.handle_key(key(KeyCode::Esc));
    }
    println!("RSS at the end: {} kB", rss_kb());
}
