//! What several benchmarks share (a folder, so cargo does not take it for a benchmark).

/// The process's peak resident set (VmHWM), in KiB; 0 where /proc is not there (not Linux).
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
