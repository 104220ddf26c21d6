//! The Endpoint Devices tab (issue 17): devices enrolled and checked in through the Agent's
//! service calls, listed with OS, last check-in, connector and access group; the detail shows
//! the latest facts, scrolls through them, and follows a new check-in.

use crossterm::event::KeyCode;
use latchkey::console::app::App;
use latchkey::console::data::Data;
use latchkey::console::keymap::Mode;
use latchkey::console::tabs::TabId;
use latchkey::domain::DeviceFacts;
use latchkey::service::Service;
use latchkey::service::enrollment::NewEnrollmentToken;
use serde_json::{Value, json};

use crate::console_endpoints::with_connector;
use crate::console_forms::{fresh, key, load, render, select_row, settle, typ};

/// Facts as ak-sysd reports them, trimmed: every section present.
pub(crate) fn facts(hostname: &str, os_version: &str) -> Value {
    json!({
        "os": {"family": "linux", "name": "Debian", "version": os_version, "arch": "x86_64"},
        "hardware": {"manufacturer": "LENOVO", "model": "T14", "serial": "SN-T14",
                     "cpu_name": "AMD Ryzen 7", "cpu_count": 16, "memory_bytes": 34359738368u64},
        "disks": [{"name": "/dev/nvme0n1p2", "mountpoint": "/", "capacity_total_bytes": 512110190592u64,
                   "capacity_used_bytes": 100000000000u64, "encryption_enabled": true}],
        "network": {"hostname": hostname, "firewall_enabled": true, "gateway": "10.0.0.1",
                    "interfaces": [{"name": "wlp2s0", "hardware_address": "3c:91:80:aa:bb:cc",
                                    "ip_addresses": ["10.0.0.23"], "dns_servers": ["10.0.0.1"]}]},
        "software": (0..40).map(|i| json!({"name": format!("pkg-{i:02}"), "version": "1.0", "source": "dpkg"})).collect::<Vec<_>>(),
        "users": [{"id": "1000", "username": "alice", "name": "Alice", "home": "/home/alice"}],
        "groups": [{"id": "27", "name": "sudo"}],
        "processes": (1..30).map(|i| json!({"id": i, "name": format!("proc-{i:02}"), "user": "root"})).collect::<Vec<_>>(),
    })
}

/// A device enrolled with a new enrollment token of the connector `connector_id` (in the
/// token's group `group_id`), checked in with `data` unless it is `None`.
pub(crate) async fn enroll(
    service: &Service,
    connector_id: &str,
    group_id: &str,
    serial: &str,
    name: &str,
    data: Option<Value>,
) -> String {
    let token = service
        .create_enrollment_token(&NewEnrollmentToken {
            name: format!("token-{serial}"),
            connector_id: connector_id.into(),
            device_group_id: Some(group_id.into()),
            expires_in: None,
        })
        .await
        .expect("token");
    let enrolled = service
        .enroll_device(&token.key, serial, name)
        .await
        .expect("enroll");
    if let Some(data) = data {
        check_in(service, &enrolled.device_token_key, data).await;
    }
    enrolled.device.id
}

/// A check-in by the device whose token key is `key`.
pub(crate) async fn check_in(service: &Service, key: &str, data: Value) {
    let caller = service.authenticate_agent(key).await.expect("agent");
    service
        .check_in(&caller, DeviceFacts(data))
        .await
        .expect("check in");
}

/// The Devices tab (it has no digit: Tab from the Connectors tab).
fn devices_tab(app: &mut App) {
    typ(app, "9");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.current_tab(), TabId::Devices);
}

