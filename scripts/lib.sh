# Sourced by the scripts in this folder (from the repository root): libtorch set up, the release
# binary built (extra cargo flags, e.g. `--example replay_pcap`, are passed on), BIN set.
# FLOWCONX_BIN points BIN at another binary; CARGO_TARGET_DIR is honoured.
build_release() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
    bash scripts/setup-libtorch.sh
    cargo build --release --quiet --bin flowconx "$@"
    BIN="${FLOWCONX_BIN:-$CARGO_TARGET_DIR/release/flowconx}"
}

# One line naming the machine a benchmark ran on: timings differ by CPU (sessions 1-12 ran on an
# AMD EPYC with AVX2, session 13 on an Intel Xeon with AVX-512), so every bench prints it.
machine_line() {
    local model isa
    model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
    isa=$(grep -m1 -o -w -E 'avx512f|avx2' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')
    echo "machine: ${model:-unknown CPU}, $(nproc) cores, ${isa:-no AVX }($(date -u +"%Y-%m-%d %H:%M UTC"))"
}
