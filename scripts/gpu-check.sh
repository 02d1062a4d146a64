#!/usr/bin/env bash
# GPU check for a lent device machine (one NVIDIA H200, x86-64, no network).
#   bash scripts/gpu-check.sh prepare   here: fill .gpu-check/ (binary.xz, .debs, runner)
#   bash .gpu-check/on-device.sh        there (repo root, `.gpu-check` in carry): benches → $OUT/gpu-report.json
#   bash scripts/gpu-check.sh rehearse  here: the device part on lavapipe, small sizes, nothing unpacked
# Only bash, coreutils, xz, python3 (apt-get/strip for prepare). See /work/.library/device/README.md.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GC=$REPO/.gpu-check
BIN=${CARGO_TARGET_DIR:-$HOME/.cache/closure-lab/target}/release/closure-lab
MODE=${1:-}; [ -z "$MODE" ] && [ "$(basename "$0")" = on-device.sh ] && MODE=device

# Loaders the device README unpacks into / (its tested recipe); everything else is only *added* to /.
LOADERS="libvulkan1 libegl1 libglvnd0 libgl1 libglx0 libopengl0 libgles2"
EXTRA="xvfb xserver-common xauth x11-xkb-utils xkb-data libxfont2 libfontenc1 libxkbfile1 libpixman-1-0
  libxkbcommon-x11-0 libxkbcommon0 libxcursor1 libxrandr2 libxi6 libx11-6 libx11-xcb1 libxcb1 libxext6
  libxrender1 libxfixes3 libxau6 libxdmcp6 libwayland-client0"
# Never carried: base libraries every Debian/Ubuntu image has, and Mesa (Xvfb runs without its GLX;
# libllvm15 & co. alone are ~40 MiB; the device needs NVIDIA's driver, not Mesa's).
SKIP="libc6 libgcc-s1 libstdc++6 gcc-12-base zlib1g libzstd1 liblzma5 libbz2-1.0 libselinux1 libpcre2-8-0
  libcrypt1 libtinfo6 libsystemd0 libelogind0 libaudit1 libaudit-common libcap-ng0 libcap2 libgcrypt20
  libgpg-error0 libssl3 libgnutls30 libhogweed6 libnettle8 libgmp10 libp11-kit0 libtasn1-6 libidn2-0
  libffi8 liblz4-1 libdb5.3 debconf perl-base dpkg tar libmd0 libacl1 libattr1 libudev1 lsb-base
  sysvinit-utils libcom-err2 libkeyutils1 libuuid1 ucf coreutils sensible-utils
  libegl-mesa0 libglx-mesa0 libgl1-mesa-dri libgbm1 libglapi-mesa mesa-vulkan-drivers libllvm15"

