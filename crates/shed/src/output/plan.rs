//! `shed plan` as a person reads it: what goes, what stays, why, and what it frees.
//!
//! The whole plan fits one screen for the common case: one row per action, then the kept
//! images (the first few, unless `--verbose`), then one line of totals.

use shed_core::decide::Reason;
use shed_core::plan::{Action, ActionKind, Kept, Plan};

use super::table::Table;
use super::units::{age, size};

/// How many kept images the table lists before it summarizes the rest.
const KEPT_ROWS: usize = 12;

/// Renders a plan as text. `verbose` lists every kept image.
pub fn render(plan: &Plan, verbose: bool) -> String {
    let mut out = format!(
        "Plan for {} on engine {} ({} store), as of {}\n\n",
        plan.selection,
        plan.engine.version,
        store_name(plan),
        plan.now.format("%Y-%m-%d %H:%M:%S UTC"),
    );

    if plan.actions.is_empty() {
        out.push_str("Nothing to remove.\n\n");
    } else {
        out.push_str(&actions_table(plan).render());
        out.push('\n');
    }

    if !plan.kept.is_empty() {
        out.push_str(&kept_table(plan, verbose));
        out.push('\n');
    }

    out.push_str(&totals_line(plan));
    out
}

fn store_name(plan: &Plan) -> &'static str {
    match plan.engine.image_store {
        shed_core::inventory::ImageStore::Classic => "classic",
        shed_core::inventory::ImageStore::Containerd => "containerd",
    }
}

fn actions_table(plan: &Plan) -> Table {
    let mut table = Table::new(&[
        "ACTION",
        "IMAGE ID",
        "REFERENCES",
        "CREATED",
        "SIZE",
        "FREES",
        "REASON",
    ]);
    for action in &plan.actions {
        table.row(vec![
            action.kind.as_str().to_owned(),
            action.image_id.short().to_owned(),
            references_cell(action),
            age(action.created, plan.now),
            size(action.size),
            size(action.bytes),
            reasons_cell(&action.reasons),
        ]);
    }
    table
}

fn references_cell(action: &Action) -> String {
    list_cell(&action.references)
}

/// How many names a table cell lists before it counts the rest.
const NAMES_PER_CELL: usize = 3;

/// Names joined for a table cell: `<none>` for none, the first few and `+N more` for many, so
/// that one image with twenty tags does not widen the whole table. (`+1 more` would take the
/// room of the name it hides, so one name over the limit is shown.)
pub fn list_cell(names: &[String]) -> String {
    match names.len() {
        0 => "<none>".to_owned(),
        n if n <= NAMES_PER_CELL + 1 => names.join(", "),
        n => format!(
            "{}, +{} more",
            names[..NAMES_PER_CELL].join(", "),
            n - NAMES_PER_CELL
        ),
    }
}

/// Reasons joined into one clause list: `in use by running container web; has tags`.
pub fn reasons_cell(reasons: &[Reason]) -> String {
    let texts: Vec<String> = reasons.iter().map(Reason::to_string).collect();
    texts.join("; ")
}

/// Kept images that a person looks for come first: tagged or in use. Untagged intermediate
/// images (the classic builder's steps) are many and say little, so without `--verbose` they
/// are counted in one line.
fn kept_table(plan: &Plan, verbose: bool) -> String {
    let (named, intermediate): (Vec<&Kept>, Vec<&Kept>) = plan
        .kept
        .iter()
        .partition(|kept| !kept.tags.is_empty() || is_in_use(kept));
    let mut rows = named;
    if verbose {
        rows.extend(&intermediate);
    }
    let shown = if verbose {
        rows.len()
    } else {
        rows.len().min(KEPT_ROWS)
    };

    let mut table = Table::new(&["KEEP IMAGE", "TAGS", "SIZE", "REASON"]);
    for kept in &rows[..shown] {
        let tags = list_cell(&kept.tags);
        table.row(vec![
            kept.image_id.short().to_owned(),
            tags,
            size(kept.size),
            reasons_cell(&kept.reasons),
        ]);
    }
    let mut out = if table.is_empty() {
        String::new()
    } else {
        table.render()
    };
    let hidden = rows.len() - shown;
    if hidden > 0 {
        out.push_str(&format!(
            "… and {hidden} more kept images (--verbose lists them all)\n"
        ));
    }
    if !verbose && !intermediate.is_empty() {
        out.push_str(&format!(
            "… and {} untagged intermediate {} that kept images are built on \
             (--verbose lists them)\n",
            intermediate.len(),
            plural(intermediate.len(), "image", "images"),
        ));
    }
    out
}

fn is_in_use(kept: &Kept) -> bool {
    kept.reasons
        .iter()
        .any(|reason| matches!(reason, Reason::InUse { .. }))
}

fn totals_line(plan: &Plan) -> String {
    let totals = &plan.totals;
    let untag_only = plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Untag)
        .count();
    let mut parts = vec![format!(
        "delete {} {}",
        totals.images_deleted,
        plural(totals.images_deleted, "image", "images")
    )];
    if untag_only > 0 {
        parts.push(format!(
            "untag {untag_only} {}",
            plural(untag_only, "image", "images")
        ));
    }
    format!(
        "Total: {}, removing {} {}, frees {}. Keep {} {}.\n",
        parts.join(", "),
        totals.references_removed,
        plural(totals.references_removed, "reference", "references"),
        size(totals.bytes),
        totals.images_kept,
        plural(totals.images_kept, "image", "images"),
    )
}

fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_name_lists_are_counted_not_spelled_out() {
        let names = |n: usize| (0..n).map(|i| format!("app:{i}")).collect::<Vec<_>>();
        assert_eq!(list_cell(&[]), "<none>");
        assert_eq!(list_cell(&names(4)), "app:0, app:1, app:2, app:3");
        assert_eq!(list_cell(&names(5)), "app:0, app:1, app:2, +2 more");
    }
}
