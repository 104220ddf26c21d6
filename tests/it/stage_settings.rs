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
