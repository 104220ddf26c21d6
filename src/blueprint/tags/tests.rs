//! Table tests of the tags in this module: each tag's results, then its errors with their line.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::blueprint::models;
use crate::blueprint::resolve::{Cache, Scope, TagError, resolve};
use crate::blueprint::yaml;

/// A cache holding one flow (`default-password-change`) and one certificate named as
/// latchkey named its own before migration 0026 renamed it.
fn cache() -> Cache {
    let mut cache = Cache::default();
    let pair = crate::crypto::keys::generate_self_signed(
        "test",
        &[],
        30,
        crate::crypto::keys::KeyAlgorithm::Ed25519,
    )
    .expect("key");
    for (model, id, attrs) in [
        (
            "authentik_flows.flow",
            "flow-1",
            json!({"slug": "default-password-change", "name": "Change password",
                   "title": "Change password", "designation": "stage_configuration"}),
        ),
        (
            "authentik_crypto.certificatekeypair",
            "cert-1",
            json!({"name": "authentik Self-signed Certificate",
                   "certificate_data": pair.certificate_pem, "key_data": pair.key_pem}),
        ),
    ] {
        let spec = models::spec(model).expect("model");
        let mut all = spec.defaults();
        if let Value::Object(m) = attrs {
            all.extend(m);
        }
        cache.insert(models::from_attrs(spec, &all, id).expect("object"));
    }
    cache
}

fn eval(text: &str) -> Result<Value, TagError> {
    let node = yaml::parse(text).expect("yaml").expect("a document");
    let keys = HashMap::new();
    let context = Map::from_iter([
        ("names".to_string(), json!(["a", "b"])),
        ("json".to_string(), json!("{\"k\": [1, 2]}")),
    ]);
    let cache = cache();
    let scope = Scope::new(&keys, &context, &cache);
    resolve(&node, &scope)
}

#[test]
fn each_tag_evaluates_as_authentik_documents() {
    let dir = tempfile::tempdir().expect("dir");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "  s3cret\n").expect("write");
    let secret = secret.display().to_string();
    let missing = dir.path().join("missing").display().to_string();
    let cases: Vec<(String, Value)> = vec![
        // !Enumerate over a list and a mapping, into a list and a mapping.
        (
            "v: !Enumerate [[x, y], SEQ, !Format ['%s=%s', !Index 0, !Value 0]]".into(),
            json!(["0=x", "1=y"]),
        ),
        (
            "v: !Enumerate [{a: 1, b: 2}, SEQ, !Index 0]".into(),
            json!(["a", "b"]),
        ),
        (
            "v: !Enumerate [!Context names, MAP, [!Value 0, !Index 0]]".into(),
            json!({"a": 0, "b": 1}),
        ),
        (
            "v: !Enumerate [[x, y], map, [!Value 0, {n: !Index 0}]]".into(),
            json!({"x": {"n": 0}, "y": {"n": 1}}),
        ),
        // Mappings merge deeply (lists append), as deepmerge's always_merger.
        (
            "v: !Enumerate [[x, y], MAP, {all: [!Value 0]}]".into(),
            json!({"all": ["x", "y"]}),
        ),
        // Nested: depth 1 is the enclosing enumeration.
        (
            "v: !Enumerate [[a, b], SEQ, !Enumerate [[1, 2], SEQ, !Format ['%s%s', !Value 1, !Value 0]]]"
                .into(),
            json!([["a1", "a2"], ["b1", "b2"]]),
        ),
        ("v: !Enumerate [[], SEQ, !Value 0]".into(), json!([])),
        // !AtIndex: lists (negative from the end), mappings, defaults.
        ("v: !AtIndex [[a, b, c], 1]".into(), json!("b")),
        ("v: !AtIndex [[a, b, c], -1]".into(), json!("c")),
        ("v: !AtIndex [[a], 5, fallback]".into(), json!("fallback")),
        ("v: !AtIndex [{k: v}, k]".into(), json!("v")),
        ("v: !AtIndex [{k: v}, other, null]".into(), Value::Null),
        // !ParseJSON.
        ("v: !ParseJSON '{\"a\": [1, true]}'".into(), json!({"a": [1, true]})),
        ("v: !ParseJSON '3'".into(), json!(3)),
        // !FindObject: the object's attributes with pk, or null.
        (
            "v: !AtIndex [!FindObject [authentik_flows.flow, [slug, default-password-change]], designation]"
                .into(),
            json!("stage_configuration"),
        ),
        (
            "v: !AtIndex [!FindObject [authentik_flows.flow, [slug, default-password-change]], pk]"
                .into(),
            json!("flow-1"),
        ),
        (
            "v: !FindObject [authentik_flows.flow, [slug, nowhere]]".into(),
            Value::Null,
        ),
        // The private key is never in what !FindObject gives.
        (
            "v: !Condition [NOT, !AtIndex [!FindObject [authentik_crypto.certificatekeypair, [name, authentik Self-signed Certificate]], key_data, null]]"
                .into(),
            json!(true),
        ),
        // The certificate is found under latchkey's former name too.
        (
            "v: !Find [authentik_crypto.certificatekeypair, [name, latchkey Self-signed Certificate]]"
                .into(),
            json!("cert-1"),
        ),
        (
            "v: !Find [authentik_crypto.certificatekeypair, [name, authentik Self-signed Certificate]]"
                .into(),
            json!("cert-1"),
        ),
        // !File: trimmed text; a missing file gives the default (null without one).
        (format!("v: !File {secret}"), json!("s3cret")),
        (format!("v: !File [{secret}, d]"), json!("s3cret")),
        (format!("v: !File [{missing}, fallback]"), json!("fallback")),
        (format!("v: !File {missing}"), Value::Null),
    ];
    for (text, want) in cases {
        assert_eq!(eval(&text), Ok(json!({ "v": want })), "{text}");
    }
}

