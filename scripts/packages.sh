# Sourced by the scripts that need system packages and the helpers below (setup, fuzz,
# test-asan, prebuild, test-prebuilt, test-container, test-node-versions); they define log()
# first.
# install_missing PACKAGE...: installs (as root) or prints the command and fails.
apt_updated=0
install_missing() {
  local missing=() p
  if ! command -v dpkg-query >/dev/null 2>&1; then
    log "not a Debian-like system: make sure these (or your distribution's equivalents) are installed: $*"
    return 0
  fi
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    log "missing system packages; install them with:"
    log "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# debian_root DIR [DEBOOTSTRAP ARGS...]: a minimal Debian 12 root file system (debootstrap
# --variant=minbase) in DIR, made once: a marker file says it is complete.
debian_root() {
  local dir=$1
  shift
  [ -f "$dir/.kernel-sctp-rootfs" ] && return 0
  install_missing debootstrap
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  log "debootstrap --variant=minbase $* bookworm $dir (once)"
  logged "$dir.log" debootstrap --variant=minbase "$@" bookworm "$dir" http://deb.debian.org/debian
  touch "$dir/.kernel-sctp-rootfs"
}

# logged FILE COMMAND...: runs COMMAND with its output going to FILE; if it fails, shows the
# end of FILE and exits.
logged() {
  local file=$1
  shift
  mkdir -p "$(dirname "$file")"
  "$@" >"$file" 2>&1 || { tail -n 30 "$file" >&2; log "failed: $* (all of it in $file)"; exit 1; }
}

# npm_node VERSION ARCH: prints the path of an official Node build (npm's node-linux-ARCH
# package: no install script), fetched once into out/node/ARCH/VERSION.
npm_node() {
  local dir=out/node/$2/$1
  local bin=$dir/node_modules/node-linux-$2/bin/node
  [ -x "$bin" ] || logged "$dir.log" npm install --prefix "$dir" --no-save --no-audit --no-fund \
    --loglevel=error --force --cpu="$2" "node-linux-$2@$1"
  echo "$PWD/$bin"
}
