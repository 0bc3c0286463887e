#!/usr/bin/env bash
# headroom.sh — one entry point to set up, run, test and benchmark Headroom.
#
#   ./headroom.sh run [ARGS...]     build (release) and start `headroom serve --demo ARGS...`
#   ./headroom.sh test [ARGS...]    cargo test + rustfmt check + clippy (what CI runs)
#   ./headroom.sh bench [ARGS...]   ingest + query benchmark next to DuckDB (cargo bench)
#   ./headroom.sh setup             prepare the machine (also done by the commands above)
#   ./headroom.sh help              this text
#
# `setup` is idempotent and fast once done: it installs missing Debian packages
# listed in APT_PACKAGES (as root, when apt-get exists), checks for cargo, and
# keeps a Python venv in .venv with the pinned packages of
# scripts/requirements.txt (re-installed only when that file changes).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/scripts/requirements.txt"
STAMP="$VENV/.stamp"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
HEADROOM_BIN="$TARGET_DIR/release/headroom"

# Debian packages the project needs on the machine: Chromium and ChromeDriver for
# the browser tests (npm, for wasm-opt, is installed only if missing). Installed by `setup` when
# running as root with apt-get. The wasm fallback toolchain (see build_ui) adds its
# own packages only when no rustup wasm32 target exists.
APT_PACKAGES=(chromium chromium-driver)

# The web UI's wasm bundle: wasm-bindgen-cli must equal the wasm-bindgen crate pinned in
# ui/Cargo.toml; wasm-opt comes from npm's binaryen (Debian's wasm-opt 108 produces
# bundles that silently fail to hydrate).
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132
SITE_DIR="$TARGET_DIR/site"
WASM_FALLBACK_PACKAGES=(rustc-web cargo-web rust-web-src lld-19)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'headroom.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
    cat <<'EOF'
Usage: ./headroom.sh <command> [args...]

Commands:
  run [ARGS...]    Set up, build release binaries, and start the server with
                   demo traffic: target/release/headroom serve --demo ARGS...
                   (HEADROOM_DATA_DIR defaults to ./data; HEADROOM_DEMO=0
                   starts it without demo traffic)
  test [ARGS...]   Set up, then run cargo test --workspace --all-targets ARGS...,
                   cargo fmt --check and cargo clippy -D warnings; prints a
                   summary and exits non-zero if any step failed (CI runs this).
  bench [ui] [ARGS...]
                   Set up, then run a benchmark (release build). Default: the
                   ingest + query benchmark next to DuckDB: cargo bench --bench
                   ingest -- ARGS (--spans N, default 10000000; --clients N;
                   --repeat N). `bench ui`: server render time of every page
                   over demo data next to the API calls (--days 7, --repeat 7).
  setup            Prepare the machine only: apt packages (if any are listed),
                   cargo check, Python venv in .venv from scripts/requirements.txt.
  help             Show this text.
EOF
}

# --- setup -------------------------------------------------------------------

setup_apt() {
    apt_install "${APT_PACKAGES[@]}"
}

