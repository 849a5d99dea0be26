//! Rules that can never match: an earlier rule matches everything they would.
//!
//! Because the first matching rule decides, a rule placed after a broader one is dead text, and
//! usually a mistake in the order. The test is conservative: it reports a rule only when every
//! selector of the earlier rule is implied by the later rule's selectors, so it never reports a
//! rule that can match, though it may miss some that cannot (two globs that overlap only in
//! effect, say).

use super::{Action, Glob, Policy, Rule, Selector};

/// A rule that can never match, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreachable {
    /// The index of the unreachable rule in [`Policy::rules`].
    pub rule: usize,
    pub message: String,
    pub suggestion: String,
}

/// Every rule that an earlier rule shadows, naming the first such earlier rule.
pub(crate) fn unreachable_rules(policy: &Policy) -> Vec<Unreachable> {
    let mut found = Vec::new();
    for (n, later) in policy.rules.iter().enumerate() {
        let Some(earlier) = policy.rules[..n].iter().find(|e| covers(e, later)) else {
            continue;
        };
        found.push(Unreachable {
            rule: n,
            message: format!(
                "rule {:?} can never match: rule {:?} (line {}) comes first and matches \
                 everything it would",
                later.name, earlier.name, earlier.line
            ),
            suggestion: format!(
                "move rule {:?} above rule {:?}, or narrow rule {:?}",
                later.name, earlier.name, earlier.name
            ),
        });
    }
    found
}

/// Whether `earlier` matches every subject that `later` matches.
fn covers(earlier: &Rule, later: &Rule) -> bool {
    if needs_version(earlier) && !needs_version(later) {
        return false;
    }
    if needs_tag(earlier) && !needs_tag(later) {
        return false;
    }
    let (e, l) = (&earlier.selector, &later.selector);
    globs_cover(&e.repository, &l.repository)
        && globs_cover(&e.tag, &l.tag)
        && globs_cover(&e.variant, &l.variant)
        && e.version
            .as_ref()
            .is_none_or(|ev| l.version.as_ref().is_some_and(|lv| lv.text == ev.text))
        && e.labels.iter().all(|label| l.labels.contains(label))
        && e.dangling.is_none_or(|d| l.dangling == Some(d))
        && image_bounds_cover(e, l)
}

/// Whether a rule matches only tags that are versions.
fn needs_version(rule: &Rule) -> bool {
    let ranks_versions = matches!(&rule.action, Action::Retain(r) if r.needs_version());
    ranks_versions || rule.selector.version.is_some() || !rule.selector.variant.is_empty()
}

/// Whether a rule matches only tags, never an image without tags.
fn needs_tag(rule: &Rule) -> bool {
    matches!(rule.action, Action::Retain(_)) || !rule.selector.tag.is_empty() || needs_version(rule)
}

/// Whether the earlier rule's time and size bounds are at most as strict as the later's.
fn image_bounds_cover(e: &Selector, l: &Selector) -> bool {
    fn at_least<T: PartialOrd + Copy>(earlier: Option<T>, later: Option<T>) -> bool {
        earlier.is_none_or(|e| later.is_some_and(|l| l >= e))
    }
    fn at_most<T: PartialOrd + Copy>(earlier: Option<T>, later: Option<T>) -> bool {
        earlier.is_none_or(|e| later.is_some_and(|l| l <= e))
    }
    at_least(e.older_than, l.older_than)
        && at_least(e.unused_for, l.unused_for)
        && at_most(e.created_before, l.created_before)
        && at_least(e.created_after, l.created_after)
        && at_least(e.larger_than, l.larger_than)
        && at_most(e.smaller_than, l.smaller_than)
}

/// Whether every text the later globs match is matched by an earlier glob. No earlier globs
/// match everything; no later globs (but some earlier ones) are not covered.
fn globs_cover(earlier: &[Glob], later: &[Glob]) -> bool {
    if earlier.is_empty() {
        return true;
    }
    if later.is_empty() {
        return false;
    }
    later.iter().all(|l| {
        earlier.iter().any(|e| {
            // `*` crosses no `/`, and tags and variants have none.
            let star_covers = e.text == "*" && !l.text.contains('/');
            e.text == l.text
                || e.text == "**"
                || star_covers
                || (is_literal(&l.text) && e.is_match(&l.text))
        })
    })
}

fn is_literal(glob: &str) -> bool {
    !glob.contains(['*', '?', '[', ']', '{', '}', '\\'])
}