/// The detail's `(field, value)` lines as one text.
fn detail_text(app: &App) -> String {
    app.detail()
        .expect("detail")
        .detail
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_devices_tab_lists_devices_and_their_latest_facts() {
    let (_d, service, mut app) = fresh().await;
    let (connector, group) = with_connector(&service, &mut app).await;
    enroll(
        &service,
        &connector.id,
        &group.id,
        "SN-1",
        "ws-1",
        Some(facts("ws-1", "13")),
    )
    .await;
    enroll(&service, &connector.id, &group.id, "SN-2", "ws-2", None).await;
    app.apply_data(load(&service).await);
    devices_tab(&mut app);

    select_row(&mut app, "ws-1");
    let cells: Vec<String> = app
        .selected_row()
        .expect("row")
        .cells
        .iter()
        .map(|c| c.text.clone())
        .collect();
    assert_eq!(cells[1], "Debian 13");
    assert_ne!(cells[2], "never", "it checked in");
    assert_eq!(
        (cells[3].as_str(), cells[4].as_str()),
        ("agent", "workstations")
    );
    select_row(&mut app, "ws-2");
    let row = app.selected_row().expect("row");
    assert_eq!(
        (row.cells[1].text.as_str(), row.cells[2].text.as_str()),
        ("-", "never")
    );

    // Enter: the latest facts, every section.
    select_row(&mut app, "ws-1");
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    let text = detail_text(&app);
    for want in [
        "serial: SN-1",
        "OS: family: linux",
        "Hardware: manufacturer: LENOVO",
        "Disks: 1 disks",
        "Network: hostname: ws-1",
        "interface wlp2s0  3c:91:80:aa:bb:cc  10.0.0.23",
        "Software: 40 software",
        "pkg-39  1.0  dpkg",
        "Users: 1 users",
        "Groups: 1 groups",
        "Processes: 29 processes",
        "proc-29  root",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }
    // It scrolls: the last process is off a 80x24 screen until G.
    let top = render(&mut app, 80, 24);
    assert!(
        top.contains("family: linux") && !top.contains("proc-29"),
        "{top}"
    );
    app.handle_key(key(KeyCode::Char('G')));
    let bottom = render(&mut app, 80, 24);
    assert!(bottom.contains("proc-29"), "{bottom}");

    // A device that never checked in says so.
    app.handle_key(key(KeyCode::Esc));
    select_row(&mut app, "ws-2");
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert!(
        detail_text(&app).contains("no facts yet"),
        "{}",
        detail_text(&app)
    );
}

#[tokio::test]
async fn an_open_device_follows_its_next_check_in() {
    let (_d, service, mut app) = fresh().await;
    let (connector, group) = with_connector(&service, &mut app).await;
    let token = service
        .create_enrollment_token(&NewEnrollmentToken {
            name: "t".into(),
            connector_id: connector.id.clone(),
            device_group_id: Some(group.id.clone()),
            expires_in: None,
        })
        .await
        .expect("token");
    let enrolled = service
        .enroll_device(&token.key, "SN-9", "ws-9")
        .await
        .expect("enroll");
    check_in(&service, &enrolled.device_token_key, facts("ws-9", "12")).await;
    app.apply_data(load(&service).await);
    devices_tab(&mut app);
    select_row(&mut app, "ws-9");
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert!(detail_text(&app).contains("version: 12"));

    check_in(&service, &enrolled.device_token_key, facts("ws-9", "13")).await;
    // The reload the change feed brings asks for the facts again.
    settle(&mut app, &service).await;
    settle(&mut app, &service).await;
    let text = detail_text(&app);
    assert!(
        text.contains("version: 13") && !text.contains("version: 12"),
        "{text}"
    );
    assert_eq!(app.mode(), Mode::Detail);
}

/// The list and the detail at both sizes (times and ids fixed).
#[tokio::test]
async fn snapshot_devices_screens() {
    let (_d, service, mut app) = fresh().await;
    let (connector, group) = with_connector(&service, &mut app).await;
    let id = enroll(
        &service,
        &connector.id,
        &group.id,
        "SN-1",
        "ws-1",
        Some(facts("ws-1", "13")),
    )
    .await;
    enroll(&service, &connector.id, &group.id, "SN-2", "ws-2", None).await;
    let fixed = |mut data: Data| {
        for d in &mut data.devices {
            d.last_check_in = d.last_check_in.map(|_| data.now - 90);
        }
        data
    };
    app.apply_data(fixed(load(&service).await));
    devices_tab(&mut app);
    for (w, h) in [(80, 24), (120, 40)] {
        insta::assert_snapshot!(format!("devices_list_{w}x{h}"), render(&mut app, w, h));
    }
    select_row(&mut app, "ws-1");
    app.handle_key(key(KeyCode::Enter));
    while let Some(req) = app.take_request() {
        let out = latchkey::console::actions::execute(&service, req).await;
        app.apply_outcome(out);
    }
    for (w, h) in [(80, 24), (120, 40)] {
        let screen = render(&mut app, w, h).replace(&id, &"X".repeat(id.len()));
        insta::assert_snapshot!(format!("device_detail_{w}x{h}"), screen);
    }
}

// ---- the real binary under tmux --------------------------------------------------------------

/// The 60-character key in the "shown once" window of a captured screen.
fn key_in(screen: &str) -> Option<String> {
    screen
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() == latchkey::service::enrollment::ENROLLMENT_KEY_LENGTH)
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn real_binary_under_tmux_enrollment_key_to_a_checked_in_device() {
    let (tmux, _dir, db, port) = crate::console_forms::run_under_tmux("devices", 120, 40);
    tmux.wait_for("the tab bar", |s| s.contains("Dash") && s.contains("Users"));

    // A connector, then an enrollment token for it, from the keyboard.
    tmux.keys(&["9", "n"]);
    tmux.wait_for("the connector chooser", |s| s.contains("Agent Connector"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the connector form", |s| s.contains("Create Connector"));
    tmux.text("agent");
    tmux.keys(&["C-s"]);
    tmux.wait_for("the connector", |s| s.contains("created connector agent"));
    tmux.keys(&["n"]);
    tmux.wait_for("the chooser", |s| s.contains("Enrollment Token"));
    tmux.keys(&["Down", "Enter"]);
    tmux.wait_for("the token form", |s| s.contains("Create Enrollment Token"));
    tmux.text("laptops");
    tmux.keys(&["C-s"]);
    let screen = tmux.wait_for("the key", |s| {
        s.contains("shown once") && key_in(s).is_some()
    });
    let enrollment_key = key_in(&screen).expect("the key on the screen");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the key window closed", |s| !s.contains("shown once"));

    // The test is the Agent: it enrolls and checks in on the same store, from this process.
    let store = latchkey::store::Store::open(&latchkey::store::StoreLocation::File(db.clone()))
        .await
        .expect("open the console's store");
    let agent = Service::new(
        store,
        latchkey::context::Config::new(&format!("http://127.0.0.1:{port}")),
        std::sync::Arc::new(latchkey::context::SystemClock),
    );
    tmux.keys(&["Tab"]);
    tmux.wait_for("the devices tab", |s| {
        s.contains("Endpoint devices enrolled")
    });
    let enrolled = agent
        .enroll_device(&enrollment_key, "SN-TMUX", "ws-tmux")
        .await
        .expect("the key read off the screen enrolls");
    check_in(&agent, &enrolled.device_token_key, facts("ws-tmux", "13")).await;
    let checked_in = std::time::Instant::now();
    tmux.wait_for("the device", |s| {
        s.contains("ws-tmux") && s.contains("Debian 13")
    });
    let shown_after = checked_in.elapsed();
    assert!(
        shown_after < std::time::Duration::from_millis(2500),
        "the device showed {shown_after:?} after its check-in"
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for("its facts", |s| {
        s.contains("family: linux") && s.contains("hostname: ws-tmux")
    });
    tmux.keys(&["G"]);
    tmux.wait_for("the last facts", |s| s.contains("proc-29"));
    tmux.keys(&["C-c"]);
}
