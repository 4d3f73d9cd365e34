#!/usr/bin/env bash
# Fetch libtorch 2.13.0 (the version tch 0.26 needs) from the PyPI wheel `torch==2.13.0`
# into a cache outside the clone, and point cargo at it through .cargo/config.toml.
#
# Only the CPU part of the wheel is unpacked (headers, libtorch_cpu, libc10, libtorch, libgomp)
# plus the two CUDA runtime libraries libtorch_cpu is linked against (cudart, cupti).
# The ~3 GB of other CUDA wheels torch depends on are not fetched (`--no-deps`).
#
# Env:
#   FLOWCONX_CACHE   cache root (default ${XDG_CACHE_HOME:-~/.cache}/flowconx)
#   LIBTORCH / LIBTORCH_USE_PYTORCH   if set, they win: cargo's [env] never overrides them.
set -euo pipefail

TORCH_VERSION=2.13.0
CUDART_VERSION=13.0.96
CUPTI_VERSION=13.0.85
CACHE="${FLOWCONX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flowconx}"
DEST="$CACHE/libtorch-$TORCH_VERSION-cpu"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIG="$REPO/.cargo/config.toml"

write_config() {
    mkdir -p "$REPO/.cargo"
    local tmp="$CONFIG.tmp.$$"
    cat >"$tmp" <<TOML
# Written by scripts/setup-libtorch.sh (git-ignored). A LIBTORCH or LIBTORCH_USE_PYTORCH
# set in the environment wins over this value.
[env]
LIBTORCH = "$DEST"
TOML
    mv -f "$tmp" "$CONFIG"
}

if [[ -f "$DEST/.complete" ]]; then
    # Fast path: already unpacked; only make sure cargo points at it.
    if ! grep -qF "$DEST" "$CONFIG" 2>/dev/null; then write_config; fi
    echo "libtorch $TORCH_VERSION ready at $DEST" >&2
    exit 0
fi

PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || { echo "setup-libtorch: python3 with pip is required" >&2; exit 1; }

WHEELS="$CACHE/wheels"
mkdir -p "$WHEELS"
echo "setup-libtorch: fetching torch==$TORCH_VERSION wheel (~530 MB) and CUDA runtime/CUPTI wheels (~13 MB) with pip" >&2
# The platform/ABI are fixed so the same files are fetched whatever the local Python is:
# the libtorch inside is identical across the cp3xx wheels.
"$PY" -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_25_x86_64 --platform manylinux_2_17_x86_64 \
    -d "$WHEELS" \
    "torch==$TORCH_VERSION" "nvidia-cuda-runtime==$CUDART_VERSION" "nvidia-cuda-cupti==$CUPTI_VERSION"

STAGE="$(mktemp -d "$CACHE/.stage.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
"$PY" - "$WHEELS" "$STAGE" "$TORCH_VERSION" <<'PYEOF'
import os, sys, zipfile, glob, shutil
wheels, stage, version = sys.argv[1:4]
lib = os.path.join(stage, "lib"); os.makedirs(lib)
torch_whl = glob.glob(os.path.join(wheels, f"torch-{version}-*.whl"))[0]
keep_libs = {"libtorch_cpu.so", "libc10.so", "libtorch.so", "libgomp.so.1"}
with zipfile.ZipFile(torch_whl) as z:
    for info in z.infolist():
        name = info.filename
        if name.startswith("torch/include/") or name.startswith("torch/share/cmake/"):
            out = os.path.join(stage, name[len("torch/"):])
        elif name.startswith("torch/lib/") and os.path.basename(name) in keep_libs:
            out = os.path.join(lib, os.path.basename(name))
        else:
            continue
        if name.endswith("/"):
            continue
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(info) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
for pattern, soname in (("nvidia_cuda_runtime-*.whl", "libcudart.so.13"), ("nvidia_cuda_cupti-*.whl", "libcupti.so.13")):
    whl = glob.glob(os.path.join(wheels, pattern))[0]
    with zipfile.ZipFile(whl) as z:
        member = next(n for n in z.namelist() if n.endswith("/" + soname))
        with z.open(member) as src, open(os.path.join(lib, soname), "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
# libtorch links `-lgomp`; give the linker an unversioned name for the bundled copy.
os.symlink("libgomp.so.1", os.path.join(lib, "libgomp.so"))
with open(os.path.join(stage, "build-version"), "w") as f:
    f.write(version + "\n")
PYEOF
touch "$STAGE/.complete"
rm -rf "$DEST"
mv "$STAGE" "$DEST"
trap - EXIT
# The wheels are no longer needed once unpacked.
rm -f "$WHEELS"/torch-"$TORCH_VERSION"-*.whl "$WHEELS"/nvidia_cuda_*.whl
write_config
echo "libtorch $TORCH_VERSION unpacked to $DEST ($(du -sh "$DEST" | cut -f1))" >&2
