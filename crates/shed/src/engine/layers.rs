//! Per-layer sizes, derived from the image history endpoint.
//!
//! The engine reports an image's layers (`RootFS.Layers`, diff IDs, bottom first) and its build
//! history (`/images/{id}/history`, newest first), but no size per diff ID. Each history step
//! that created a layer has `Size` = that layer's diff size; steps that only changed metadata
//! (the classic builder's `empty_layer` steps) have size 0, and the API does not say which steps
//! those are. So, with the history turned oldest first:
//!
//! 1. When there are as many steps as layers, step *n* is layer *n*.
//! 2. Otherwise the size-0 steps whose `CreatedBy` is a metadata instruction are dropped (the
//!    classic builder's `#(nop) ` steps other than COPY and ADD; BuildKit's ENV, LABEL, CMD,
//!    ENTRYPOINT, EXPOSE, USER, ARG, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD,
//!    MAINTAINER and WORKDIR), and if the counts then match, the remaining steps map one to one.
//! 3. Otherwise the steps with a non-zero size map to the layers in order, and the layers left
//!    over get size 0.
//!
//! The caller checks the result: the layer sizes of an image add up to the engine's `Size` for
//! it, and a mismatch is logged with the image ID.

/// One step of an image's history, as far as layer sizes need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryStep {
    /// The step's command (`/bin/sh -c #(nop)  CMD ["sh"]`, `ENV A=b`, `RUN … # buildkit`).
    pub created_by: String,
    /// The size the engine reports for the step; 0 for metadata steps.
    pub size: u64,
}

/// Instructions BuildKit records in `CreatedBy` without creating a layer.
const METADATA_INSTRUCTIONS: [&str; 14] = [
    "ENV",
    "LABEL",
    "CMD",
    "ENTRYPOINT",
    "EXPOSE",
    "USER",
    "ARG",
    "VOLUME",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "ONBUILD",
    "MAINTAINER",
    "WORKDIR",
];

/// The size of each of `layer_count` layers, bottom first, from the history `steps`, oldest
/// first. See the module documentation for the rules.
pub fn align_layer_sizes(steps: &[HistoryStep], layer_count: usize) -> Vec<u64> {
    if steps.len() == layer_count {
        return steps.iter().map(|step| step.size).collect();
    }
    let layer_steps: Vec<u64> = steps
        .iter()
        .filter(|step| step.size != 0 || !is_metadata_step(&step.created_by))
        .map(|step| step.size)
        .collect();
    if layer_steps.len() == layer_count {
        return layer_steps;
    }
    let mut sizes: Vec<u64> = steps
        .iter()
        .map(|step| step.size)
        .filter(|&size| size != 0)
        .take(layer_count)
        .collect();
    sizes.resize(layer_count, 0);
    sizes
}

/// Whether a history step's `CreatedBy` is a metadata instruction, which makes no layer.
pub fn is_metadata_step(created_by: &str) -> bool {
    // The classic builder: `/bin/sh -c #(nop) <INSTRUCTION> …`; COPY and ADD make layers.
    if let Some((_, rest)) = created_by.split_once("#(nop) ") {
        let instruction = first_word(rest);
        return !instruction.eq_ignore_ascii_case("COPY")
            && !instruction.eq_ignore_ascii_case("ADD");
    }
    let instruction = first_word(created_by);
    METADATA_INSTRUCTIONS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(instruction))
}

fn first_word(text: &str) -> &str {
    text.split_whitespace().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(created_by: &str, size: u64) -> HistoryStep {
        HistoryStep {
            created_by: created_by.to_owned(),
            size,
        }
    }

    #[test]
    fn equal_counts_map_one_to_one() {
        let steps = [step("", 1000), step("RUN true # buildkit", 0)];
        assert_eq!(align_layer_sizes(&steps, 2), vec![1000, 0]);
    }

    #[test]
    fn classic_builder_nop_steps_are_dropped_but_copy_is_kept() {
        let steps = [
            step("/bin/sh -c #(nop) ADD file:abc in / ", 5000),
            step("/bin/sh -c #(nop)  CMD [\"sh\"]", 0),
            step("/bin/sh -c #(nop) COPY file:def in /empty ", 0),
            step("/bin/sh -c #(nop)  LABEL a=b", 0),
            step("/bin/sh -c echo hi > /x", 3),
        ];
        assert_eq!(align_layer_sizes(&steps, 3), vec![5000, 0, 3]);
    }

    #[test]
    fn buildkit_metadata_steps_are_dropped() {
        let steps = [
            step("", 700),
            step("ENV PATH=/bin", 0),
            step("WORKDIR /app", 0),
            step("RUN /bin/sh -c touch /a # buildkit", 0),
            step("COPY x /x # buildkit", 12),
            step("CMD [\"/x\"]", 0),
        ];
        assert_eq!(align_layer_sizes(&steps, 3), vec![700, 0, 12]);
    }

    #[test]
    fn unmatched_counts_fall_back_to_non_zero_steps_in_order() {
        // Two zero-size RUN steps but only one extra layer: the counts never match.
        let steps = [
            step("", 10),
            step("RUN a", 0),
            step("RUN b", 0),
            step("RUN c", 20),
        ];
        assert_eq!(align_layer_sizes(&steps, 3), vec![10, 20, 0]);
    }

    #[test]
    fn metadata_detection_reads_the_instruction() {
        assert!(is_metadata_step("/bin/sh -c #(nop)  ENV A=1"));
        assert!(is_metadata_step("|1 X=2 /bin/sh -c #(nop) WORKDIR /w"));
        assert!(!is_metadata_step("/bin/sh -c #(nop) ADD dir:1 in /"));
        assert!(is_metadata_step("EXPOSE map[80/tcp:{}]"));
        assert!(!is_metadata_step("RUN /bin/sh -c make # buildkit"));
        assert!(!is_metadata_step(""));
    }
}
