#!/usr/bin/env bash
# Provisions the Temporal toolchain into .tools/ from package registries only:
#   .tools/bin/temporal              Temporal CLI (dev server + Web UI), built by `go install`
#   .tools/test-server/lib/*.jar     Java time-skipping test server, fetched by Maven
#   .tools/bin/temporal-test-server  wrapper that execs java (the SDK kills the process it started)
#   .tools/bin/temporal-server       Temporal server, and .tools/bin/temporal-sql-tool its schema tool, by `go install`
#   .tools/temporal-schema/          the server module's PostgreSQL schema files, for the SQL tool
# The server and its schema only with --server (tests, benchmarks, `npm run
# temporal:postgres`): `npm start` runs on the dev server and does not wait for them.
# Idempotent: a second run is a no-op that takes well under a second.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"
cli_version="v1.5.1"
test_server_version="$(sed -n 's:.*<version>\([0-9.]*\)</version>.*:\1:p' "$root/scripts/test-server/pom.xml" | tail -n 1)"

with_server=0
[ "${1:-}" = "--server" ] && with_server=1

say() { printf '[provision] %s\n' "$*" >&2; }
need() {
  command -v "$1" >/dev/null 2>&1 || { say "missing '$1': install $2 and run again (Debian: apt-get install $3)"; exit 1; }
}

mkdir -p "$bin"

# Temporal CLI
stamp="$tools/temporal-cli.version"
if [ ! -x "$bin/temporal" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$cli_version" ]; then
  need go "Go 1.23 or newer" golang-go
  say "building Temporal CLI $cli_version with 'go install' (first run takes a few minutes)..."
  GOBIN="$bin" GOFLAGS="${GOFLAGS:-} -mod=mod" go install -v "github.com/temporalio/cli/cmd/temporal@$cli_version" 2>&1 \
    | awk '{ n++; if (n % 25 == 0) printf "[provision]   ... %d packages built\n", n > "/dev/stderr" }'
  [ -x "$bin/temporal" ] || { say "go install did not produce $bin/temporal; see the output above"; exit 1; }
  echo "$cli_version" > "$stamp"
  say "Temporal CLI ready: $("$bin/temporal" --version)"
fi

# Java time-skipping test server
stamp="$tools/test-server.version"
if [ ! -x "$bin/temporal-test-server" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$test_server_version" ]; then
  need java "a Java runtime 17 or newer" openjdk-17-jre-headless
  need mvn "Apache Maven" maven
  say "fetching io.temporal:temporal-test-server:$test_server_version from Maven Central..."
  rm -rf "$tools/test-server/lib"
  # -q keeps Maven quiet; sed drops the colour codes it still prints.
  mvn -B -q -Dstyle.color=never -f "$root/scripts/test-server/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tools/test-server/lib" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep -v '^$' >&2 || true
  [ -n "$(ls "$tools/test-server/lib" 2>/dev/null)" ] || { say "Maven fetched nothing into $tools/test-server/lib; see the output above"; exit 1; }
  cat > "$bin/temporal-test-server" <<'WRAPPER'
#!/usr/bin/env bash
# Usage: temporal-test-server <port>. `exec` so that the SDK's kill reaches the JVM itself.
lib="$(cd "$(dirname "${BASH_SOURCE[0]}")/../test-server/lib" && pwd)"
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss1m -cp "$lib/*" io.temporal.testserver.TestServer "$@"
WRAPPER
  chmod +x "$bin/temporal-test-server"
  echo "$test_server_version" > "$stamp"
  say "time-skipping test server ready ($(ls "$tools/test-server/lib" | wc -l) jars)"
fi

if [ "$with_server" = 1 ]; then
# Temporal server and its SQL schema tool, for the PostgreSQL-backed cluster
# (local-stack/temporal-postgres.ts, `npm run temporal:postgres`), and the
# PostgreSQL schema files of the same module, copied to .tools/temporal-schema
# so that the start script needs neither Go nor the module cache.
server_version="v1.29.1"
stamp="$tools/temporal-server.version"
if [ ! -x "$bin/temporal-server" ] || [ ! -x "$bin/temporal-sql-tool" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$server_version" ]; then
  need go "Go 1.23 or newer" golang-go
  say "building Temporal server $server_version and its SQL tool with 'go install' (first run takes a few minutes)..."
  build="$(mktemp -d)"
  trap 'rm -rf "$build"' EXIT
  for cmd in server tools/sql; do
    GOBIN="$build" GOFLAGS="${GOFLAGS:-} -mod=mod" go install -v "go.temporal.io/server/cmd/$cmd@$server_version" 2>&1 \
      | awk '{ n++; if (n % 50 == 0) printf "[provision]   ... %d packages built\n", n > "/dev/stderr" }'
  done
  [ -x "$build/server" ] && [ -x "$build/sql" ] || { say "go install did not produce the server and the sql tool; see the output above"; exit 1; }
  mv -f "$build/server" "$bin/temporal-server"
  mv -f "$build/sql" "$bin/temporal-sql-tool"
  echo "$server_version" > "$stamp"
  say "Temporal server ready: $("$bin/temporal-server" --version 2>/dev/null | head -n 1)"
fi
schema="$tools/temporal-schema"
if [ "$(cat "$schema/version" 2>/dev/null)" != "$server_version" ]; then
  need go "Go 1.23 or newer" golang-go
  module="$(go mod download -json "go.temporal.io/server@$server_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [ -d "$module/schema/postgresql/v12/temporal/versioned" ] || { say "no PostgreSQL schema in go.temporal.io/server@$server_version ($module)"; exit 1; }
  rm -rf "$schema"
  mkdir -p "$schema"
  cp -R "$module/schema/postgresql" "$schema/"
  chmod -R u+w "$schema"
  echo "$server_version" > "$schema/version"
  say "PostgreSQL schema of Temporal server $server_version copied to $schema"
fi
fi
