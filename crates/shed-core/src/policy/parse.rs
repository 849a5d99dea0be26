//! Reading a policy from TOML, and every problem in it, each with file, line and column.
//!
//! The document is parsed into toml's spanned tree and walked by hand rather than through
//! serde, so that one pass reports every problem (not just the first), names the exact key or
//! value at fault, and can suggest the closest known key for a misspelt one. Invariant 7: a
//! malformed policy stops the run before any change.

use std::fmt;
use std::ops::Range;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use globset::GlobBuilder;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    Action, Duration, Glob, GroupPart, LabelSelector, Limits, Policy, Protect, Retain, RetainOrder,
    Rule, Selector, VersionRange,
};
use crate::inventory::Timestamp;

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct PolicyError {
    pub file: String,
    /// 1-based line of the key or value at fault.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    pub message: String,
    /// How to fix it, when shed can tell (`did you mean \`labels\`?`).
    pub suggestion: Option<String>,
}

/// Every problem found in a policy file, in the order they appear in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyErrors {
    pub errors: Vec<PolicyError>,
}

impl fmt::Display for PolicyErrors {
    /// One problem per line, each followed by its suggestion on an indented `help:` line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, error) in self.errors.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
            if let Some(suggestion) = &error.suggestion {
                write!(f, "\n  help: {suggestion}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

const TOP_KEYS: &[&str] = &["default", "limits", "protect", "rule"];
const PROTECT_KEYS: &[&str] = &["labels", "min_age", "references"];
const LIMITS_KEYS: &[&str] = &["max_bytes", "max_images", "max_percent"];
const RULE_KEYS: &[&str] = &[
    "action",
    "created_after",
    "created_before",
    "dangling",
    "labels",
    "larger_than",
    "name",
    "newest_minors",
    "older_than",
    "order",
    "per",
    "repository",
    "retain",
    "smaller_than",
    "tag",
    "unused_for",
    "variant",
    "version",
];

/// Words people reach for that are not keys, and the key that means what they want.
const SYNONYMS: &[(&str, &str)] = &[
    ("repo", "repository"),
    ("image", "repository"),
    ("tags", "tag"),
    ("keep", "retain"),
    ("group_by", "per"),
    ("max_age", "older_than"),
    ("min_size", "larger_than"),
    ("max_size", "smaller_than"),
    ("rules", "rule"),
    ("semver", "version"),
];

/// Parses and validates a policy. `text` is the file's contents and `file` its name, used only
/// in messages. Returns every problem found (syntax errors stop at the first), sorted by
/// position.
pub fn parse_policy(text: &str, file: &str) -> Result<Policy, PolicyErrors> {
    let mut reader = Reader {
        text,
        file,
        errors: Vec::new(),
    };
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(error) => {
            let span = error.span().unwrap_or(0..0);
            reader.error(
                span,
                format!("invalid TOML: {}", error.message().trim_end()),
                None,
            );
            return Err(reader.finish());
        }
    };
    let (policy, rule_spans) = reader.policy(root.get_ref());
    for problem in super::shadow::unreachable_rules(&policy) {
        // A rule that repeats an earlier name is reported as such; "move rule "a" above rule
        // "a"" would only confuse until the names differ.
        if first_with_name(&policy.rules, problem.rule).is_some() {
            continue;
        }
        reader.error(
            rule_spans[problem.rule].header.clone(),
            problem.message,
            Some(problem.suggestion),
        );
    }
    if reader.errors.is_empty() {
        Ok(policy)
    } else {
        Err(reader.finish())
    }
}

type Value<'a> = Spanned<DeValue<'a>>;

/// Where a rule is written: its `[[rule]]` header and its `name` value.
struct RuleSpans {
    header: Range<usize>,
    name: Range<usize>,
}

/// The earlier rule that already has the name of `rules[n]`, if any.
fn first_with_name(rules: &[Rule], n: usize) -> Option<&Rule> {
    rules[..n].iter().find(|r| r.name == rules[n].name)
}

/// A name for `rules[n]` that no rule has: its name with the lowest free number appended.
fn unused_name(rules: &[Rule], n: usize) -> String {
    let name = &rules[n].name;
    (2..)
        .map(|k| format!("{name} {k}"))
        .find(|candidate| rules.iter().all(|r| &r.name != candidate))
        .expect("finitely many rules leave some number free")
}

/// The walk over the document, collecting errors as it goes.
struct Reader<'t> {
    text: &'t str,
    file: &'t str,
    errors: Vec<PolicyError>,
}

impl Reader<'_> {
    fn error(&mut self, span: Range<usize>, message: String, suggestion: Option<String>) {
        let (line, column) = line_column(self.text, span.start);
        self.errors.push(PolicyError {
            file: self.file.to_owned(),
            line,
            column,
            message,
            suggestion,
        });
    }

