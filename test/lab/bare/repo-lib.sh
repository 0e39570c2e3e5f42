# repo-lib.sh - sourced by the bare-host lab scripts: the lab's signing keys and signed apt repositories.
# shellcheck shell=bash

BARE_CACHE=${BMK8S_TOOLS_CACHE:-/var/cache/baremetal-k8s/tools}

log() { printf '[%(%T)T] %s: %s\n' -1 "${0##*/}" "$*" >&2; }
die() { log "$*"; exit 1; }

# lab_key NAME: the GNUPGHOME of the lab's signing key NAME (made once, cached): a key like an internal
# mirror's, which the hosts trust from their installation on.
lab_key() {
  local home=$BARE_CACHE/lab-gpg/$1
  if [[ ! -f $home/.complete ]]; then
    rm -rf "$home"; mkdir -p "$home"; chmod 700 "$home"
    GNUPGHOME=$home gpg --batch -q --passphrase '' --quick-gen-key "baremetal-k8s lab $1 repository" ed25519 sign never ||
      die "cannot make the lab's gpg key $1"
    GNUPGHOME=$home gpg --batch -q --armor --export > "$home/public.asc"
    GNUPGHOME=$home gpg --batch -q --export > "$home/public.gpg"
    gpgconf --homedir "$home" --kill all 2> /dev/null || true
    touch "$home/.complete"
  fi
  echo "$home"
}

# sign_release DIR KEYNAME [apt-ftparchive -o options...]: DIR/Release over DIR's index files, DIR/Release.gpg, DIR/InRelease.
sign_release() {
  local dir=$1 home; home=$(lab_key "$2"); shift 2
  rm -f "$dir/Release" "$dir/Release.gpg" "$dir/InRelease"
  (cd "$dir" && apt-ftparchive "$@" release . > ../.Release.tmp) && mv "$dir/../.Release.tmp" "$dir/Release"
  GNUPGHOME=$home gpg --batch -q --yes --armor --detach-sign -o "$dir/Release.gpg" "$dir/Release"
  GNUPGHOME=$home gpg --batch -q --yes --clearsign -o "$dir/InRelease" "$dir/Release"
  gpgconf --homedir "$home" --kill all 2> /dev/null || true
}
