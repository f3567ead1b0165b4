# Sourced by the scripts that need system packages (setup, fuzz, test-asan); they define
# log() first.
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
  debootstrap --variant=minbase "$@" bookworm "$dir" http://deb.debian.org/debian >"$dir.log" 2>&1 \
    || { tail -n 20 "$dir.log" >&2; log "debootstrap failed (all of it in $dir.log)"; exit 1; }
  touch "$dir/.kernel-sctp-rootfs"
}
