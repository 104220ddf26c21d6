//! The endpoint stage with an Agent connector (authentik's `EndpointStage` and its agent
//! stage view): the stage asks the device's Agent to sign a challenge the connector's
//! challenge key signed; a verified answer puts the device, its access group and its latest
//! facts into the plan context (`context["flow_plan"].context["device"]`) for the policies of
//! later bindings. No answer: `optional` goes on, `required` denies. A connector without a
//! challenge key is authentik's silent skip, which latchkey notes in the dry run and an event.

use serde_json::{Value, json};

use super::{Reply, Show, StageCtx, device_facts};
use crate::crypto::endpoint_challenge;
use crate::crypto::jwk::SigningKey;
use crate::domain::{ConnectorSettings, Device, Duration, EndpointMode, EndpointSettings};
use crate::flows::challenge::{ChallengeKind, Response};
use crate::flows::context::CONTEXT_DEVICE;
use crate::flows::{FlowError, FlowResult};
use crate::store;

/// The event that notes a skipped endpoint stage (authentik records nothing).
const SKIPPED_EVENT: &str = "configuration_error";

/// Scratch keys of the challenge the stage issued and when it expires: the executor asks for
/// the challenge again before it hands the stage the answer, which must find the same one.
const SCRATCH_CHALLENGE: &str = "challenge";
const SCRATCH_EXPIRES: &str = "challenge_expires";

/// The challenge this stage issued in this plan, while it is valid.
fn issued(sc: &StageCtx<'_>) -> Option<String> {
    let expires = sc.scratch(SCRATCH_EXPIRES).and_then(Value::as_i64)?;
    (sc.env.now < expires)
        .then(|| sc.scratch(SCRATCH_CHALLENGE).and_then(Value::as_str))
        .flatten()
        .map(str::to_string)
}

/// The message of a bad answer (authentik's).
const INVALID_ANSWER: &str = "Invalid challenge response";

/// What the stage needs from its connector.
struct Check {
    connector_id: String,
    key: SigningKey,
    idle_timeout: i64,
    /// The connector's `challenge_trigger_check_in`.
    trigger_check_in: bool,
}

/// Why the stage asks the device nothing.
enum NoChallenge {
    /// authentik's silent skip (no challenge key, no usable connector): both modes go on; the
    /// reason goes into the dry run and the skip event.
    Skipped(String),
    /// The connector is disabled (named): as authentik, a disabled connector offers no stage,
    /// so `optional` goes on and `required` denies.
    Disabled(String),
}

/// The connector and its challenge key, or why the stage asks nothing.
async fn check(sc: &StageCtx<'_>, s: &EndpointSettings) -> FlowResult<Result<Check, NoChallenge>> {
    let skipped = |why: String| Ok(Err(NoChallenge::Skipped(why)));
    let Some(connector_id) = s.connector.as_deref() else {
        return skipped("the stage has no connector".into());
    };
    let mut conn = sc.env.store.read().await?;
    let Some(connector) = store::connectors::by_id(&mut conn, connector_id).await? else {
        return skipped(format!("connector {connector_id} does not exist"));
    };
    if !connector.enabled {
        return Ok(Err(NoChallenge::Disabled(connector.name)));
    }
    let Some(key_id) = connector.challenge_key_id.as_deref() else {
        return skipped(format!(
            "connector '{}' has no challenge key",
            connector.name
        ));
    };
    let keypair = store::certificates::get(&mut conn, key_id).await?;
    let Some(key) = keypair.and_then(|kp| SigningKey::from_keypair(&kp).ok()) else {
        return skipped(format!(
            "the challenge key of connector '{}' is missing or has no usable private key",
            connector.name
        ));
    };
    let ConnectorSettings::Agent(agent) = &connector.settings;
    let idle_timeout = Duration::parse(&agent.challenge_idle_timeout)
        .map(|d| d.seconds().max(0))
        .unwrap_or(0);
    Ok(Ok(Check {
        connector_id: connector.id,
        key,
        idle_timeout,
        trigger_check_in: agent.challenge_trigger_check_in,
    }))
}

/// Issues the challenge, or skips the stage when it has no challenge key.
pub async fn challenge(sc: &mut StageCtx<'_>, s: &EndpointSettings) -> FlowResult<Show> {
    let check = match check(sc, s).await? {
        Ok(check) => check,
        Err(NoChallenge::Skipped(why)) => {
            skipped(sc, &why).await?;
            return Ok(Show::Next);
        }
        Err(NoChallenge::Disabled(name)) => {
            return Ok(match disabled_denial(s, &name) {
                Some(message) => Show::Deny(message),
                None => Show::Next,
            });
        }
    };
    let challenge = match issued(sc) {
        Some(challenge) => challenge,
        None => {
            let challenge = endpoint_challenge::sign_challenge(
                &check.key,
                &sc.stage.id,
                sc.env.now,
                check.trigger_check_in,
            )
            .map_err(|e| FlowError::Task(format!("signing the endpoint challenge: {e}")))?;
            sc.set_scratch(SCRATCH_CHALLENGE, json!(challenge));
            let expires = sc.env.now + endpoint_challenge::LIFETIME_SECONDS;
            sc.set_scratch(SCRATCH_EXPIRES, json!(expires));
            challenge
        }
    };
    Ok(Show::Challenge(ChallengeKind::EndpointAgent {
        challenge,
        challenge_idle_timeout: check.idle_timeout,
    }))
}

