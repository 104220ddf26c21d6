//! No setting that does nothing (issue 21): every field that a blueprint (and so the console,
//! whose forms edit the same typed settings) accepts is either read by latchkey, with a named
//! test that shows its behaviour, or refused at save with a message. The table below is checked
//! to be complete against the blueprint model table, each named test is checked to exist, and
//! each refusal is checked against `domain::object::validate`, so a new field cannot arrive
//! inert and a refusal cannot silently disappear.

use std::collections::{BTreeMap, BTreeSet};

use latchkey::blueprint::models::{MODELS, ModelSpec, Variant, from_attrs};
use latchkey::domain::validate_object;
use serde_json::Value;

/// What latchkey does with one field.
#[derive(Debug, Clone, Copy)]
enum How {
    /// Read; the named test (a `#[test]` function in `tests/` or `src/`) fails without it.
    Read(&'static str),
    /// Refused at save unless it keeps its default: this value (JSON) must be refused.
    Refused(&'static str),
}

use How::{Read, Refused};

/// The fields every stage, policy or connector model shares are listed once, under these
/// family names; the rest under authentik's model name.
fn family(spec: &ModelSpec, index: usize) -> &'static str {
    if index >= spec.common {
        return spec.name;
    }
    match spec.variant {
        Variant::Stage(_) => "stage",
        Variant::Policy(_) => "policy",
        Variant::Connector(_) => "connector",
        Variant::None => spec.name,
    }
}

#[rustfmt::skip]
const COVERAGE: &[(&str, &str, How)] = &[
    ("stage", "name", Read("stage_kinds_have_their_own_fields_under_authentik_names")),
    ("policy", "name", Read("expression_and_group_membership_policies_are_created")),
    ("policy", "execution_logging", Read("flows_simulate_reports_policy_traces_with_logs_and_errors")),
    ("connector", "name", Read("the_agent_connector_form_has_authentiks_fields_and_marks_bad_values")),
    ("connector", "enabled", Read("a_disabled_connector_asks_nothing_optional_goes_on_and_required_says_why")),
    ("connector", "authorization_flow", Read("the_agent_enrolls_configures_checks_in_and_signs_in_with_the_cli_token")),
    ("connector", "challenge_key", Read("a_connector_without_a_challenge_key_is_skipped_with_an_event")),

    ("authentik_crypto.certificatekeypair", "name", Read("certificates_generate_and_bad_imports_say_exactly_why")),
    ("authentik_crypto.certificatekeypair", "certificate_data", Read("certificates_generate_and_bad_imports_say_exactly_why")),
    ("authentik_crypto.certificatekeypair", "key_data", Read("rotation_keeps_the_old_key_published_for_the_token_lifetime")),
    ("authentik_crypto.certificatekeypair", "managed", Read("migration_0026_renames_latchkey_certificate_and_both_names_find_it")),

    ("authentik_providers_oauth2.scopemapping", "name", Read("system_oauth2_mappings_apply_then_reapply_as_a_noop")),
    ("authentik_providers_oauth2.scopemapping", "managed", Read("every_managed_default_runs_natively_as_the_interpreter_would")),
    ("authentik_providers_oauth2.scopemapping", "scope_name", Read("consent_permissions_are_the_requested_mappings_by_scope_name")),
    ("authentik_providers_oauth2.scopemapping", "description", Read("consent_page_lists_the_scope_descriptions_and_has_deny")),
    ("authentik_providers_oauth2.scopemapping", "expression", Read("an_authentik_style_profile_mapping_gives_name_and_preferred_username")),

    ("authentik_core.group", "name", Read("users_and_groups_list_page_by_page_with_stable_numbers")),
    ("authentik_core.group", "is_superuser", Read("the_last_superuser_cannot_lose_its_group_either")),
    ("authentik_core.group", "parent", Read("a_parent_groups_membership_is_inherited_by_its_childrens_members")),
    ("authentik_core.group", "attributes", Read("a_parent_groups_membership_is_inherited_by_its_childrens_members")),
    ("authentik_core.group", "users", Read("users_get_hashed_passwords_and_memberships")),

    ("authentik_core.user", "username", Read("flows_json_executor_login")),
    ("authentik_core.user", "name", Read("an_authentik_style_profile_mapping_gives_name_and_preferred_username")),
    ("authentik_core.user", "email", Read("a_recovery_email_arrives_and_its_link_resets_the_password_once")),
    ("authentik_core.user", "is_active", Read("flows_deactivated_user_and_deleted_session_take_effect_next_request")),
    ("authentik_core.user", "type", Read("the_service_account_is_created_once_and_an_inactive_one_refused")),
    ("authentik_core.user", "path", Read("users_and_groups_list_page_by_page_with_stable_numbers")),
    ("authentik_core.user", "attributes", Read("a_users_upn_attribute_is_the_subject_in_upn_mode")),
    ("authentik_core.user", "groups", Read("users_get_hashed_passwords_and_memberships")),
    ("authentik_core.user", "password", Read("users_get_hashed_passwords_and_memberships")),

    ("authentik_flows.flow", "name", Read("i_on_a_flow_shows_its_header_bindings_and_every_policy_on_them")),
    ("authentik_flows.flow", "slug", Read("inspect_command_opens_a_flow_by_slug_and_says_when_there_is_none")),
    ("authentik_flows.flow", "title", Read("i_on_a_flow_shows_its_header_bindings_and_every_policy_on_them")),
    ("authentik_flows.flow", "designation", Read("the_identification_challenge_names_its_flows_designation")),
    ("authentik_flows.flow", "authentication", Read("flows_planner_authentication_requirements_and_denied_actions")),
    ("authentik_flows.flow", "denied_action", Read("flows_planner_authentication_requirements_and_denied_actions")),
    ("authentik_flows.flow", "policy_engine_mode", Read("flows_engine_modes_any_and_all_with_order")),
    ("authentik_flows.flow", "layout", Read("a_flows_layout_and_background_style_its_html_page")),
    ("authentik_flows.flow", "compatibility_mode", Read("a_flow_in_compatibility_mode_still_signs_in_through_plain_forms")),
    ("authentik_flows.flow", "background", Read("a_flows_layout_and_background_style_its_html_page")),

    ("authentik_stages_prompt.prompt", "name", Read("a_prompt_without_a_field_key_or_with_a_taken_name_is_refused_in_place")),
    ("authentik_stages_prompt.prompt", "field_key", Read("flows_prompt_user_write_and_password_policy_enrol_a_user")),
    ("authentik_stages_prompt.prompt", "label", Read("a_prompts_label_sub_text_placeholder_and_order_reach_the_challenge")),
    ("authentik_stages_prompt.prompt", "type", Read("static_and_separator_fields_answer_nothing_even_when_required")),
    ("authentik_stages_prompt.prompt", "required", Read("a_prompts_label_sub_text_placeholder_and_order_reach_the_challenge")),
    ("authentik_stages_prompt.prompt", "placeholder", Read("a_prompts_label_sub_text_placeholder_and_order_reach_the_challenge")),
    ("authentik_stages_prompt.prompt", "initial_value", Read("prompt_expressions_compute_placeholders_and_initial_values")),
    ("authentik_stages_prompt.prompt", "sub_text", Read("a_prompts_label_sub_text_placeholder_and_order_reach_the_challenge")),
    ("authentik_stages_prompt.prompt", "order", Read("a_prompts_label_sub_text_placeholder_and_order_reach_the_challenge")),
    ("authentik_stages_prompt.prompt", "placeholder_expression", Read("prompt_expressions_compute_placeholders_and_initial_values")),
    ("authentik_stages_prompt.prompt", "initial_value_expression", Read("prompt_expressions_compute_placeholders_and_initial_values")),

    ("authentik_stages_password.passwordstage", "backends", Read("password_stage_backends_inbuilt_and_token")),
    ("authentik_stages_password.passwordstage", "configure_flow", Read("stages_configure_flows_are_offered_as_change_and_set_up_links")),
    ("authentik_stages_password.passwordstage", "failed_attempts_before_cancel", Read("flows_password_stage_cancels_after_failed_attempts")),
    ("authentik_stages_password.passwordstage", "allow_show_password", Read("allow_show_password_reaches_the_password_challenge")),

    ("authentik_stages_authenticator_totp.authenticatortotpstage", "configure_flow", Read("stages_configure_flows_are_offered_as_change_and_set_up_links")),
    ("authentik_stages_authenticator_totp.authenticatortotpstage", "friendly_name", Read("totp_setup_uses_digits_and_friendly_name")),
    ("authentik_stages_authenticator_totp.authenticatortotpstage", "digits", Read("totp_setup_uses_digits_and_friendly_name")),

    ("authentik_stages_authenticator_validate.authenticatorvalidatestage", "device_classes", Read("authenticator_validate_device_classes_leave_out_totp_when_not_listed")),
    ("authentik_stages_authenticator_validate.authenticatorvalidatestage", "not_configured_action", Read("authenticator_validate_not_configured_actions_skip_deny_configure")),
    ("authentik_stages_authenticator_validate.authenticatorvalidatestage", "configuration_stages", Read("authenticator_validate_not_configured_actions_skip_deny_configure")),
    ("authentik_stages_authenticator_validate.authenticatorvalidatestage", "last_auth_threshold", Read("authenticator_validate_last_auth_threshold_skips_a_recent_validation")),
    ("authentik_stages_authenticator_validate.authenticatorvalidatestage", "webauthn_user_verification", Read("a_passwordless_flow_asks_for_any_discoverable_credential")),

    ("authentik_stages_identification.identificationstage", "user_fields", Read("flows_identification_matching_options")),
    ("authentik_stages_identification.identificationstage", "password_stage", Read("flows_identification_matching_options")),
    ("authentik_stages_identification.identificationstage", "captcha_stage", Refused(r#""a-captcha-stage""#)),
    ("authentik_stages_identification.identificationstage", "case_insensitive_matching", Read("identification_case_matching_and_pretending_both_ways")),
    ("authentik_stages_identification.identificationstage", "show_matched_user", Read("identification_show_matched_user_names_the_account_or_what_was_typed")),
    ("authentik_stages_identification.identificationstage", "enrollment_flow", Read("identification_links_enrollment_recovery_and_passwordless_flows_with_the_query")),
    ("authentik_stages_identification.identificationstage", "recovery_flow", Read("the_identification_stage_links_the_recovery_flow_in_html_and_json")),
    ("authentik_stages_identification.identificationstage", "passwordless_flow", Read("a_passwordless_flow_asks_for_any_discoverable_credential")),
    ("authentik_stages_identification.identificationstage", "sources", Refused(r#"["a-source"]"#)),
    ("authentik_stages_identification.identificationstage", "show_source_labels", Read("identification_links_enrollment_recovery_and_passwordless_flows_with_the_query")),
    ("authentik_stages_identification.identificationstage", "pretend_user_exists", Read("identification_case_matching_and_pretending_both_ways")),
    ("authentik_stages_identification.identificationstage", "enable_remember_me", Read("flows_remember_me_extends_the_session_by_the_offset")),
    ("authentik_stages_identification.identificationstage", "webauthn_stage", Refused(r#""a-webauthn-stage""#)),

    ("authentik_stages_consent.consentstage", "mode", Read("flows_consent_modes")),
    ("authentik_stages_consent.consentstage", "consent_expire_in", Read("flows_consent_modes")),

    ("authentik_stages_user_login.userloginstage", "session_duration", Read("flows_login_stage_session_duration_and_terminate_other_sessions")),
    ("authentik_stages_user_login.userloginstage", "remember_me_offset", Read("flows_remember_me_extends_the_session_by_the_offset")),
    ("authentik_stages_user_login.userloginstage", "terminate_other_sessions", Read("flows_login_stage_session_duration_and_terminate_other_sessions")),
    ("authentik_stages_user_login.userloginstage", "network_binding", Read("user_login_network_binding_ends_a_session_used_from_elsewhere")),
    ("authentik_stages_user_login.userloginstage", "geoip_binding", Refused(r#""bind_continent""#)),

    ("authentik_stages_user_write.userwritestage", "user_creation_mode", Read("flows_prompt_user_write_and_password_policy_enrol_a_user")),
    ("authentik_stages_user_write.userwritestage", "create_users_as_inactive", Read("user_write_type_path_group_and_nested_attributes_of_a_new_user")),
    ("authentik_stages_user_write.userwritestage", "create_users_group", Read("user_write_type_path_group_and_nested_attributes_of_a_new_user")),
    ("authentik_stages_user_write.userwritestage", "user_type", Read("user_write_type_path_group_and_nested_attributes_of_a_new_user")),
    ("authentik_stages_user_write.userwritestage", "user_path_template", Read("user_write_type_path_group_and_nested_attributes_of_a_new_user")),

    ("authentik_stages_prompt.promptstage", "fields", Read("flows_prompt_user_write_and_password_policy_enrol_a_user")),
    ("authentik_stages_prompt.promptstage", "validation_policies", Read("flows_prompt_user_write_and_password_policy_enrol_a_user")),

    ("authentik_stages_deny.denystage", "deny_message", Read("flows_deny_and_logout_stages")),

    ("authentik_stages_redirect.redirectstage", "mode", Read("redirect_flow_mode_plans_the_target_flow_keeping_the_context_or_not")),
    ("authentik_stages_redirect.redirectstage", "target_static", Read("redirect_flow_mode_plans_the_target_flow_keeping_the_context_or_not")),
    ("authentik_stages_redirect.redirectstage", "target_flow", Read("redirect_flow_mode_plans_the_target_flow_keeping_the_context_or_not")),
    ("authentik_stages_redirect.redirectstage", "keep_context", Read("redirect_flow_mode_plans_the_target_flow_keeping_the_context_or_not")),

    ("authentik_endpoints.endpointstage", "connector", Read("a_policy_on_the_devices_facts_lets_one_device_through_and_stops_another")),
    ("authentik_endpoints.endpointstage", "mode", Read("without_an_answer_optional_goes_on_and_required_says_what_is_missing")),

    ("authentik_stages_invitation.invitationstage", "continue_flow_without_invitation", Read("continue_flow_without_invitation_lets_the_flow_go_on_without_a_link")),

    ("authentik_stages_authenticator_static.authenticatorstaticstage", "configure_flow", Read("stages_configure_flows_are_offered_as_change_and_set_up_links")),
    ("authentik_stages_authenticator_static.authenticatorstaticstage", "friendly_name", Read("recovery_codes_through_the_json_executor_work_once")),
    ("authentik_stages_authenticator_static.authenticatorstaticstage", "token_count", Read("a_blueprint_makes_a_static_stage_and_bad_counts_are_refused")),
    ("authentik_stages_authenticator_static.authenticatorstaticstage", "token_length", Read("a_blueprint_makes_a_static_stage_and_bad_counts_are_refused")),

    ("authentik_stages_authenticator_webauthn.authenticatorwebauthnstage", "configure_flow", Read("stages_configure_flows_are_offered_as_change_and_set_up_links")),
    ("authentik_stages_authenticator_webauthn.authenticatorwebauthnstage", "friendly_name", Read("browser_passkey_registers_signs_in_and_refuses_a_clone")),
    ("authentik_stages_authenticator_webauthn.authenticatorwebauthnstage", "user_verification", Read("registration_options_follow_the_stage_settings")),
    ("authentik_stages_authenticator_webauthn.authenticatorwebauthnstage", "resident_key_requirement", Read("registration_options_follow_the_stage_settings")),
    ("authentik_stages_authenticator_webauthn.authenticatorwebauthnstage", "authenticator_attachment", Read("registration_options_follow_the_stage_settings")),
    ("authentik_stages_authenticator_webauthn.authenticatorwebauthnstage", "device_type_restrictions", Refused(r#"["cb69481e-8ff7-4039-93ec-0a2729a154a8"]"#)),
    ("authentik_stages_authenticator_webauthn.authenticatorwebauthnstage", "max_attempts", Read("max_attempts_ends_the_setup_after_that_many_failed_registrations")),

    ("authentik_stages_email.emailstage", "use_global_settings", Read("email_stage_without_global_settings_uses_its_own_server")),
    ("authentik_stages_email.emailstage", "host", Read("email_stage_without_global_settings_uses_its_own_server")),
    ("authentik_stages_email.emailstage", "port", Read("email_stage_without_global_settings_uses_its_own_server")),
    ("authentik_stages_email.emailstage", "username", Refused(r#""bob""#)),
    ("authentik_stages_email.emailstage", "use_tls", Read("a_stage_names_its_own_connection")),
    ("authentik_stages_email.emailstage", "use_ssl", Read("a_stage_names_its_own_connection")),
    ("authentik_stages_email.emailstage", "timeout", Read("a_stage_names_its_own_connection")),
    ("authentik_stages_email.emailstage", "from_address", Read("email_stage_without_global_settings_uses_its_own_server")),
    ("authentik_stages_email.emailstage", "token_expiry", Read("the_link_expires_with_the_stage_s_token_expiry")),
    ("authentik_stages_email.emailstage", "subject", Read("the_stage_s_template_and_subject_shape_the_email")),
    ("authentik_stages_email.emailstage", "template", Read("the_stage_s_template_and_subject_shape_the_email")),
    ("authentik_stages_email.emailstage", "activate_user_on_success", Read("the_link_activates_an_inactive_user_as_the_stage_says")),
    ("authentik_stages_email.emailstage", "recovery_max_attempts", Read("recovery_max_attempts_limits_the_emails_per_user_within_the_cache_timeout")),
    ("authentik_stages_email.emailstage", "recovery_cache_timeout", Read("recovery_max_attempts_limits_the_emails_per_user_within_the_cache_timeout")),

    ("authentik_policies_expression.expressionpolicy", "expression", Read("flows_expression_policy_results_messages_and_fail_closed")),
    ("authentik_policies_group_membership.groupmembershippolicy", "group", Read("flows_group_user_bindings_and_group_membership_policy")),

    ("authentik_policies_password.passwordpolicy", "password_field", Read("password_policy_check_static_rules_gates_the_static_rules")),
    ("authentik_policies_password.passwordpolicy", "amount_digits", Read("static_rules_count_length_and_classes")),
    ("authentik_policies_password.passwordpolicy", "amount_uppercase", Read("static_rules_count_length_and_classes")),
    ("authentik_policies_password.passwordpolicy", "amount_lowercase", Read("static_rules_count_length_and_classes")),
    ("authentik_policies_password.passwordpolicy", "amount_symbols", Read("static_rules_count_length_and_classes")),
    ("authentik_policies_password.passwordpolicy", "length_min", Read("flows_prompt_user_write_and_password_policy_enrol_a_user")),
    ("authentik_policies_password.passwordpolicy", "symbol_charset", Read("static_rules_count_length_and_classes")),
    ("authentik_policies_password.passwordpolicy", "error_message", Read("flows_prompt_user_write_and_password_policy_enrol_a_user")),
    ("authentik_policies_password.passwordpolicy", "check_static_rules", Read("password_policy_check_static_rules_gates_the_static_rules")),
    ("authentik_policies_password.passwordpolicy", "check_have_i_been_pwned", Read("password_policy_hibp_counts_the_suffix_against_the_allowed_count")),
    ("authentik_policies_password.passwordpolicy", "check_zxcvbn", Read("password_policy_zxcvbn_fails_at_or_below_the_threshold")),
    ("authentik_policies_password.passwordpolicy", "hibp_allowed_count", Read("password_policy_hibp_counts_the_suffix_against_the_allowed_count")),
    ("authentik_policies_password.passwordpolicy", "zxcvbn_score_threshold", Read("zxcvbn_fails_at_or_below_the_threshold_as_authentik")),

    ("authentik_policies_reputation.reputationpolicy", "check_ip", Read("the_reputation_policy_sums_the_address_or_the_username")),
    ("authentik_policies_reputation.reputationpolicy", "check_username", Read("the_reputation_policy_sums_the_address_or_the_username")),
    ("authentik_policies_reputation.reputationpolicy", "threshold", Read("flows_reputation_policy_blocks_after_failures")),

    ("authentik_policies_event_matcher.eventmatcherpolicy", "action", Read("each_field_matches_alone_and_refuses_another_value")),
    ("authentik_policies_event_matcher.eventmatcherpolicy", "client_ip", Read("each_field_matches_alone_and_refuses_another_value")),
    ("authentik_policies_event_matcher.eventmatcherpolicy", "app", Read("each_field_matches_alone_and_refuses_another_value")),
    ("authentik_policies_event_matcher.eventmatcherpolicy", "model", Read("each_field_matches_alone_and_refuses_another_value")),

    ("authentik_policies_dummy.dummypolicy", "result", Read("flows_engine_modes_any_and_all_with_order")),
    ("authentik_policies_dummy.dummypolicy", "wait_min", Read("waits_are_drawn_from_wait_min_to_wait_max")),
    ("authentik_policies_dummy.dummypolicy", "wait_max", Read("waits_are_drawn_from_wait_min_to_wait_max")),

    ("authentik_flows.flowstagebinding", "target", Read("flows_engine_modes_any_and_all_with_order")),
    ("authentik_flows.flowstagebinding", "stage", Read("flows_engine_modes_any_and_all_with_order")),
    ("authentik_flows.flowstagebinding", "order", Read("flows_engine_modes_any_and_all_with_order")),
    ("authentik_flows.flowstagebinding", "evaluate_on_plan", Read("flows_evaluate_on_plan_versus_re_evaluate_policies")),
    ("authentik_flows.flowstagebinding", "re_evaluate_policies", Read("flows_evaluate_on_plan_versus_re_evaluate_policies")),
    ("authentik_flows.flowstagebinding", "invalid_response_action", Read("flows_invalid_response_actions_retry_restart_restart_with_context")),
    ("authentik_flows.flowstagebinding", "policy_engine_mode", Read("flows_engine_modes_any_and_all_with_order")),

    ("authentik_providers_oauth2.oauth2provider", "name", Read("create_with_provider_writes_the_application_and_its_provider")),
    ("authentik_providers_oauth2.oauth2provider", "client_id", Read("client_credentials_issues_a_verifiable_recorded_token")),
    ("authentik_providers_oauth2.oauth2provider", "client_secret", Read("bad_client_credentials_get_401_with_challenge")),
    ("authentik_providers_oauth2.oauth2provider", "authorization_flow", Read("unauthenticated_users_go_to_the_login_flow_and_prompt_none_never_shows_ui")),
    ("authentik_providers_oauth2.oauth2provider", "authentication_flow", Read("unauthenticated_users_go_to_the_login_flow_and_prompt_none_never_shows_ui")),
    ("authentik_providers_oauth2.oauth2provider", "invalidation_flow", Read("a_logout_flow_shows_front_channel_iframes_then_goes_on")),
    ("authentik_providers_oauth2.oauth2provider", "signing_key", Read("es256_provider_advertises_and_signs_es256")),
    ("authentik_providers_oauth2.oauth2provider", "encryption_key", Read("an_encryption_key_turns_every_token_into_a_jwe_josekit_opens")),
    ("authentik_providers_oauth2.oauth2provider", "property_mappings", Read("scopes_are_limited_to_the_providers_mappings")),
    ("authentik_providers_oauth2.oauth2provider", "client_type", Read("public_clients_never_send_secrets_and_cannot_use_client_credentials")),
    ("authentik_providers_oauth2.oauth2provider", "redirect_uris", Read("code_is_bound_to_redirect_uri_client_and_expiry")),
    ("authentik_providers_oauth2.oauth2provider", "grant_types", Read("a_grant_the_client_may_not_use_is_unauthorized_client")),
    ("authentik_providers_oauth2.oauth2provider", "include_claims_in_id_token", Read("include_claims_in_id_token_decides_where_mapped_claims_go")),
    ("authentik_providers_oauth2.oauth2provider", "access_code_validity", Read("code_exchange_rules")),
    ("authentik_providers_oauth2.oauth2provider", "access_token_validity", Read("access_token_validity_sets_expires_in_and_exp")),
    ("authentik_providers_oauth2.oauth2provider", "refresh_token_validity", Read("expiry_follows_the_clock")),
    ("authentik_providers_oauth2.oauth2provider", "refresh_token_threshold", Read("refresh_token_threshold_rotates_only_near_expiry")),
    ("authentik_providers_oauth2.oauth2provider", "device_code_validity", Read("expiry_is_checked_inline_the_second_it_passes")),
    ("authentik_providers_oauth2.oauth2provider", "sub_mode", Read("sub_follows_the_subject_mode_and_claims_carry_amr_acr_and_lifetimes")),
    ("authentik_providers_oauth2.oauth2provider", "issuer_mode", Read("the_issuer_is_per_provider_or_global_as_the_provider_says")),
    ("authentik_providers_oauth2.oauth2provider", "logout_uri", Read("end_session_sends_a_verifiable_logout_token_to_the_relying_party")),
    ("authentik_providers_oauth2.oauth2provider", "logout_method", Read("end_session_loads_front_channel_logout_uris_in_iframes_with_iss_and_sid")),
    ("authentik_providers_oauth2.oauth2provider", "allow_plain_pkce", Read("plain_pkce_works_only_where_the_provider_allows_it")),

    ("authentik_core.application", "name", Read("consent_page_lists_the_scope_descriptions_and_has_deny")),
    ("authentik_core.application", "slug", Read("discovery_for_an_application_created_after_start")),
    ("authentik_core.application", "provider", Read("discovery_for_an_application_created_after_start")),
    ("authentik_core.application", "policy_engine_mode", Read("application_policies_decide_before_a_code_is_minted")),
    ("authentik_core.application", "group", Read("library_groups_apps_and_shows_icon_publisher_and_description")),
    ("authentik_core.application", "meta_launch_url", Read("library_links_each_app_to_its_launch_url_formatted_for_the_user")),
    ("authentik_core.application", "open_in_new_tab", Read("library_opens_an_app_in_a_new_tab_only_when_it_asks")),
    ("authentik_core.application", "meta_icon", Read("library_groups_apps_and_shows_icon_publisher_and_description")),
    ("authentik_core.application", "meta_publisher", Read("library_groups_apps_and_shows_icon_publisher_and_description")),
    ("authentik_core.application", "meta_description", Read("library_groups_apps_and_shows_icon_publisher_and_description")),

    ("authentik_endpoints.deviceaccessgroup", "name", Read("device_access_groups_are_made_and_bound_from_the_keyboard")),
    ("authentik_endpoints.deviceaccessgroup", "attributes", Read("a_policy_reads_the_access_groups_attributes")),

    ("authentik_events.notificationtransport", "name", Read("creation_and_deletion_name_the_model_and_mask_secrets")),
    ("authentik_events.notificationtransport", "mode", Read("an_email_transport_sends_through_the_smtp_server")),
    ("authentik_events.notificationtransport", "webhook_url", Read("a_webhook_is_delivered_once_with_authentiks_body")),
    ("authentik_events.notificationtransport", "send_once", Read("the_events_user_receives_it_and_send_once_posts_for_the_first_recipient_only")),

    ("authentik_events.notificationrule", "name", Read("a_webhook_is_delivered_once_with_authentiks_body")),
    ("authentik_events.notificationrule", "transports", Read("a_webhook_is_delivered_once_with_authentiks_body")),
    ("authentik_events.notificationrule", "severity", Read("a_webhook_is_delivered_once_with_authentiks_body")),
    ("authentik_events.notificationrule", "destination_group", Read("a_bad_password_over_http_notifies_the_groups_members")),
    ("authentik_events.notificationrule", "destination_event_user", Read("the_events_user_receives_it_and_send_once_posts_for_the_first_recipient_only")),

    ("authentik_policies.policybinding", "target", Read("flows_group_user_bindings_and_group_membership_policy")),
    ("authentik_policies.policybinding", "policy", Read("flows_group_user_bindings_and_group_membership_policy")),
    ("authentik_policies.policybinding", "group", Read("flows_group_user_bindings_and_group_membership_policy")),
    ("authentik_policies.policybinding", "user", Read("flows_group_user_bindings_and_group_membership_policy")),
    ("authentik_policies.policybinding", "order", Read("flows_engine_modes_any_and_all_with_order")),
    ("authentik_policies.policybinding", "enabled", Read("flows_disabled_bindings_are_skipped_and_negated_ones_inverted")),
    ("authentik_policies.policybinding", "negate", Read("flows_disabled_bindings_are_skipped_and_negated_ones_inverted")),
    ("authentik_policies.policybinding", "timeout", Read("flows_policy_timeout_uses_failure_result")),
    ("authentik_policies.policybinding", "failure_result", Read("flows_policy_timeout_uses_failure_result")),

    ("authentik_brands.brand", "domain", Read("two_brands_on_two_host_names_pick_their_own_flows_and_titles")),
    ("authentik_brands.brand", "default", Read("two_brands_on_two_host_names_pick_their_own_flows_and_titles")),
    ("authentik_brands.brand", "branding_title", Read("flows_brand_title_and_user_input_are_escaped")),
    ("authentik_brands.brand", "branding_logo", Read("the_shell_escapes_the_title_and_neutralises_custom_css")),
    ("authentik_brands.brand", "branding_favicon", Read("two_brands_on_two_host_names_pick_their_own_flows_and_titles")),
    ("authentik_brands.brand", "branding_custom_css", Read("flows_brand_title_and_user_input_are_escaped")),
    ("authentik_brands.brand", "flow_authentication", Read("two_brands_on_two_host_names_pick_their_own_flows_and_titles")),
    ("authentik_brands.brand", "flow_invalidation", Read("two_brands_on_two_host_names_pick_their_own_flows_and_titles")),
    ("authentik_brands.brand", "flow_recovery", Read("two_brands_on_two_host_names_pick_their_own_flows_and_titles")),
    ("authentik_brands.brand", "flow_unenrollment", Read("two_brands_on_two_host_names_pick_their_own_flows_and_titles")),
    ("authentik_brands.brand", "flow_user_settings", Read("two_brands_on_two_host_names_pick_their_own_flows_and_titles")),
    ("authentik_brands.brand", "flow_device_code", Read("device_page_signs_in_asks_once_and_the_device_gets_tokens")),
    ("authentik_brands.brand", "web_certificate", Read("each_brand_is_served_its_own_certificate_by_server_name")),
    ("authentik_brands.brand", "default_application", Read("a_flow_ending_without_next_sends_an_external_user_to_the_brands_default_application")),
    ("authentik_brands.brand", "attributes", Read("two_brands_on_two_host_names_pick_their_own_flows_and_titles")),

    ("authentik_endpoints_connectors_agent.agentconnector", "refresh_interval", Read("the_connectors_settings_reach_the_agents_config_and_sessions")),
    ("authentik_endpoints_connectors_agent.agentconnector", "auth_session_duration", Read("the_connectors_settings_reach_the_agents_config_and_sessions")),
    ("authentik_endpoints_connectors_agent.agentconnector", "auth_terminate_session_on_expiry", Read("the_connectors_settings_reach_the_agents_config_and_sessions")),
    ("authentik_endpoints_connectors_agent.agentconnector", "nss_uid_offset", Read("the_connectors_settings_reach_the_agents_config_and_sessions")),
    ("authentik_endpoints_connectors_agent.agentconnector", "nss_gid_offset", Read("the_connectors_settings_reach_the_agents_config_and_sessions")),
    ("authentik_endpoints_connectors_agent.agentconnector", "challenge_idle_timeout", Read("the_connectors_check_in_trigger_and_idle_timeout_reach_the_challenge")),
    ("authentik_endpoints_connectors_agent.agentconnector", "challenge_trigger_check_in", Read("the_connectors_check_in_trigger_and_idle_timeout_reach_the_challenge")),
    ("authentik_endpoints_connectors_agent.agentconnector", "jwt_federation_providers", Read("the_connectors_settings_reach_the_agents_config_and_sessions")),
    ("authentik_endpoints_connectors_agent.agentconnector", "snapshot_expiry", Read("a_snapshot_expires_after_its_connectors_snapshot_expiry")),

    ("authentik_endpoints_connectors_agent.enrollmenttoken", "name", Read("an_enrollment_token_made_from_the_keyboard_shows_its_key_once")),
    ("authentik_endpoints_connectors_agent.enrollmenttoken", "connector", Read("enrolled_device_checks_in_and_reads_back_with_its_group_connector_and_facts")),
    ("authentik_endpoints_connectors_agent.enrollmenttoken", "device_group", Read("enrolled_device_checks_in_and_reads_back_with_its_group_connector_and_facts")),
    ("authentik_endpoints_connectors_agent.enrollmenttoken", "key", Read("bad_enrollment_tokens_are_403_and_change_nothing")),
    ("authentik_endpoints_connectors_agent.enrollmenttoken", "expiring", Read("an_expired_enrollment_token_is_refused_and_changes_nothing")),
    ("authentik_endpoints_connectors_agent.enrollmenttoken", "expires", Read("an_expired_enrollment_token_is_refused_and_changes_nothing")),
];

/// Every `(family or model, field)` a blueprint accepts.
fn accepted_fields() -> BTreeSet<(&'static str, &'static str)> {
    MODELS
        .iter()
        .flat_map(|spec| {
            spec.fields
                .iter()
                .enumerate()
                .map(move |(i, f)| (family(spec, i), f.name))
        })
        .collect()
}

#[test]
fn every_accepted_field_is_read_or_refused() {
    let accepted = accepted_fields();
    let mut listed = BTreeMap::new();
    for (model, field, how) in COVERAGE {
        assert!(
            listed.insert((*model, *field), *how).is_none(),
            "{model}.{field} is listed twice"
        );
    }
    let missing: Vec<String> = accepted
        .iter()
        .filter(|k| !listed.contains_key(*k))
        .map(|(m, f)| format!("{m}.{f}"))
        .collect();
    assert!(
        missing.is_empty(),
        "these fields are accepted but neither read nor refused: make each real with a test, \
         or refuse it in domain::object::validate, and list it in COVERAGE: {missing:#?}"
    );
    let stale: Vec<String> = listed
        .keys()
        .filter(|k| !accepted.contains(*k))
        .map(|(m, f)| format!("{m}.{f}"))
        .collect();
    assert!(stale.is_empty(), "listed but not accepted: {stale:#?}");
}

/// The names of every test function in `tests/` and `src/`.
fn test_functions() -> BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names = BTreeSet::new();
    let mut dirs = vec![root.join("tests"), root.join("src")];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).expect("a source directory");
        for entry in entries {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                collect_tests(&text, &mut names);
            }
        }
    }
    names
}

/// Adds the functions of `text` that carry `#[test]` or `#[tokio::test]` (attributes between
/// the two are allowed).
fn collect_tests(text: &str, names: &mut BTreeSet<String>) {
    let mut armed = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
            armed = true;
        } else if armed
            && let Some(rest) = line.split("fn ").nth(1).filter(|_| !line.starts_with("#["))
        {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.insert(name);
            armed = false;
        }
    }
}

#[test]
fn every_named_test_exists() {
    let tests = test_functions();
    let unknown: Vec<String> = COVERAGE
        .iter()
        .filter_map(|(model, field, how)| match how {
            Read(name) if !tests.contains(*name) => Some(format!("{model}.{field}: {name}")),
            _ => None,
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "no test function has these names: {unknown:#?}"
    );
}

#[test]
fn every_refused_field_is_refused_at_save_and_its_default_is_not() {
    for (model, field, how) in COVERAGE {
        let Refused(value) = how else { continue };
        let value: Value = serde_json::from_str(value).expect("a JSON value");
        let spec = MODELS
            .iter()
            .find(|s| s.name == *model)
            .unwrap_or_else(|| panic!("{model} is a model"));
        let mut attrs = spec.defaults();
        let default = attrs.get(*field).cloned().expect("the field has a default");
        for (v, refused) in [(default, false), (value, true)] {
            attrs.insert(field.to_string(), v.clone());
            let obj = from_attrs(spec, &attrs, "coverage").expect("the object builds");
            let errors = validate_object(&obj).err().unwrap_or_default();
            assert_eq!(
                errors.get(field).is_some(),
                refused,
                "{model}.{field} = {v}: {errors}"
            );
            if let Some(message) = errors.get(field) {
                assert!(
                    message.len() > 20,
                    "{model}.{field} says what to do: {message}"
                );
            }
        }
    }
}
