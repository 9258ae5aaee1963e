use crate::support::{dassl, ok, stderr};

/// The exact registry contents: a plugin crate the binary does not reference would be
/// dropped by the linker and its names would silently vanish from these lists.
#[test]
fn registries_hold_exactly_the_plugins() {
    insta::assert_snapshot!("trainers", ok(&dassl(&["list", "trainers"])));
    insta::assert_snapshot!("backbones", ok(&dassl(&["list", "backbones"])));
    insta::assert_snapshot!("evaluators", ok(&dassl(&["list", "evaluators"])));
    insta::assert_snapshot!("datasets", ok(&dassl(&["list", "datasets"])));
}

#[test]
fn unknown_list_kind_is_a_usage_error() {
    let o = dassl(&["list", "trainer"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("trainers"), "{}", stderr(&o));
}

#[test]
fn doctor_reports_the_toolchain() {
    let out = ok(&dassl(&["doctor"]));
    for needle in [
        "dassl 0.1.0",
        "libtorch 2.11.0",
        "libtorch_cuda loaded:",
        "CUDA available:",
        "cuDNN available:",
        "torch threads:",
        "CLIP weights cache:",
    ] {
        assert!(
            out.contains(needle),
            "doctor output lacks {needle:?}:\n{out}"
        );
    }
    // The venv's torch is a CUDA build: the binary must keep libtorch_cuda linked.
    assert!(out.contains("libtorch_cuda loaded: yes"), "{out}");
}
