//! Stage settings a user sees in the JSON executor's challenges (issue 21), one test each.

use latchkey::domain::{FlowAuthentication, StageKind};
use serde_json::json;

use crate::flows_support::{add_flow, api_get, api_post, jar, spawn_clock_server};

#[tokio::test]
async fn allow_show_password_reaches_the_password_challenge() {
    let srv = spawn_clock_server(None).await;
    for allow in [true, false] {
        let slug = format!("pw-{allow}");
        add_flow(
            &srv.service,
            &slug,
            FlowAuthentication::None,
            vec![
                (
                    StageKind::Identification,
                    json!({"user_fields": ["username"]}),
                ),
                (
                    StageKind::Password,
                    json!({"backends": ["authentik.core.auth.InbuiltBackend"],
                           "allow_show_password": allow}),
                ),
            ],
        )
        .await;
        let c = jar();
        api_get(&c, &srv.base_url, &slug).await;
        let v = api_post(
            &c,
            &srv.base_url,
            &slug,
            json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
        )
        .await;
        assert_eq!(v["component"], "ak-stage-password", "{v}");
        assert_eq!(v["allow_show_password"], json!(allow), "{v}");
    }
}

#[tokio::test]
async fn a_prompts_label_sub_text_placeholder_and_order_reach_the_challenge() {
    use latchkey::domain::{Object, Prompt, new_id};
    let srv = spawn_clock_server(None).await;
    let s = &srv.service;
    let mut ids = Vec::new();
    for (key, order, required) in [("nickname", 2, false), ("team", 1, true)] {
        let now = s.now();
        let p = Prompt {
            id: new_id(),
            name: format!("prompt-{key}"),
            field_key: key.into(),
            label: format!("Your {key}"),
            field_type: "text".into(),
            required,
            placeholder: format!("e.g. {key}-1"),
            initial_value: String::new(),
            sub_text: format!("What others see as your {key}."),
            order,
            placeholder_expression: false,
            initial_value_expression: false,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        ids.push(p.id.clone());
        s.save(&Object::Prompt(p), true).await.expect("prompt");
    }
    add_flow(
        s,
        "about-you",
        FlowAuthentication::None,
        vec![(StageKind::Prompt, json!({"fields": ids}))],
    )
    .await;
    let v = api_get(&jar(), &srv.base_url, "about-you").await;
    let fields = v["fields"].as_array().expect("fields");
    let keys: Vec<&str> = fields
        .iter()
        .filter_map(|f| f["field_key"].as_str())
        .collect();
    assert_eq!(keys, ["team", "nickname"], "by order: {v}");
    assert_eq!(fields[0]["label"], "Your team");
    assert_eq!(fields[0]["sub_text"], "What others see as your team.");
    assert_eq!(fields[0]["placeholder"], "e.g. team-1");
    assert_eq!(
        (
            fields[0]["required"].as_bool(),
            fields[1]["required"].as_bool()
        ),
        (Some(true), Some(false))
    );
}
