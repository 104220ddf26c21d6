//! YAML to a tree that keeps each node's line and custom tag (`!KeyOf`, `!Find`, …), built from
//! yaml-rust2's event parser. Aliases are expanded here under a node budget, so an alias bomb
//! fails fast instead of eating memory.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// The most nodes one document may hold once aliases are expanded.
pub const MAX_NODES: usize = 200_000;
/// The deepest nesting of lists and mappings accepted (the tree is walked recursively).
pub const MAX_DEPTH: usize = 128;

/// One YAML node with its 1-based line and its custom tag (like `!KeyOf`), if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: usize,
    pub tag: Option<String>,
    pub value: NodeValue,
}

/// A node's value.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value of `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| matches!(&k.value, NodeValue::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The plain string of a scalar node (no tag).
    pub fn as_str(&self) -> Option<&str> {
        match (&self.value, &self.tag) {
            (NodeValue::Str(s), None) => Some(s),
            _ => None,
        }
    }

    /// A short description of the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) | NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    fn count(&self) -> usize {
        1 + match &self.value {
            NodeValue::Seq(items) => items.iter().map(Node::count).sum(),
            NodeValue::Map(pairs) => pairs.iter().map(|(k, v)| k.count() + v.count()).sum(),
            _ => 0,
        }
    }
}

/// Why a YAML text could not be read, with the line it happened at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

/// Parses one YAML document. `None` for an empty document.
pub fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(YamlError {
            line: 1,
            message: format!(
                "the file is {} bytes; blueprints larger than {} bytes are refused",
                text.len(),
                MAX_FILE_BYTES
            ),
        });
    }
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(err) = parser.load(&mut builder, false) {
        return Err(YamlError {
            line: err.marker().line(),
            message: err.info().to_string(),
        });
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.root)
}

enum Frame {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    nodes: usize,
    error: Option<YamlError>,
}

fn tag_name(tag: Option<Tag>) -> (Option<String>, Option<String>) {
    match tag {
        None => (None, None),
        Some(t) if t.handle == "!!" || t.handle.starts_with("tag:yaml.org,2002:") => {
            (None, Some(t.suffix))
        }
        Some(t) if t.handle == "!" => (Some(format!("!{}", t.suffix)), None),
        Some(t) => (Some(format!("{}{}", t.handle, t.suffix)), None),
    }
}

fn scalar(text: String, style: TScalarStyle, standard: Option<&str>) -> NodeValue {
    if style != TScalarStyle::Plain || standard == Some("str") {
        return NodeValue::Str(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return NodeValue::Int(i);
    }
    let looks_numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if looks_numeric && let Ok(f) = text.parse::<f64>() {
        return NodeValue::Float(f);
    }
    NodeValue::Str(text)
}

impl Builder {
    fn fail(&mut self, line: usize, message: String) {
        if self.error.is_none() {
            self.error = Some(YamlError { line, message });
        }
    }

    fn push(&mut self, frame: Frame, line: usize) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(
                line,
                format!("lists and mappings are nested deeper than {MAX_DEPTH} levels; refused"),
            );
            return;
        }
        self.stack.push(frame);
    }

    fn add_nodes(&mut self, n: usize, line: usize) -> bool {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            self.fail(
                line,
                format!(
                    "the document expands to more than {MAX_NODES} nodes (alias bomb?); refused"
                ),
            );
            return false;
        }
        true
    }

    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let size = node.count();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq(parent, _)) => {
                if let NodeValue::Seq(items) = &mut parent.value {
                    items.push(node);
                }
            }
            Some(Frame::Map(parent, _, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    let duplicate = match &mut parent.value {
                        NodeValue::Map(pairs) => {
                            let earlier = pairs
                                .iter()
                                .find(|(k, _)| k.value == key.value)
                                .map(|(k, _)| k.line);
                            if earlier.is_none() {
                                pairs.push((key.clone(), node));
                            }
                            earlier
                        }
                        _ => None,
                    };
                    if let Some(first) = duplicate {
                        let name = key
                            .as_str()
                            .map_or_else(|| format!("{:?}", key.value), str::to_string);
                        self.fail(
                            key.line,
                            format!(
                                "key '{name}' appears twice in one mapping (first at line {first}); \
                                 keep one"
                            ),
                        );
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let line = mark.line();
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                if !self.add_nodes(1, line) {
                    return;
                }
                let (tag, standard) = tag_name(tag);
                let value = scalar(text, style, standard.as_deref());
                self.finish(Node { line, tag, value }, anchor);
            }
            Event::SequenceStart(anchor, tag) => {
                if !self.add_nodes(1, line) {
                    return;
                }
                let (tag, _) = tag_name(tag);
                let node = Node {
                    line,
                    tag,
                    value: NodeValue::Seq(Vec::new()),
                };
                self.push(Frame::Seq(node, anchor), line);
            }
            Event::MappingStart(anchor, tag) => {
                if !self.add_nodes(1, line) {
                    return;
                }
                let (tag, _) = tag_name(tag);
                let node = Node {
                    line,
                    tag,
                    value: NodeValue::Map(Vec::new()),
                };
                self.push(Frame::Map(node, anchor, None), line);
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(node, anchor)) | Some(Frame::Map(node, anchor, _)) => {
                    self.finish(node, anchor)
                }
                None => self.fail(line, "unbalanced collection".into()),
            },
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id).cloned() else {
                    self.fail(line, "alias to an unknown anchor".into());
                    return;
                };
                if !self.add_nodes(size, line) {
                    return;
                }
                self.finish(node, 0);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_tags_and_lines() {
        let root = parse("a: 1\nb: !KeyOf flow\nc: [x, !Env [HOME, d]]\n")
            .ok()
            .flatten();
        let root = root.as_ref();
        let b = root.and_then(|r| r.get("b"));
        assert_eq!(b.map(|b| b.line), Some(2));
        assert_eq!(b.and_then(|b| b.tag.clone()), Some("!KeyOf".into()));
        assert_eq!(
            root.and_then(|r| r.get("a")).map(|a| a.value.clone()),
            Some(NodeValue::Int(1))
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("a: {}{}", "[".repeat(200), "]".repeat(200));
        let err = parse(&text).err().map(|e| e.message).unwrap_or_default();
        assert!(err.contains("nested deeper"), "{err}");
        let text = format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&text).is_err(), "the parser's own limit holds too");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&text).err().map(|e| e.message).unwrap_or_default();
        assert!(err.contains("alias bomb"), "{err}");
    }
}
