//! Shared build script of every package that links an executable (binary or test binary).
//!
//! `rustc-link-arg` from torch-sys does not reach dependents, so each such package repeats
//! what tch's own build.rs does: an rpath to libtorch (binaries run without LD_LIBRARY_PATH)
//! and `--no-as-needed -ltorch`, which keeps libtorch_cuda linked so CUDA is seen at run time.
//! `DEP_TCH_LIBTORCH_LIB` only reaches direct dependents of torch-sys, hence the direct
//! torch-sys dependency in each package that uses this script.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" && os != "windows" {
        return;
    }
    if let Ok(lib_dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath={lib_dir}");
    }
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
}