/// Notes a skipped stage: a line in the dry run's log, an event otherwise.
async fn skipped(sc: &StageCtx<'_>, why: &str) -> FlowResult<()> {
    let message = format!("endpoint stage '{}' skipped: {why}", sc.stage.name);
    if let Some(r) = sc.env.recorder() {
        r.note(message.clone());
    }
    tracing::info!(stage = %sc.stage.name, reason = why, "endpoint stage skipped");
    sc.env
        .event(
            SKIPPED_EVENT,
            "",
            None,
            json!({"message": message, "stage": sc.stage.id, "flow": sc.flow.slug}),
        )
        .await
}

/// Verifies the Agent's answer (`response`) against the challenge the stage issued.
pub async fn respond(
    sc: &mut StageCtx<'_>,
    s: &EndpointSettings,
    r: &Response,
) -> FlowResult<Reply> {
    let issued = issued(sc);
    let answer = r.get("response").filter(|a| !a.is_empty());
    let (Some(issued), Some(answer)) = (issued, answer) else {
        return Ok(without_device(s));
    };
    let check = match check(sc, s).await? {
        Ok(check) => check,
        Err(NoChallenge::Disabled(name)) => {
            return Ok(disabled_denial(s, &name).map_or(Reply::Next, Reply::Deny));
        }
        Err(NoChallenge::Skipped(_)) => return Ok(without_device(s)),
    };
    match verified_device(sc, &check, answer, &issued).await? {
        Some(device) => {
            sc.set_scratch(SCRATCH_CHALLENGE, Value::Null);
            sc.set_scratch(SCRATCH_EXPIRES, Value::Null);
            let facts = device_context(sc, &check, &device).await?;
            sc.plan.context.extra.insert(CONTEXT_DEVICE.into(), facts);
            Ok(Reply::Next)
        }
        None => Ok(Reply::invalid("response", INVALID_ANSWER)),
    }
}

/// No device answered: `optional` goes on, `required` denies saying what is missing.
fn without_device(s: &EndpointSettings) -> Reply {
    match s.mode {
        EndpointMode::Optional => Reply::Next,
        EndpointMode::Required => Reply::Deny(
            "This sign-in requires a registered device: no answer came from the authentik \
             Agent on this device (install and enroll the Agent, then try again)."
                .into(),
        ),
    }
}

/// What a disabled connector does to the stage: `optional` goes on (`None`), `required`
/// denies saying why.
fn disabled_denial(s: &EndpointSettings, connector: &str) -> Option<String> {
    match s.mode {
        EndpointMode::Optional => None,
        EndpointMode::Required => Some(format!(
            "This sign-in requires a registered device, but the device connector '{connector}' \
             is disabled, so no device can be checked (an administrator must enable it)."
        )),
    }
}

/// The device whose Agent signed `answer` for `issued`, if the signature, audience, lifetime
/// and challenge are right and the device is enrolled at the stage's connector, unexpired.
async fn verified_device(
    sc: &StageCtx<'_>,
    check: &Check,
    answer: &str,
    issued: &str,
) -> FlowResult<Option<Device>> {
    let Ok(serial) = endpoint_challenge::claimed_serial(answer) else {
        return Ok(None);
    };
    let mut conn = sc.env.store.read().await?;
    let Some(device) = store::devices::by_identifier(&mut conn, &serial).await? else {
        return Ok(None);
    };
    if device.is_expired(sc.env.now) {
        return Ok(None);
    }
    let Some(key) =
        store::device_answer_keys::of_device_at(&mut conn, &device.id, &check.connector_id).await?
    else {
        return Ok(None);
    };
    match endpoint_challenge::verify_answer(answer, &key, &serial, issued, sc.env.now) {
        Ok(_) => Ok(Some(device)),
        Err(e) => {
            tracing::info!(device = %device.identifier, error = %e, "endpoint answer refused");
            Ok(None)
        }
    }
}

/// The device as policies read it: authentik's names (`pk`, `name`, `identifier`,
/// `access_group`, `attributes`, `cached_facts` = its current facts, see [`device_facts`]).
async fn device_context(sc: &StageCtx<'_>, check: &Check, device: &Device) -> FlowResult<Value> {
    let mut conn = sc.env.store.read().await?;
    let group = match &device.access_group_id {
        Some(id) => store::device_access_groups::list(&mut conn)
            .await?
            .into_iter()
            .find(|g| &g.id == id)
            .map(|g| json!({"pk": g.id, "name": g.name, "attributes": g.attributes})),
        None => None,
    };
    let snapshots = store::devices::snapshots_of(&mut conn, &device.id).await?;
    let cached_facts = device_facts::cached_facts(&snapshots, sc.env.now);
    Ok(json!({
        "pk": device.id,
        "name": device.name,
        "identifier": device.identifier,
        "connector": check.connector_id,
        "access_group": group,
        "attributes": device.attributes,
        "cached_facts": cached_facts,
    }))
}