    fn finish(mut self) -> PolicyErrors {
        self.errors.sort_by_key(|e| (e.line, e.column));
        PolicyErrors {
            errors: self.errors,
        }
    }

    fn policy(&mut self, root: &DeTable<'_>) -> (Policy, Vec<RuleSpans>) {
        self.unknown_keys(root, TOP_KEYS, "the top level");
        let protect = match root.get("protect") {
            Some(value) => self.table(value, "protect").map(|t| self.protect(t)),
            None => None,
        };
        let limits = match root.get("limits") {
            Some(value) => self.table(value, "limits").map(|t| self.limits(t)),
            None => None,
        };
        let default = root.get("default").and_then(|v| self.default_action(v));
        let (rules, spans) = match root.get("rule") {
            Some(value) => self.rules(value),
            None => (Vec::new(), Vec::new()),
        };
        let policy = Policy {
            file: self.file.to_owned(),
            protect: protect.unwrap_or_default(),
            rules,
            default: default.unwrap_or(Action::Keep),
            limits: limits.unwrap_or_default(),
        };
        (policy, spans)
    }

    /// Reports every key of `table` that is not in `known`, with the closest known key.
    fn unknown_keys(&mut self, table: &DeTable<'_>, known: &[&str], place: &str) {
        for key in table.keys() {
            let name: &str = key.get_ref();
            if known.contains(&name) {
                continue;
            }
            let suggestion = suggest_key(name, known, place);
            self.error(
                key.span(),
                format!("unknown key `{name}` in {place}"),
                Some(suggestion),
            );
        }
    }

