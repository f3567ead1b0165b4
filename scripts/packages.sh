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

# host_node DIR [--headers]: this host's node and npm as a /usr/local tree in DIR (bin/node,
# bin/npm, lib/node_modules/npm), its npm set up by etc/npmrc to use this host's registry
# and trust its CA; --headers adds the Node headers node-gyp builds against (include/node).
host_node() {
  local dir=$1 ca headers
  rm -rf "$dir/lib/node_modules/npm" "$dir/include/node"
  mkdir -p "$dir/bin" "$dir/lib/node_modules" "$dir/etc" "$dir/share"
  install -m 0755 "$(command -v node)" "$dir/bin/node"
  cp -a "$(npm root -g)/npm" "$dir/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/bin/npm"
  echo "registry=$(npm config get registry)" >"$dir/etc/npmrc"
  ca=$(npm config get cafile)
  if [ -f "$ca" ]; then
    cp "$ca" "$dir/share/npm-ca.crt"
    echo "cafile=/usr/local/share/npm-ca.crt" >>"$dir/etc/npmrc"
  fi
  if [ "${2:-}" = --headers ]; then
    headers=$(dirname "$(command -v node)")/../include/node
    [ -f "$headers/node_api.h" ] || { log "no Node headers at $headers"; exit 1; }
    mkdir -p "$dir/include"
    cp -a "$headers" "$dir/include/node"
    echo "nodedir=/usr/local" >>"$dir/etc/npmrc"
  fi
}