# Installs the given Debian packages that are missing.
apt_install() {
    (($# > 0)) || return 0
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    ((${#missing[@]} > 0)) || return 0
    if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" -eq 0 ]]; then
        log "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        log "warning: missing Debian packages (install them as root): ${missing[*]}"
    fi
}

setup_rust() {
    if ! command -v cargo >/dev/null 2>&1 && [[ -f "$HOME/.cargo/env" ]]; then
        # rustup installed but its bin dir is not on PATH in this shell.
        # shellcheck disable=SC1091
        source "$HOME/.cargo/env"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        cat >&2 <<'EOF'
headroom.sh: error: `cargo` not found. Install the Rust toolchain with rustup:

    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y
    source "$HOME/.cargo/env"

then run this command again.
EOF
        exit 1
    fi
}

# rustfmt and clippy are rustup components; add them if a minimal toolchain lacks them.
ensure_rust_components() {
    local component missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    ((${#missing[@]} > 0)) || return 0
    command -v rustup >/dev/null 2>&1 || die "cargo ${missing[*]} not available and rustup not found"
    for component in "${missing[@]}"; do
        log "adding rustup component $component"
        rustup component add "$component"
    done
}

find_python() {
    local candidate
    for candidate in python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    die "Python >= 3.10 not found (on Debian: apt-get install python3 python3-venv)"
}

setup_python() {
    [[ -f "$REQUIREMENTS" ]] || die "missing $REQUIREMENTS"
    if [[ -d "$VENV" ]] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        log "removing broken venv at .venv"
        rm -rf "$VENV"
    fi
    if [[ ! -d "$VENV" ]]; then
        local python
        python="$(find_python)"
        log "creating Python venv at .venv (with $python)"
        "$python" -m venv "$VENV" ||
            die "could not create a venv (on Debian: apt-get install python3-venv)"
    fi
    local want have=""
    want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
    [[ -f "$STAMP" ]] && have="$(<"$STAMP")"
    if [[ "$want" != "$have" ]]; then
        log "installing Python packages from scripts/requirements.txt"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
        printf '%s\n' "$want" >"$STAMP"
    fi
}

cmd_setup() {
    setup_apt
    setup_rust
    setup_python
    build_ui
}

# --- web UI bundle -------------------------------------------------------------

have_rustup_wasm_target() {
    command -v rustup >/dev/null 2>&1 &&
        rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

setup_ui_tools() {
    if ! command -v wasm-bindgen >/dev/null 2>&1 ||
        [[ "$(wasm-bindgen --version)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
        log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
        cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
    fi
    WASM_OPT="$TARGET_DIR/tools/node_modules/.bin/wasm-opt"
    if [[ ! -x "$WASM_OPT" ]]; then
        command -v npm >/dev/null 2>&1 || apt_install npm
        command -v npm >/dev/null 2>&1 || die "npm not found (on Debian: apt-get install npm)"
        log "installing wasm-opt (npm binaryen@$BINARYEN_VERSION) into $TARGET_DIR/tools"
        mkdir -p "$TARGET_DIR/tools"
        npm install --silent --no-audit --no-fund --prefix "$TARGET_DIR/tools" "binaryen@$BINARYEN_VERSION" >/dev/null
    fi
}

# Builds ui/ with feature `hydrate` for wasm32 into $SITE_DIR/pkg: with the rustup
# wasm32 target where one is installed, else with Debian's rustc-web and -Zbuild-std
# (its own target dir: the two compilers must not share artifacts).
build_ui() {
    setup_ui_tools
    local wasm_target_dir="$TARGET_DIR/wasm"
    local args=(rustc -p headroom-ui --lib --crate-type cdylib --release
        --target wasm32-unknown-unknown --no-default-features --features hydrate)
    if have_rustup_wasm_target; then
        log "building the UI bundle (rustup wasm32 target)"
        cargo "${args[@]}" --target-dir "$wasm_target_dir"
    else
        apt_install "${WASM_FALLBACK_PACKAGES[@]}"
        [[ -x /usr/bin/cargo && -x /usr/lib/llvm-19/bin/wasm-ld ]] ||
            die "no wasm32 toolchain: run 'rustup target add wasm32-unknown-unknown', or install ${WASM_FALLBACK_PACKAGES[*]} as root"
        wasm_target_dir="$TARGET_DIR/wasm-debian"
        log "building the UI bundle (Debian rustc-web with -Zbuild-std; no rustup wasm32 target)"
        env PATH=/usr/bin:/bin HOME="$HOME" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
            RUSTFLAGS="-C linker=/usr/lib/llvm-19/bin/wasm-ld" \
            /usr/bin/cargo "${args[@]}" -Zbuild-std=std,panic_abort --target-dir "$wasm_target_dir"
    fi
    local wasm="$wasm_target_dir/wasm32-unknown-unknown/release/headroom_ui.wasm"
    local pkg="$SITE_DIR/pkg"
    local stamp="$pkg/.source"
    local sum
    sum="$(sha256sum "$wasm" | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(<"$stamp")" == "$sum" && -f "$pkg/headroom_ui_bg.wasm.gz" ]]; then
        return 0
    fi
    mkdir -p "$pkg"
    wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name headroom_ui "$wasm"
    "$WASM_OPT" -Oz "$pkg/headroom_ui_bg.wasm" -o "$pkg/headroom_ui_bg.wasm"
    gzip -9 -k -f "$pkg/headroom_ui_bg.wasm" "$pkg/headroom_ui.js"
    printf '%s\n' "$sum" >"$stamp"
    log "UI bundle: headroom_ui_bg.wasm $(stat -c %s "$pkg/headroom_ui_bg.wasm") bytes ($(stat -c %s "$pkg/headroom_ui_bg.wasm.gz") gzip), headroom_ui.js $(stat -c %s "$pkg/headroom_ui.js") bytes"
}

build_release() {
    log "cargo build --release --workspace --bins"
    cargo build --release --workspace --bins
    [[ -x "$HEADROOM_BIN" ]] || die "build finished but $HEADROOM_BIN is missing"
}

# --- commands ----------------------------------------------------------------

cmd_run() {
    cmd_setup
    build_release
    export HEADROOM_DATA_DIR="${HEADROOM_DATA_DIR:-./data}"

    # --- DEMO: `serve --demo` runs the demo traffic generator inside the server
    # process: it backfills the missing days of history, then sends live traffic to
    # the server's own OTLP/gRPC port, and stops with the server. Set HEADROOM_DEMO=0
    # to start the server without it.
    local demo=(--demo)
    if [[ "${HEADROOM_DEMO:-1}" == 0 ]]; then
        demo=()
    fi
    # --- end DEMO ---

    log "starting headroom serve ${demo[*]} (data dir: $HEADROOM_DATA_DIR)"
    exec "$HEADROOM_BIN" serve "${demo[@]}" "$@"
}

cmd_test() {
    cmd_setup
    ensure_rust_components
    export HEADROOM_PYTHON="$ROOT/.venv/bin/python"

    local names=() results=() failed=0 name started rc
    run_step() {
        name="$1"
        shift
        printf '\n==> %s\n' "$name" >&2
        started=$SECONDS
        if "$@"; then rc=0; else rc=$?; fi
        names+=("$name")
        if ((rc == 0)); then
            results+=("ok      ($((SECONDS - started)) s)")
        else
            results+=("FAILED  (exit $rc, $((SECONDS - started)) s)")
            failed=1
        fi
    }

    run_step "cargo test" cargo test --workspace --all-targets "$@"
    run_step "cargo fmt --check" cargo fmt --all -- --check
    run_step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings

    local i
    printf '\n==> headroom.sh test summary\n'
    for i in "${!names[@]}"; do
        printf '    %-20s %s\n' "${names[$i]}" "${results[$i]}"
    done
    if ((failed)); then
        printf '==> FAILED: see the failing step(s) above\n'
        exit 1
    fi
    printf '==> all checks passed\n'
}

cmd_bench() {
    cmd_setup
    export HEADROOM_PYTHON="$ROOT/.venv/bin/python"
    local bench=ingest
    if [[ "${1:-}" == ui || "${1:-}" == ingest ]]; then
        bench="$1"
        shift
    fi
    log "cargo bench --workspace --bench $bench (release build)"
    exec cargo bench --workspace --bench "$bench" -- "$@"
}

main() {
    local command="${1:-help}"
    (($# > 0)) && shift
    case "$command" in
    run) cmd_run "$@" ;;
    test) cmd_test "$@" ;;
    bench) cmd_bench "$@" ;;
    setup) cmd_setup "$@" ;;
    help | -h | --help) usage ;;
    *)
        printf 'headroom.sh: unknown command: %s\n\n' "$command" >&2
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"