    fn table<'v, 'a>(&mut self, value: &'v Value<'a>, key: &str) -> Option<&'v DeTable<'a>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            other => {
                let message = format!("`{key}` must be a table, found {}", other.type_str());
                let suggestion = format!("write it as a section: [{key}]");
                self.error(value.span(), message, Some(suggestion));
                None
            }
        }
    }

    fn protect(&mut self, table: &DeTable<'_>) -> Protect {
        self.unknown_keys(table, PROTECT_KEYS, "[protect]");
        Protect {
            references: self.globs(table, "references", true),
            labels: self.labels(table),
            min_age: self.duration(table, "min_age"),
        }
    }

    /// The cap, each bound checked by the same rules as [`Limits::validate`].
    fn limits(&mut self, table: &DeTable<'_>) -> Limits {
        self.unknown_keys(table, LIMITS_KEYS, "[limits]");
        let max_images = table
            .get("max_images")
            .and_then(|v| self.count(v, "max_images", 1));
        let max_percent = table.get("max_percent").and_then(|v| self.percent(v));
        let max_bytes = self.size(table, "max_bytes");
        let max_bytes = match (max_bytes, table.get("max_bytes")) {
            (Some(bytes), Some(value)) => {
                self.checked(value, "max_bytes", bytes, super::limits::max_bytes_problem)
            }
            _ => None,
        };
        Limits {
            max_images,
            max_bytes,
            max_percent,
        }
    }

    /// `value` when `problem` finds nothing wrong with it; otherwise the problem, reported at
    /// `at` under the name `key`.
    fn checked<T: Copy>(
        &mut self,
        at: &Value<'_>,
        key: &str,
        value: T,
        problem: fn(T) -> Option<String>,
    ) -> Option<T> {
        match problem(value) {
            None => Some(value),
            Some(problem) => {
                self.error(at.span(), format!("`{key}` {problem}"), None);
                None
            }
        }
    }

    fn default_action(&mut self, value: &Value<'_>) -> Option<Action> {
        let (text, span) = self.string(value, "default")?;
        match text {
            "keep" => Some(Action::Keep),
            "delete" => Some(Action::Delete),
            _ => {
                let message = format!("`default` must be \"keep\" or \"delete\", not {text:?}");
                let suggestion = match (text, closest(text, &["keep", "delete"])) {
                    ("retain", _) => "a retain needs groups: write it as a [[rule]]".to_owned(),
                    (_, Some(near)) => format!("did you mean \"{near}\"?"),
                    (_, None) => "use \"keep\" or \"delete\"".to_owned(),
                };
                self.error(span, message, Some(suggestion));
                None
            }
        }
    }

    fn rules(&mut self, value: &Value<'_>) -> (Vec<Rule>, Vec<RuleSpans>) {
        let DeValue::Array(items) = value.get_ref() else {
            let message = "`rule` must be an array of tables".to_owned();
            self.error(
                value.span(),
                message,
                Some("start each rule with [[rule]]".to_owned()),
            );
            return (Vec::new(), Vec::new());
        };
        let mut rules = Vec::new();
        let mut spans = Vec::new();
        for (n, item) in items.iter().enumerate() {
            let Some(table) = self.table(item, "rule") else {
                continue;
            };
            if let Some((rule, name)) = self.rule(table, n + 1, item.span()) {
                spans.push(RuleSpans {
                    header: item.span(),
                    name,
                });
                rules.push(rule);
            }
        }
        self.duplicate_names(&rules, &spans);
        (rules, spans)
    }

    /// Rule names are unique: reasons and traces name the rule that decided, so two rules with
    /// one name would make a reason ambiguous. Reported at the second name.
    fn duplicate_names(&mut self, rules: &[Rule], spans: &[RuleSpans]) {
        for (n, rule) in rules.iter().enumerate() {
            if let Some(first) = first_with_name(rules, n) {
                let message = format!(
                    "rule name {:?} is already used by the rule on line {}",
                    rule.name, first.line
                );
                let suggestion = format!(
                    "give this rule a name of its own, such as name = {:?}: reasons name the \
                     rule that decided",
                    unused_name(rules, n)
                );
                self.error(spans[n].name.clone(), message, Some(suggestion));
            }
        }
    }

    /// The rule, and the span of its name.
    fn rule(
        &mut self,
        table: &DeTable<'_>,
        number: usize,
        span: Range<usize>,
    ) -> Option<(Rule, Range<usize>)> {
        self.unknown_keys(table, RULE_KEYS, "[[rule]]");
        let (line, _) = line_column(self.text, span.start);
        let name = match table.get("name") {
            Some(value) => self.string(value, "name"),
            None => {
                let message = format!("rule {number} has no name");
                let suggestion = "add name = \"…\": `shed why` and `shed plan` show it";
                self.error(span.clone(), message, Some(suggestion.to_owned()));
                None
            }
        };
        let selector = self.selector(table);
        let action = self.action(table, span);
        let (name, name_span) = name?;
        let rule = Rule {
            name: name.to_owned(),
            line,
            selector,
            action: action?,
        };
        Some((rule, name_span))
    }

    fn selector(&mut self, table: &DeTable<'_>) -> Selector {
        Selector {
            repository: self.globs(table, "repository", true),
            tag: self.globs(table, "tag", false),
            version: self.version_range(table),
            variant: self.globs(table, "variant", false),
            labels: self.labels(table),
            dangling: table
                .get("dangling")
                .and_then(|v| self.boolean(v, "dangling")),
            older_than: self.duration(table, "older_than"),
            created_before: self.timestamp(table, "created_before"),
            created_after: self.timestamp(table, "created_after"),
            unused_for: self.duration(table, "unused_for"),
            larger_than: self.size(table, "larger_than"),
            smaller_than: self.size(table, "smaller_than"),
        }
    }

    /// The rule's action, with the retain keys checked against it.
    fn action(&mut self, table: &DeTable<'_>, span: Range<usize>) -> Option<Action> {
        let Some(value) = table.get("action") else {
            let message = "rule has no action".to_owned();
            let suggestion = "add action = \"keep\", \"delete\" or \"retain\"";
            self.error(span, message, Some(suggestion.to_owned()));
            return None;
        };
        let (text, action_span) = self.string(value, "action")?;
        match text {
            "keep" | "delete" => {
                self.retain_keys_unused(table, text);
                Some(if text == "keep" {
                    Action::Keep
                } else {
                    Action::Delete
                })
            }
            "retain" => self.retain(table, action_span).map(Action::Retain),
            _ => {
                let message = format!("unknown action {text:?}");
                let suggestion = match closest(text, &["keep", "delete", "retain"]) {
                    Some(near) => format!("did you mean \"{near}\"?"),
                    None => "use \"keep\", \"delete\" or \"retain\"".to_owned(),
                };
                self.error(action_span, message, Some(suggestion));
                None
            }
        }
    }

    fn retain_keys_unused(&mut self, table: &DeTable<'_>, action: &str) {
        for key in ["retain", "per", "order", "newest_minors"] {
            if let Some((key_span, _)) = table.get_key_value(key).map(|(k, v)| (k.span(), v)) {
                let message = format!("`{key}` applies only to action = \"retain\"");
                let suggestion =
                    format!("remove `{key}`, or change action = \"{action}\" to \"retain\"");
                self.error(key_span, message, Some(suggestion));
            }
        }
    }

    fn retain(&mut self, table: &DeTable<'_>, action_span: Range<usize>) -> Option<Retain> {
        let keep = match table.get("retain") {
            Some(value) => self.count(value, "retain", 1),
            None => {
                let message = "action = \"retain\" needs `retain`, the number to keep".to_owned();
                let suggestion = "add retain = 3 to keep the 3 newest of each group";
                self.error(action_span, message, Some(suggestion.to_owned()));
                None
            }
        };
        let per = self.group_key(table);
        let order = self.order(table);
        let newest_minors = table
            .get("newest_minors")
            .and_then(|v| self.count(v, "newest_minors", 1));
        self.version_parts_need_version_order(table, &per, order);
        Some(Retain {
            keep: keep?,
            per: per.unwrap_or(vec![GroupPart::Repository]),
            order,
            newest_minors,
        })
    }

    fn group_key(&mut self, table: &DeTable<'_>) -> Option<Vec<GroupPart>> {
        let value = table.get("per")?;
        let mut parts = Vec::new();
        for (text, span) in self.strings(value, "per") {
            let part = GroupPart::ALL.into_iter().find(|p| p.as_str() == text);
            match part {
                Some(part) if parts.contains(&part) => {
                    self.error(span, format!("`{text}` appears twice in `per`"), None);
                }
                Some(part) => parts.push(part),
                None => {
                    let names = GroupPart::ALL.map(GroupPart::as_str);
                    let suggestion = match closest(&text, &names) {
                        Some(near) => format!("did you mean \"{near}\"?"),
                        None => format!("use any of {}", names.join(", ")),
                    };
                    let message = format!("unknown group part {text:?} in `per`");
                    self.error(span, message, Some(suggestion));
                }
            }
        }
        parts.sort();
        Some(parts)
    }

    fn order(&mut self, table: &DeTable<'_>) -> RetainOrder {
        let Some(value) = table.get("order") else {
            return RetainOrder::Version;
        };
        match self.string(value, "order") {
            Some(("version", _)) | None => RetainOrder::Version,
            Some(("created", _)) => RetainOrder::Created,
            Some((text, span)) => {
                let message = format!("`order` must be \"version\" or \"created\", not {text:?}");
                self.error(span, message, None);
                RetainOrder::Version
            }
        }
    }

    /// Major, minor, variant and newest minors exist only for versions; a rule ordered by
    /// creation time also ranks tags that are not versions.
    fn version_parts_need_version_order(
        &mut self,
        table: &DeTable<'_>,
        per: &Option<Vec<GroupPart>>,
        order: RetainOrder,
    ) {
        if order != RetainOrder::Created {
            return;
        }
        let Some((key, _)) = table.get_key_value("order") else {
            return;
        };
        let version_part = per.iter().flatten().find(|p| p.is_version_part());
        if let Some(part) = version_part {
            let message = format!(
                "`per` groups by {}, which only versions have",
                part.as_str()
            );
            let suggestion = "use order = \"version\", or group by \"repository\" only";
            self.error(key.span(), message, Some(suggestion.to_owned()));
        }
        if let Some((minors_key, _)) = table.get_key_value("newest_minors") {
            let message = "`newest_minors` needs order = \"version\"".to_owned();
            self.error(minors_key.span(), message, None);
        }
    }

    fn string<'v>(&mut self, value: &'v Value<'_>, key: &str) -> Option<(&'v str, Range<usize>)> {
        match value.get_ref() {
            DeValue::String(text) => Some((text.as_ref(), value.span())),
            other => {
                self.wrong_type(value, key, "a string", other);
                None
            }
        }
    }

    /// A string, or an array of strings.
    fn strings(&mut self, value: &Value<'_>, key: &str) -> Vec<(String, Range<usize>)> {
        let items: Vec<&Value<'_>> = match value.get_ref() {
            DeValue::Array(items) => items.iter().collect(),
            _ => vec![value],
        };
        let mut out = Vec::new();
        for item in items {
            if let Some((text, span)) = self.string(item, key) {
                out.push((text.to_owned(), span));
            }
        }
        out
    }

    fn wrong_type(&mut self, value: &Value<'_>, key: &str, wanted: &str, found: &DeValue<'_>) {
        let message = format!("`{key}` must be {wanted}, found {}", found.type_str());
        self.error(value.span(), message, None);
    }

    fn boolean(&mut self, value: &Value<'_>, key: &str) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.wrong_type(value, key, "true or false", other);
                None
            }
        }
    }

    /// A whole number of at least `min`.
    fn count(&mut self, value: &Value<'_>, key: &str, min: i64) -> Option<usize> {
        let DeValue::Integer(integer) = value.get_ref() else {
            self.wrong_type(value, key, "a whole number", value.get_ref());
            return None;
        };
        let number = i64::from_str_radix(integer.as_str(), integer.radix()).ok();
        match number
            .filter(|n| *n >= min)
            .and_then(|n| usize::try_from(n).ok())
        {
            Some(n) => Some(n),
            None => {
                let message = format!("`{key}` must be at least {min}, found {}", integer.as_str());
                let suggestion = (key == "retain")
                    .then(|| "to remove a whole group, use action = \"delete\"".to_owned());
                self.error(value.span(), message, suggestion);
                None
            }
        }
    }

    fn percent(&mut self, value: &Value<'_>) -> Option<f64> {
        let number = match value.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            other => {
                self.wrong_type(value, "max_percent", "a number", other);
                return None;
            }
        };
        match number {
            Some(n) => self.checked(value, "max_percent", n, super::limits::max_percent_problem),
            None => {
                let message = "`max_percent` must be a number from 0 to 100".to_owned();
                self.error(value.span(), message, None);
                None
            }
        }
    }

    fn globs(&mut self, table: &DeTable<'_>, key: &str, is_path: bool) -> Vec<Glob> {
        let Some(value) = table.get(key) else {
            return Vec::new();
        };
        let mut globs = Vec::new();
        for (text, span) in self.strings(value, key) {
            // `*` stays within one path segment of a repository, as in a shell.
            let built = GlobBuilder::new(&text).literal_separator(is_path).build();
            match built {
                Ok(glob) => globs.push(Glob {
                    matcher: glob.compile_matcher(),
                    text,
                }),
                Err(error) => {
                    let message = format!("bad glob {text:?} in `{key}`: {}", error.kind());
                    self.error(span, message, None);
                }
            }
        }
        globs
    }

    fn labels(&mut self, table: &DeTable<'_>) -> Vec<LabelSelector> {
        let Some(value) = table.get("labels") else {
            return Vec::new();
        };
        let mut labels = Vec::new();
        for (text, span) in self.strings(value, "labels") {
            match label_selector(&text) {
                Some(label) => labels.push(label),
                None => {
                    let message = format!("bad label test {text:?}");
                    let suggestion = "write key, key=value or key!=value";
                    self.error(span, message, Some(suggestion.to_owned()));
                }
            }
        }
        labels
    }

    fn version_range(&mut self, table: &DeTable<'_>) -> Option<VersionRange> {
        let (text, span) = self.string(table.get("version")?, "version")?;
        let text = text.to_owned();
        if let Some(bare) = text
            .split(',')
            .map(str::trim)
            .find(|c| c.starts_with(|ch: char| ch.is_ascii_digit()))
        {
            // semver reads a bare `1.22` as `^1.22` (every 1.x from 1.22 on), which is rarely
            // what a person writing a tag means.
            let message = format!("version range {text:?} has no operator before {bare:?}");
            let suggestion =
                format!("write \"={bare}\" for that line only, or \">={bare}\" for it and newer");
            self.error(span, message, Some(suggestion));
            return None;
        }
        match semver::VersionReq::parse(&text) {
            Ok(req) => Some(VersionRange { text, req }),
            Err(error) => {
                let suggestion = "write comparators separated by commas: \">=1.21, <1.23\"";
                self.error(
                    span,
                    format!("bad version range {text:?}: {error}"),
                    Some(suggestion.to_owned()),
                );
                None
            }
        }
    }

    fn duration(&mut self, table: &DeTable<'_>, key: &str) -> Option<Duration> {
        let (text, span) = self.string(table.get(key)?, key)?;
        let nanos = crate::engine_time::parse_duration(text).filter(|n| *n > 0);
        match nanos {
            Some(nanos) => Some(Duration {
                delta: TimeDelta::nanoseconds(nanos),
            }),
            None => {
                let message = format!("bad duration {text:?} in `{key}`");
                let suggestion = "write a positive number and a unit: 90m, 72h, 7d, 2w, 1h30m";
                self.error(span, message, Some(suggestion.to_owned()));
                None
            }
        }
    }

    fn size(&mut self, table: &DeTable<'_>, key: &str) -> Option<u64> {
        let value = table.get(key)?;
        if let DeValue::Integer(integer) = value.get_ref() {
            return match u64::from_str_radix(integer.as_str(), integer.radix()) {
                Ok(bytes) => Some(bytes),
                Err(_) => {
                    self.error(value.span(), format!("`{key}` must not be negative"), None);
                    None
                }
            };
        }
        let (text, span) = self.string(value, key)?;
        match text.trim().parse::<bytesize::ByteSize>() {
            Ok(size) => Some(size.as_u64()),
            Err(_) => {
                let message = format!("bad size {text:?} in `{key}`");
                let suggestion =
                    "write a number and a unit: 500MB, 1.2GB, 2GiB, or bytes as an integer";
                self.error(span, message, Some(suggestion.to_owned()));
                None
            }
        }
    }

    fn timestamp(&mut self, table: &DeTable<'_>, key: &str) -> Option<Timestamp> {
        let value = table.get(key)?;
        let text = match value.get_ref() {
            DeValue::Datetime(datetime) => datetime.to_string(),
            DeValue::String(text) => text.to_string(),
            other => {
                self.wrong_type(value, key, "a date or date-time", other);
                return None;
            }
        };
        let parsed = parse_timestamp(&text);
        if parsed.is_none() {
            let message = format!("bad date {text:?} in `{key}`");
            let suggestion =
                "write 2024-05-01 or 2024-05-01T12:00:00Z (times without a zone are UTC)";
            self.error(value.span(), message, Some(suggestion.to_owned()));
        }
        parsed
    }
}

