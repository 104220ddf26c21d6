//! The user write stage's settings through the JSON executor (issue 21): a created user gets the
//! stage's type, path, group and activity, and prompt keys under `attributes.` land in its
//! nested attributes.

use latchkey::domain::{FlowAuthentication, Group, Object, Prompt, StageKind, UserType, new_id};
use latchkey::service::Service;
use serde_json::json;

use crate::flows_support::{add_flow, api_get, api_post, jar, spawn_clock_server};

async fn add_prompt(service: &Service, key: &str, kind: &str, order: i64) -> String {
    let now = service.now();
    let p = Prompt {
        id: new_id(),
        name: format!("prompt-{key}"),
        field_key: key.into(),
        label: key.into(),
        field_type: kind.into(),
        required: true,
        placeholder: String::new(),
        initial_value: String::new(),
        sub_text: String::new(),
        order,
        placeholder_expression: false,
        initial_value_expression: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let id = p.id.clone();
    service
        .save(&Object::Prompt(p), true)
        .await
        .expect("prompt");
    id
}

async fn add_group(service: &Service, name: &str) -> String {
    let now = service.now();
    let g = Group {
        id: new_id(),
        name: name.into(),
        is_superuser: false,
        parent_id: None,
        attributes: json!({}),
        member_count: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let id = g.id.clone();
    service
        .save(
            &Object::Group {
                group: g,
                users: Vec::new(),
            },
            true,
        )
        .await
        .expect("group");
    id
}

#[tokio::test]
async fn a_created_user_gets_the_stages_type_path_group_activity_and_attributes() {
    let srv = spawn_clock_server(None).await;
    let s = &srv.service;
    let fields = vec![
        add_prompt(s, "username", "username", 1).await,
        add_prompt(s, "attributes.org.team", "text", 2).await,
        add_prompt(s, "attributes_org_floor", "text", 3).await,
    ];
    let partners = add_group(s, "partners").await;
    add_flow(
        s,
        "enrol-partner",
        FlowAuthentication::None,
        vec![
            (StageKind::Prompt, json!({"fields": fields})),
            (
                StageKind::UserWrite,
                json!({"user_creation_mode": "always_create", "user_type": "external",
                       "user_path_template": "users/partners", "create_users_group": partners,
                       "create_users_as_inactive": true}),
            ),
        ],
    )
    .await;
    let c = jar();
    let v = api_get(&c, &srv.base_url, "enrol-partner").await;
    assert_eq!(v["component"], "ak-stage-prompt", "{v}");
    let v = api_post(
        &c,
        &srv.base_url,
        "enrol-partner",
        json!({"component": "ak-stage-prompt", "username": "pat",
               "attributes.org.team": "blue", "attributes_org_floor": "3"}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    let pat = s
        .user_by_username("pat")
        .await
        .expect("read")
        .expect("created");
    assert_eq!(pat.user_type, UserType::External);
    assert_eq!(pat.path, "users/partners");
    assert!(!pat.is_active, "create_users_as_inactive");
    assert_eq!(
        pat.attributes,
        json!({"org": {"team": "blue", "floor": "3"}})
    );
    let groups: Vec<String> = s
        .memberships()
        .await
        .expect("memberships")
        .into_iter()
        .filter(|(user, _)| *user == pat.id)
        .map(|(_, group)| group)
        .collect();
    assert_eq!(groups, [partners]);
}
