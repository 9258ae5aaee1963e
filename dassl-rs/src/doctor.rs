//! `dassl doctor`: what this build links and sees, for bug reports and GPU checks.

use std::fmt::Write as _;

/// The libtorch this build links: torch-sys 0.24 refuses to build against anything but
/// 2.11.0 (its version check), so the linked version is known at compile time.
pub const LIBTORCH_VERSION: &str = "2.11.0";

/// The report as printed.
pub fn report() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "dassl {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(s, "libtorch {LIBTORCH_VERSION} (tch 0.24)");
    // A dropped libtorch_cuda (linker --as-needed) is the classic reason for "no CUDA".
    let _ = writeln!(
        s,
        "libtorch_cuda loaded: {}",
        yes_no(libtorch_cuda_loaded())
    );
    let available = tch::Cuda::is_available();
    let count = tch::Cuda::device_count();
    let _ = writeln!(
        s,
        "CUDA available: {} ({} device{})",
        yes_no(available),
        count,
        if count == 1 { "" } else { "s" }
    );
    if available {
        for (i, name) in gpu_names().iter().enumerate() {
            let _ = writeln!(s, "  cuda:{i} {name}");
        }
        let _ = writeln!(s, "CUDA runtime version: {}", tch::utils::version_cudart());
    }
    let cudnn = tch::Cuda::cudnn_is_available();
    let _ = write!(s, "cuDNN available: {}", yes_no(cudnn));
    if cudnn {
        let _ = write!(s, " (version {})", tch::utils::version_cudnn());
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "torch threads: {} (interop {})",
        tch::get_num_threads(),
        tch::utils::get_num_interop_threads()
    );
    let _ = writeln!(
        s,
        "CPU cores: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let _ = writeln!(
        s,
        "MKL: {}, OpenMP: {}",
        yes_no(tch::utils::has_mkl()),
        yes_no(tch::utils::has_openmp())
    );
    let cache = crate::clip::cache_dir();
    let _ = writeln!(
        s,
        "CLIP weights cache: {} ({})",
        cache.display(),
        if cache.is_dir() {
            "exists"
        } else {
            "not created yet"
        }
    );
    s
}

/// Whether the process mapped libtorch_cuda.so (Linux; elsewhere reports false).
pub fn libtorch_cuda_loaded() -> bool {
    std::fs::read_to_string("/proc/self/maps").is_ok_and(|m| m.contains("libtorch_cuda.so"))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// tch exposes no device-name query, so ask the driver's tool; absent names are "unknown".
fn gpu_names() -> Vec<String> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader"])
        .output();
    let names: Vec<String> = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    // nvidia-smi lists every GPU; torch sees those CUDA_VISIBLE_DEVICES selects, in its order.
    let visible: Option<Vec<usize>> = std::env::var("CUDA_VISIBLE_DEVICES")
        .ok()
        .map(|v| v.split(',').filter_map(|i| i.trim().parse().ok()).collect());
    let count = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
    (0..count)
        .map(|i| {
            let physical = visible
                .as_ref()
                .and_then(|v| v.get(i).copied())
                .unwrap_or(i);
            names
                .get(physical)
                .cloned()
                .unwrap_or_else(|| "unknown".into())
        })
        .collect()
}