/// RFC 3339, a date-time without zone (UTC) or a date (midnight UTC).
fn parse_timestamp(text: &str) -> Option<Timestamp> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(naive.and_utc());
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

fn label_selector(text: &str) -> Option<LabelSelector> {
    let (key, value, negated) = match text.split_once("!=") {
        Some((key, value)) => (key, Some(value), true),
        None => match text.split_once('=') {
            Some((key, value)) => (key, Some(value), false),
            None => (text, None, false),
        },
    };
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    let key = key.to_owned();
    Some(match (value, negated) {
        (None, _) => LabelSelector::Present { key },
        (Some(value), false) => LabelSelector::Equals {
            key,
            value: value.to_owned(),
        },
        (Some(value), true) => LabelSelector::NotEquals {
            key,
            value: value.to_owned(),
        },
    })
}

/// The fix for an unknown key: a synonym, the closest known key, a misplaced top-level key,
/// or the list of known keys.
fn suggest_key(name: &str, known: &[&str], place: &str) -> String {
    if let Some((_, key)) = SYNONYMS
        .iter()
        .find(|(word, key)| *word == name && known.contains(key))
    {
        return format!("did you mean `{key}`?");
    }
    if let Some(near) = closest(name, known) {
        return format!("did you mean `{near}`?");
    }
    if place != "the top level" && TOP_KEYS.contains(&name) {
        return format!(
            "`{name}` is a top-level key, but TOML puts every key after a [section] header in \
             that section: move it above the first [section]"
        );
    }
    if name == "space" || name == "watermarks" {
        return "space targets (watermarks) are not supported yet".to_owned();
    }
    format!("known keys here: {}", known.join(", "))
}

/// The known word nearest to `word`, when it is near enough to be a typo.
fn closest<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = (word.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (edit_distance(word, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("label", "labels"), 1);
        assert_eq!(edit_distance("reposit0ry", "repository"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("unsued_for", "unused_for"), 2);
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("a\nbé c", 6), (2, 4));
        assert_eq!(line_column("abc", 0), (1, 1));
    }

    #[test]
    fn label_tests_parse() {
        assert_eq!(
            label_selector("ci.job.id"),
            Some(LabelSelector::Present {
                key: "ci.job.id".into()
            })
        );
        assert_eq!(
            label_selector("tier!=base"),
            Some(LabelSelector::NotEquals {
                key: "tier".into(),
                value: "base".into()
            })
        );
        assert_eq!(label_selector("=x"), None);
    }
}
