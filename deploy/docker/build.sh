#!/usr/bin/env bash
# Builds the apps' images from the repository (multi-stage Dockerfiles: no Maven build on the host first), named and
# tagged from deploy/images.properties.
#
#   deploy/docker/build.sh [--registry HOST/PATH] [--tag TAG] [--push] [--dry-run] [MODULE...]
#
# MODULE: collector, streams-app, sink, alert-forwarder (default: every image of images.properties).
# --registry prefixes the names (ghcr.io/acme -> ghcr.io/acme/infermeter/sink:TAG); --tag overrides the release tag;
# --push pushes each image after building it; --dry-run prints the docker commands instead of running them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROPS="$ROOT/deploy/images.properties"

registry="" tag="" push=false dry_run=false
modules=()
while (($# > 0)); do
  case "$1" in
    --registry) registry="${2:?--registry needs a value}"; shift 2 ;;
    --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
    --push) push=true; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "build.sh: unknown option $1" >&2; exit 2 ;;
    *) modules+=("$1"); shift ;;
  esac
done

# property KEY: its value in images.properties (key=value lines, # comments)
property() {
  local value
  value="$(sed -n "s/^$1=//p" "$PROPS" | tail -n 1)"
  [[ -n "$value" ]] || { echo "build.sh: no '$1' in $PROPS" >&2; return 1; }
  printf '%s\n' "$value"
}

[[ -n "$tag" ]] || tag="$(property tag)"
if ((${#modules[@]} == 0)); then
  mapfile -t modules < <(sed -n 's/^\([a-z][a-z0-9-]*\)=.*/\1/p' "$PROPS" | grep -vx tag)
fi

run() {
  if $dry_run; then
    printf '%s\n' "$*"
  else
    "$@"
  fi
}

for module in "${modules[@]}"; do
  dockerfile="deploy/docker/Dockerfile.$module"
  [[ -f "$ROOT/$dockerfile" ]] || { echo "build.sh: no $dockerfile" >&2; exit 2; }
  image="$(property "$module"):$tag"
  [[ -z "$registry" ]] || image="${registry%/}/$image"
  echo "build.sh: building $image" >&2
  (cd "$ROOT" && run docker build -f "$dockerfile" -t "$image" .)
  if $push; then
    run docker push "$image"
  fi
done
