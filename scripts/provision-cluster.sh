#!/usr/bin/env bash
# Provisions a real Kubernetes control plane into .tools/ from package registries only:
#   .tools/bin/kube-apiserver, kube-controller-manager, kube-scheduler
#       Kubernetes v1.34.2, built from the Go module proxy with scripts/kube/go.mod
#       (its replace lines stand in for the staging tree that `go install` refuses)
#   .tools/bin/kwok      sigs.k8s.io/kwok v0.7.0 (fake nodes: Ready, leases, the kubelet endpoint)
#   etcd                 Debian's etcd-server, found on PATH (3.4 serves these API servers)
# Idempotent: a second run is a no-op that takes well under a second. A cold build
# takes about 10 minutes on 2 cores; progress is printed as packages build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"
kube_version="$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$root/scripts/kube/go.mod")"
kwok_version="v0.7.0"

say() { printf '[provision-cluster] %s\n' "$*" >&2; }
need() {
  command -v "$1" >/dev/null 2>&1 || { say "missing '$1': install $2 and run again (Debian: apt-get install $3)"; exit 1; }
}
# Shows a line every 50 packages; on failure, the build's last lines (the whole log stays in .tools/).
build() {
  local what="$1" log="$tools/build-$1.log"; shift
  "$@" >"$log" 2>&1 </dev/null &
  local pid=$! shown=0 n
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    n=$(wc -l < "$log")
    if [ $((n / 50)) -gt "$shown" ]; then shown=$((n / 50)); say "  ... $what: $n packages built"; fi
  done
  if ! wait "$pid"; then tail -n 20 "$log" >&2; say "building $what failed; the whole output is in $log"; exit 1; fi
}

mkdir -p "$bin"
need etcd "etcd 3.4 or newer" etcd-server

stamp="$tools/kubernetes.version"
if [ ! -x "$bin/kube-apiserver" ] || [ ! -x "$bin/kube-controller-manager" ] || [ ! -x "$bin/kube-scheduler" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$kube_version" ]; then
  need go "Go 1.24 or newer" golang-go
  say "building kube-apiserver, kube-controller-manager and kube-scheduler $kube_version (first run takes about 10 minutes)..."
  # -mod=mod lets go fill go.sum's gaps from the proxy; the versions stay those of go.mod.
  # The version the binaries report (kubectl's skew check, /version), as a release build stamps it.
  minor="$(echo "$kube_version" | cut -d. -f2)"
  ldflags="-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$kube_version -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  build kubernetes env -C "$root/scripts/kube" GOFLAGS="${GOFLAGS:-} -mod=mod" go build -v -ldflags "$ldflags" -o "$bin/" tool
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    [ -x "$bin/$b" ] || { say "go build did not produce $bin/$b; see the output above"; exit 1; }
  done
  echo "$kube_version" > "$stamp"
  say "Kubernetes control plane ready: $("$bin/kube-apiserver" --version)"
fi

stamp="$tools/kwok.version"
if [ ! -x "$bin/kwok" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$kwok_version" ]; then
  need go "Go 1.24 or newer" golang-go
  say "building kwok $kwok_version with 'go install' (first run takes about a minute and a half)..."
  build kwok env GOBIN="$bin" GOFLAGS="${GOFLAGS:-} -mod=mod" go install -v "sigs.k8s.io/kwok/cmd/kwok@$kwok_version"
  [ -x "$bin/kwok" ] || { say "go install did not produce $bin/kwok; see the output above"; exit 1; }
  echo "$kwok_version" > "$stamp"
  say "kwok ready: $("$bin/kwok" --version 2>&1 | head -n 1)"
fi