#[test]
fn bad_tags_are_errors_naming_their_line() {
    let dir = tempfile::tempdir().expect("dir");
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'a'; 70 * 1024]).expect("write");
    let binary = dir.path().join("binary");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).expect("write");
    let (big, binary, folder) = (
        big.display().to_string(),
        binary.display().to_string(),
        dir.path().display().to_string(),
    );
    let cases: Vec<(String, &str)> = vec![
        (
            "v: !Enumerate [[a], SEQ]".into(),
            "takes [iterable, SEQ or MAP, body]",
        ),
        ("v: !Enumerate [[a], LIST, x]".into(), "must be SEQ or MAP"),
        (
            "v: !Enumerate [5, SEQ, x]".into(),
            "must be a list or a mapping, got a number",
        ),
        (
            "v: !Enumerate [!Value 0, SEQ, x]".into(),
            "this same enumeration",
        ),
        (
            "v: !Enumerate [[a], MAP, just-text]".into(),
            "[key, value] or a mapping",
        ),
        (
            "v: !Enumerate [[a], MAP, [[k], v]]".into(),
            "a key must be a string",
        ),
        ("v: !Value 0".into(), "only usable inside an !Enumerate"),
        (
            "v: !Enumerate [[a], MAP, {!Value 0: x}]".into(),
            "keys must be plain strings",
        ),
        ("v: !Index 0".into(), "only usable inside an !Enumerate"),
        (
            "v: !Enumerate [[a], SEQ, !Value 1]".into(),
            "only 1 !Enumerate level",
        ),
        (
            "v: !Enumerate [[a], SEQ, !Index deep]".into(),
            "takes a depth",
        ),
        ("v: !AtIndex [[a], 3]".into(), "index out of range: 3"),
        ("v: !AtIndex [[a], x]".into(), "invalid index for a list"),
        (
            "v: !AtIndex [{k: v}, x]".into(),
            "key does not exist: \"x\"",
        ),
        (
            "v: !AtIndex [text, 0]".into(),
            "takes a list or a mapping, got a string",
        ),
        (
            "v: !AtIndex [[a]]".into(),
            "takes [value, index or key, default]",
        ),
        ("v: !ParseJSON '{bad'".into(), "!ParseJSON:"),
        ("v: !ParseJSON [1]".into(), "takes a string of JSON"),
        (
            "v: !FindObject [no.such.model, [name, x]]".into(),
            "unknown model",
        ),
        (
            "v: !FindObject [authentik_flows.flow, [colour, x]]".into(),
            "has no field 'colour'",
        ),
        ("v: !File relative/path".into(), "must be absolute"),
        (
            "v: !File /etc/../etc/passwd".into(),
            "must not contain `..`",
        ),
        ("v: !File /proc/self/environ".into(), "are not read"),
        ("v: !File [/dev/zero, d]".into(), "are not read"),
        (format!("v: !File [{folder}, d]"), "not a regular file"),
        (format!("v: !File [{big}, d]"), "reads at most 65536"),
        (format!("v: !File {binary}"), "not UTF-8"),
        (
            "v: !File [a, b, c]".into(),
            "takes a path, or [path, default]",
        ),
        // 1000 × 1000 nested items: refused before a million values are built.
        (
            format!(
                "v: !Enumerate [{list}, SEQ, !Enumerate [{list}, SEQ, !Index 0]]",
                list = serde_json::to_string(&(0..1000).collect::<Vec<_>>()).expect("list")
            ),
            "more than 100000 items",
        ),
    ];
    for (text, want) in cases {
        // The tag sits on line 3, so the line in the error is the tag's own.
        let text = format!("# a comment\n\n{text}");
        let e = eval(&text).expect_err(&text);
        assert_eq!(e.line, 3, "{text}: {}", e.message);
        assert!(e.message.contains(want), "{text}: {}", e.message);
    }
}
