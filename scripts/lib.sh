# Sourced by the scripts in this folder (from the repository root): libtorch set up, the release
# binary built (extra cargo flags, e.g. `--example replay_pcap`, are passed on), BIN set.
# FLOWCONX_BIN points BIN at another binary; CARGO_TARGET_DIR is honoured.
build_release() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
    bash scripts/setup-libtorch.sh
    cargo build --release --quiet --bin flowconx "$@"
    BIN="${FLOWCONX_BIN:-$CARGO_TARGET_DIR/release/flowconx}"
}