prepare() {
  set -euo pipefail
  local bin=$BIN
  [ -x "$bin" ] || { echo "gpu-check: no release binary at $bin — run \`cargo build --release\` first" >&2; exit 1; }
  cd "$REPO"
  local ex; ex=$(git rev-parse --git-path info/exclude); mkdir -p "$(dirname "$ex")"; touch "$ex"
  for p in /.gpu-check/ /gpu-check-out/; do grep -qxF "$p" "$ex" || echo "$p" >>"$ex"; done
  rm -rf "$GC"; mkdir -p "$GC/gl" "$GC/debs"
  echo "gpu-check: strip + xz $bin"
  PREP_TMP=$(mktemp -d); trap 'rm -rf "$PREP_TMP"' EXIT
  cp "$bin" "$PREP_TMP/closure-lab"; strip "$PREP_TMP/closure-lab" || echo "gpu-check: strip failed, carrying unstripped" >&2
  xz -T2 -6 -c "$PREP_TMP/closure-lab" >"$GC/closure-lab.xz"
  # packages of the libraries the binary links (libhdf5_serial.so.103 → libhdf5-103-1 …)
  local linked="" lib pkg
  for lib in $(ldd "$bin" | awk '$3 ~ /^\//{print $3}'); do
    pkg=$( (dpkg -S "$lib" || dpkg -S "$(readlink -f "$lib")" || dpkg -S "${lib#/usr}") 2>/dev/null | head -1) || true
    [ -n "$pkg" ] && linked+=" ${pkg%%:*}"
  done
  # dependency closure (first alternative of each |-group), minus SKIP, breadth first
  local seen=" $SKIP " todo="$LOADERS $EXTRA $linked" next p all=""
  seen=$(echo $seen | tr '\n' ' '); seen=" $seen "
  while [ -n "${todo// /}" ]; do
    next=""
    for p in $todo; do p=${p%%:*}; case "$seen" in *" $p "*) continue;; esac; seen+="$p "; all+=" $p"; next+=" $p"; done
    [ -z "${next// /}" ] && break
    todo=$({ apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances $next || true; } |
      awk '/^[^ ]/{alt=0; next} /^  \|?(Pre)?Depends: /{ if(!alt && $2 !~ /^</) print $2; alt=($1 ~ /^\|/) }' | sort -u)
  done
  local gl="" other=""
  for p in $all; do case " $LOADERS " in *" $p "*) gl+=" $p";; *) other+=" $p";; esac; done
  echo "gpu-check: apt-get download$gl$other"
  local o=""
  [ "$(uname -m)" = x86_64 ] || o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64"
  dl() { (cd "$GC/gl" && apt-get $o -q download $gl) && (cd "$GC/debs" && apt-get $o -q download $other); }
  if ! dl; then  # stale or missing lists: the README's private-lists update, then again
    o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64"
    mkdir -p /tmp/amd64/partial; apt-get $o -q update; dl
  fi
  cp "${BASH_SOURCE[0]}" "$GC/on-device.sh"
  { echo "binary $(sha256sum "$GC/closure-lab.xz" | cut -c1-16) from $bin"; (cd "$GC" && ls gl debs); } >"$GC/MANIFEST"
  local debs total; debs=$(cat "$GC"/gl/*.deb "$GC"/debs/*.deb | wc -c); total=$(du -sb "$GC" | cut -f1)
  awk -v d="$debs" -v b="$(stat -c%s "$GC/closure-lab.xz")" -v t="$total" 'BEGIN{m=1048576;
    printf "gpu-check: .debs %.1f MiB, closure-lab.xz %.1f MiB, .gpu-check total %.1f MiB\n", d/m, b/m, t/m}'
  [ "$total" -le $((60 * 1048576)) ] || { echo "gpu-check: .gpu-check is over 60 MiB" >&2; exit 1; }
  # what travels = tracked + untracked-not-ignored files + .gpu-check; the device tool's limit is 64 MiB
  local tree; tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
  [ $((tree + total)) -le $((63 * 1048576)) ] || { echo "gpu-check: working tree + .gpu-check = $(((tree + total) >> 20)) MiB, over the 64 MiB the device tool carries" >&2; exit 1; }
}

# ---- device part: every step has a timeout, failures are collected, one JSON report at the end ----
W=""; ERR=""; T0=$SECONDS; BUDGET=480
err() { printf '%s\t%s\n' "$1" "$(printf '%s' "$2" | tr '\t\n' '  ' | tail -c 600)" >>"$ERR"; printf 'gpu-check: ERROR %s: %.600s\n' "$1" "$2"; }
# step NAME LIMIT CMD… → $W/NAME.out / .err; the limit is cut to what is left of BUDGET
step() {
  local name=$1 lim=$2; shift 2
  local left=$((BUDGET - (SECONDS - T0) - 10))
  [ "$left" -lt 15 ] && { err "$name" "skipped: time budget (${BUDGET}s) spent"; return 124; }
  [ "$lim" -gt "$left" ] && lim=$left
  echo "gpu-check: [$((SECONDS - T0))s] $name (≤${lim}s): $*"
  local rc=0; timeout -k 5 "$lim" "$@" >"$W/$name.out" 2>"$W/$name.err" || rc=$?
  [ "$rc" -eq 0 ] || err "$name" "rc=$rc$([ "$rc" -eq 124 ] && echo ' (timeout)'): $(tail -c 400 "$W/$name.err")"
  tail -n 8 "$W/$name.err" | sed 's/^/    stderr| /'  # into the log
  return "$rc"
}

# add every file of a .deb under / that is not already there (never replaces the image's own files)
add_only() {
  local root; root=$(mktemp -d /tmp/gpu-check-root.XXXX)
  for f in "$@"; do dpkg-deb -x "$f" "$root" || err unpack "dpkg-deb -x $f failed"; done
  (cd "$root" && find . -mindepth 1 \( -type f -o -type l \) -printf '%P\n') | while IFS= read -r p; do
    [ -e "/$p" ] || [ -L "/$p" ] || { mkdir -p "$(dirname "/$p")" && cp -a "$root/$p" "/$p"; }
  done
  rm -rf "$root"
}

device() {  # the log goes to $OUT too; the pipeline (not exec > >(tee)) lets tee finish before we exit
  OUT=${OUT:-$REPO/gpu-check-out}; mkdir -p "$OUT"; export OUT
  device_run "$@" 2>&1 | tee -a "$OUT/gpu-check.log"
}
XPID=""
device_run() {
  set -u; local rehearse=${1:-}
  W=$(mktemp -d /tmp/gpu-check-work.XXXX); ERR=$W/errors.tsv; : >"$ERR"
  trap '[ -n "$XPID" ] && kill "$XPID" 2>/dev/null; rm -rf "$W"' EXIT
  # device: full sizes, ≈8 min in all; rehearse: tiny sizes, lavapipe is slow
  local S="64,128,256" B="1,8" SEC=0.3 SOLVER="--seconds 0.25" TRAIN="--seconds 0.5" N=128 ENS=4 FR=300 L=90 LG=60; BUDGET=480
  [ -n "$rehearse" ] && { S=64 B=1 SEC=0.02 SOLVER="--sizes 64 --seconds 0.05" TRAIN="--n 32 --batch 2 --seconds 0.02" N=64 ENS=2 FR=30 L=240 LG=120 BUDGET=900; }
  BUDGET=${GPU_CHECK_BUDGET:-$BUDGET}
  [ -f "$GC/closure-lab.xz" ] || err setup "no $GC/closure-lab.xz: run 'bash scripts/gpu-check.sh prepare' here and carry .gpu-check"
  if [ -z "$rehearse" ] && command -v nvidia-smi >/dev/null; then  # only on the device: loaders into / (README recipe), the rest add-only
    for f in "$GC"/gl/*.deb; do [ -e "$f" ] && { dpkg -x "$f" / || err unpack "dpkg -x $f / failed"; }; done
    add_only "$GC"/debs/*.deb; ldconfig
    for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
      [ -f "$f" ] && { export VK_DRIVER_FILES=$f VK_ICD_FILENAMES=$f; break; }; done
    for f in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
      [ -f "$f" ] && { export __EGL_VENDOR_LIBRARY_FILENAMES=$f; break; }; done
  elif [ -z "$rehearse" ]; then err setup "no nvidia-smi: not the device machine, nothing unpacked into /"; fi
  local CL=/tmp/closure-lab
  { xz -dc "$GC/closure-lab.xz" >"$CL" && chmod +x "$CL"; } || err setup "cannot unpack the binary"
  nvidia-smi >"$W/nvidia_smi.out" 2>&1 || { [ -n "$rehearse" ] || err nvidia-smi "$(tail -c 300 "$W/nvidia_smi.out")"; }
  ldd "$CL" 2>&1 | grep 'not found' >"$W/missing_libs.out" && err ldd "missing: $(tr '\n' ' ' <"$W/missing_libs.out")"
  step version 20 "$CL" --version
  step closure_wgpu "$L" "$CL" bench closure --device wgpu --sizes "$S" --batches "$B" --seconds "$SEC" --json
  step closure_cpu "$L" "$CL" bench closure --device cpu --sizes "$S" --batches "$B" --seconds "$SEC" --json
  step train_wgpu "$LG" "$CL" bench train --device wgpu --json $TRAIN
  step train_cpu "$LG" "$CL" bench train --device cpu --json $TRAIN
  step solver "$LG" "$CL" bench solver --json $SOLVER
  # the window under Xvfb on a free display: Vulkan first, then GL (GLX vendor nvidia where it exists)
  local d=77 glx="" gv on be ok; while [ -e /tmp/.X11-unix/X$d ] || [ -e /tmp/.X$d-lock ]; do d=$((d + 1)); done
  if command -v Xvfb >/dev/null; then
    Xvfb :$d -screen 0 1600x1000x24 -nolisten tcp >"$W/xvfb.log" 2>&1 & XPID=$!
    for _ in $(seq 50); do [ -e /tmp/.X11-unix/X$d ] && break; sleep 0.2; done
    [ -e /tmp/.X11-unix/X$d ] || err xvfb "Xvfb :$d did not start: $(tail -c 300 "$W/xvfb.log")"
  else err xvfb "no Xvfb on PATH"; fi
  ldconfig -p 2>/dev/null | grep -q libGLX_nvidia && glx=nvidia
  for on in gpu cpu; do
    ok=$(cat "$W/gui_gpu.backend" 2>/dev/null)  # the cpu run tries the backend that worked first
    for be in ${ok:-vulkan} $([ "${ok:-vulkan}" = vulkan ] && echo gl || echo vulkan); do
      gv=""; [ "$be" = gl ] && [ -n "$glx" ] && gv="__GLX_VENDOR_LIBRARY_NAME=$glx"
      step "gui_${on}_$be" "$LG" env DISPLAY=:$d WGPU_BACKEND=$be ${gv:+"$gv"} \
        "$CL" gui --preset paper-g --n "$N" --ensemble "$ENS" --bench-frames "$FR" --closure-on "$on" || continue
      grep ' frames at ' "$W/gui_${on}_$be.out" && { echo "$be" >"$W/gui_${on}.backend"; break; }
      err "gui_${on}_$be" "exit 0 but no frame-time line: $(tail -c 300 "$W/gui_${on}_$be.err")"
    done
  done
  [ -n "$XPID" ] && kill "$XPID" 2>/dev/null; XPID=""
  echo "gpu-check: [$((SECONDS - T0))s] writing $OUT/gpu-report.json"
  W=$W OUT=$OUT ELAPSED=$((SECONDS - T0)) MODE=${rehearse:-device} python3 - <<'PY' || err report "python3 failed"
import json, os
W, OUT = os.environ["W"], os.environ["OUT"]
def text(n):
    try: return open(os.path.join(W, n)).read().strip()
    except OSError: return None
def rows(n):  # JSON-per-line output → list; other text kept as text; nothing → the error text
    t = text(n + ".out")
    if not t: return {"error": (text(n + ".err") or "did not run")[-600:]}
    out = []
    for l in t.splitlines():
        try: out.append(json.loads(l))
        except ValueError: pass
    return out if out else t
def gui(on):
    be = text("gui_%s.backend" % on)
    t = text("gui_%s_%s.out" % (on, be)) if be else None
    return next((l for l in (t or "").splitlines() if " frames at " in l), None), be
errors = [dict(zip(("step", "message"), l.split("\t", 1))) for l in (text("errors.tsv") or "").splitlines()]
(g, gb), (c, cb) = gui("gpu"), gui("cpu")
rep = {"mode": os.environ["MODE"], "elapsed_s": int(os.environ["ELAPSED"]), "version": text("version.out"),
       "vk_driver_files": os.environ.get("VK_DRIVER_FILES"), "nvidia_smi": text("nvidia_smi.out"),
       "bench_closure_wgpu": rows("closure_wgpu"), "bench_closure_cpu": rows("closure_cpu"),
       "bench_train_wgpu": rows("train_wgpu"), "bench_train_cpu": rows("train_cpu"),
       "bench_solver": rows("solver"),
       "gui_frames": {"gpu": g, "cpu": c, "backend": gb or cb or "none", "backend_gpu": gb, "backend_cpu": cb},
       "errors": errors}
json.dump(rep, open(os.path.join(OUT, "gpu-report.json"), "w"), indent=1)
# short table last (the device reply shows the end of the output)
key = lambda r: tuple(r.get(k) for k in ("n", "batch", "threads", "model", "sampler"))
cpu = {key(r): r for r in rep["bench_closure_cpu"] or [] if isinstance(r, dict)}
print("closure ms/sample  n batch threads model sampler: wgpu cpu cpu/wgpu")
for r in rep["bench_closure_wgpu"] if isinstance(rep["bench_closure_wgpu"], list) else []:
    k, wm = key(r), r.get("ms_per_sample") or 0; cm = cpu.get(k, {}).get("ms_per_sample")
    print(" ", *k, ": %.2f" % wm, "%.2f %.1fx" % (cm, cm / wm) if cm and wm else "-")
print("gui gpu:", g, "\ngui cpu:", c, "\nbackend:", rep["gui_frames"]["backend"])
print("errors:", len(errors), *("\n  %s: %s" % (e.get("step"), e.get("message", "")[:200]) for e in errors))
PY
  echo "gpu-check: done in $((SECONDS - T0))s; report $OUT/gpu-report.json"
}

case "$MODE" in
  prepare) prepare ;;
  device) device ;;
  rehearse)
    { [ -f "$GC/closure-lab.xz" ] && ! [ "$BIN" -nt "$GC/closure-lab.xz" ]; } || (prepare) || exit 1
    OUT=/tmp/gpu-check-rehearsal; rm -rf "$OUT"; device rehearse ;;
  *) sed -n 2,6p "$0" >&2; exit 2 ;;
esac
