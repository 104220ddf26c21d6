//! authentik's "Create with Provider": one form for a new application and its new OAuth2
//! provider, the first step of every integration guide. The application's fields come first,
//! then the provider's (its own form's fields, in its sections); saving writes both in one
//! transaction (`service::applications`), so nothing is half-saved.

use super::field::FieldSpec;
use super::{Form, Purpose, specs};
use crate::domain::{Application, Object, Provider};

/// The form's title.
pub const TITLE: &str = "Create Application with Provider";

/// The key of the provider's name (the application has a `name` too).
const PROVIDER_NAME: &str = "provider_name";

/// The provider's name field, optional here: left empty it follows the application's name.
fn provider_name(name: FieldSpec) -> FieldSpec {
    FieldSpec {
        key: PROVIDER_NAME,
        label: "Provider name",
        help: "Empty: 'Provider for <application name>', as authentik's wizard names it.",
        required: false,
        ..name
    }
}

/// The form over a blank `application` and a blank `provider` with authentik's defaults.
pub fn form(application: Application, provider: Provider) -> Form {
    let app_fields = specs::application_fields()
        .into_iter()
        .filter(|f| f.key != "provider")
        .collect();
    let provider_fields = specs::provider_fields()
        .into_iter()
        .map(|f| if f.key == "name" { provider_name(f) } else { f })
        .collect();
    let mut sections = vec![
        ("name", "Application"),
        (PROVIDER_NAME, "Provider: OAuth2/OpenID"),
    ];
    sections.extend(specs::PROVIDER_SECTIONS.iter().copied());
    Form::new(
        TITLE,
        Object::Application(application),
        Purpose::CreateWithProvider,
        app_fields,
    )
    .with_companion(
        Object::Provider(provider),
        provider_fields,
        &[(PROVIDER_NAME, "name")],
    )
    .with_sections(&sections)
}

/// The application and provider the form holds, as they would be saved: the application uses
/// the provider, and an unnamed provider is named after the application.
pub fn pair(form: &Form) -> Option<(Application, Provider)> {
    let (Object::Application(mut app), Some(Object::Provider(mut provider))) =
        (form.build(), form.build_companion())
    else {
        return None;
    };
    if provider.name.trim().is_empty() && !app.name.trim().is_empty() {
        provider.name = format!("Provider for {}", app.name.trim());
    }
    app.provider_id = Some(provider.id.clone());
    Some((app, provider))
}
