//! The brute-force defence of sign-ins: failed passwords are counted per (client IP, username),
//! per client IP and per username. Past a few failures of one username from one address each
//! attempt is delayed (1 s, 2 s), then that pair is refused for a while that doubles (1 minute,
//! 2, 4 … at most an hour); an address that fails too often for any usernames is refused too.
//! Guesses at one username spread over many addresses are slowed, not refused, so the right
//! password from another address still works. A refusal says when to retry, and the start of
//! one is recorded as a `suspicious_request` event.

use serde_json::json;

use super::env::Env;
use super::{FlowResult, actions};
use crate::context::LoginLimits;
use crate::store::login_failures;

/// What the throttle says about one more attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Go ahead, after waiting this many milliseconds (0: at once).
    Wait(u64),
    /// Refused until this unix time.
    Refused { until: i64 },
}

fn keys(env: &Env, username: &str) -> [String; 3] {
    let user = username.to_lowercase();
    [
        format!("pair:{}\u{1f}{user}", env.client_ip),
        format!("ip:{}", env.client_ip),
        format!("user:{user}"),
    ]
}

/// Whether `username` may try a password now from the request's address, and after how long.
pub async fn gate(env: &Env, username: &str) -> FlowResult<Gate> {
    let limits = env.login_limits;
    if !limits.enabled() {
        return Ok(Gate::Wait(0));
    }
    let [pair, ip, user] = keys(env, username);
    let counters = {
        let mut conn = env.store.read().await?;
        login_failures::read(
            &mut conn,
            &[pair.clone(), ip.clone(), user.clone()],
            env.now,
        )
        .await?
    };
    let failures = |key: &str| {
        counters
            .iter()
            .find(|c| c.key == key)
            .map_or((0, 0), |c| (c.failures, c.locked_until))
    };
    let (pair_failures, pair_lock) = failures(&pair);
    let (_, ip_lock) = failures(&ip);
    let (user_failures, _) = failures(&user);
    let until = pair_lock.max(ip_lock);
    if until > env.now {
        return Ok(Gate::Refused { until });
    }
    Ok(Gate::Wait(delay_ms(limits, pair_failures, user_failures)))
}

/// The wait before an attempt: growing for the pair past half its lockout count, and for the
/// username (from any address) past its slowdown count.
fn delay_ms(limits: LoginLimits, pair_failures: i64, user_failures: i64) -> u64 {
    let grow = |over: i64, cap_ms: u64| {
        if over <= 0 {
            0
        } else {
            (500u64 << over.min(8)).min(cap_ms)
        }
    };
    let pair = grow(pair_failures - limits.lockout_after / 2, 2_000);
    let user = grow(user_failures - limits.slowdown_after + 1, 8_000);
    pair.max(user)
}

/// How long a lock lasts the `n`th time a key reached its limit.
fn lock_seconds(base: i64, over: i64) -> i64 {
    (base << over.clamp(0, 6)).min(3600)
}

/// Counts a failed password of `username` from the request's address; refuses the pair (or
/// the address) once it reached its limit, recording a `suspicious_request` event.
pub async fn failed(env: &Env, username: &str) -> FlowResult<()> {
    let limits = env.login_limits;
    if !limits.enabled() {
        return Ok(());
    }
    let [pair, ip, user] = keys(env, username);
    let window = limits.window_seconds;
    let Some(mut tx) = env.write_tx("login failures").await? else {
        return Ok(());
    };
    let pair_failures = login_failures::count(tx.conn(), &pair, env.now, window).await?;
    let ip_failures = login_failures::count(tx.conn(), &ip, env.now, window).await?;
    login_failures::count(tx.conn(), &user, env.now, window).await?;
    let mut locked = None;
    if pair_failures >= limits.lockout_after {
        let until = env.now + lock_seconds(60, pair_failures - limits.lockout_after);
        login_failures::lock(tx.conn(), &pair, until).await?;
        locked = Some(("username and address", until));
    }
    if ip_failures >= limits.ip_lockout_after {
        let until = env.now + lock_seconds(900, ip_failures - limits.ip_lockout_after);
        login_failures::lock(tx.conn(), &ip, until).await?;
        locked = Some(("address", until));
    }
    tx.commit().await?;
    if let Some((scope, until)) = locked {
        env.event(
            actions::SUSPICIOUS_REQUEST,
            username,
            None,
            json!({
                "reason": "too many failed sign-ins",
                "refused_for": scope,
                "until": until,
                "failures": pair_failures.max(ip_failures),
            }),
        )
        .await?;
    }
    Ok(())
}

/// A successful sign-in clears the (address, username) counter.
pub async fn succeeded(env: &Env, username: &str) -> FlowResult<()> {
    if !env.login_limits.enabled() {
        return Ok(());
    }
    if !env.may_write("login failures cleared") {
        return Ok(());
    }
    let [pair, _, _] = keys(env, username);
    Ok(login_failures::clear(&env.store, &pair).await?)
}

/// The message a refused attempt shows: when to try again.
pub fn refusal(until: i64, now: i64) -> String {
    let secs = (until - now).max(1);
    let wait = if secs < 90 {
        format!("{secs} seconds")
    } else {
        format!("{} minutes", (secs + 59) / 60)
    };
    format!("Too many failed sign-ins. Try again in {wait}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: LoginLimits = LoginLimits {
        lockout_after: 5,
        ip_lockout_after: 30,
        slowdown_after: 10,
        window_seconds: 900,
    };

    #[test]
    fn delays_grow_then_stop_at_their_caps() {
        let table = [
            ((0, 0), 0),
            ((2, 0), 0),
            ((3, 0), 1000),
            ((4, 0), 2000),
            ((9, 0), 2000),
            ((0, 9), 0),
            ((0, 10), 1000),
            ((0, 11), 2000),
            ((0, 12), 4000),
            ((0, 50), 8000),
            ((4, 13), 8000),
        ];
        for ((pair, user), want) in table {
            assert_eq!(
                delay_ms(LIMITS, pair, user),
                want,
                "pair {pair}, user {user}"
            );
        }
    }

    #[test]
    fn locks_double_up_to_an_hour() {
        assert_eq!(lock_seconds(60, 0), 60);
        assert_eq!(lock_seconds(60, 1), 120);
        assert_eq!(lock_seconds(60, 5), 1920);
        assert_eq!(lock_seconds(60, 6), 3600);
        assert_eq!(lock_seconds(60, 60), 3600);
        assert_eq!(lock_seconds(900, 3), 3600);
    }

    #[test]
    fn the_refusal_says_when_to_retry() {
        assert_eq!(
            refusal(160, 100),
            "Too many failed sign-ins. Try again in 60 seconds."
        );
        assert_eq!(
            refusal(100 + 600, 100),
            "Too many failed sign-ins. Try again in 10 minutes."
        );
        assert_eq!(
            refusal(100, 100),
            "Too many failed sign-ins. Try again in 1 seconds."
        );
    }
}
