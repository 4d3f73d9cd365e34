//! Facts about the linked libtorch, for `--version` and checkpoints.

/// libtorch version this binary was built against (tch 0.26 requires 2.13.0).
pub const LIBTORCH_VERSION: &str = "2.13.0";

pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}

pub fn mps_available() -> bool {
    tch::utils::has_mps()
}

/// One line for `flowconx --version`.
pub fn version_line() -> String {
    format!(
        "flowconx {} (libtorch {}, cuda: {}, mps: {})",
        env!("CARGO_PKG_VERSION"),
        LIBTORCH_VERSION,
        if cuda_available() { format!("yes, {} device(s)", tch::Cuda::device_count()) } else { "no".into() },
        if mps_available() { "yes" } else { "no" }
    )
}

/// End the process now, after flushing stdout and stderr, without running the C++ static
/// destructors of the linked libtorch (they take about 0.1 s at every exit) or freeing what the
/// command still holds. Only for commands that never touched libtorch and whose work is done
/// (output committed, summary printed).
pub fn exit_without_destructors(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    extern "C" {
        fn _exit(code: i32) -> !;
    }
    // SAFETY: POSIX `_exit` takes no pointers and ends the process; nothing of ours needs teardown.
    unsafe { _exit(code) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn libtorch_is_linked_and_computes() {
        let t = tch::Tensor::from_slice(&[1.0f64, 2.0, 3.0]);
        let s = (&t * &t).sum(tch::Kind::Double).double_value(&[]);
        assert_eq!(s, 14.0);
    }
}
