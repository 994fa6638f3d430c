#!/usr/bin/env bash
# The local stack of infermeter: a real Kafka broker (KRaft, single node), a real schema registry
# (Apicurio Registry, Confluent-compatible API) and a real ClickHouse server, each its own process,
# bound to 127.0.0.1, installed from Maven Central and npm into a state directory.
#
#   deploy/local/stack.sh install|start|stop|status|env|logs|reset   (run with no argument for help)
#
# Everything this script downloads, builds, stores and logs lives in the state directory
# ${INFERMETER_STACK_DIR:-<repo>/.local-stack}. Every process it starts has a pid file there and is
# stopped by that pid, never by name. See usage() for the settings.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT

readonly KAFKA_PORT="${INFERMETER_KAFKA_PORT:-9092}"
readonly KAFKA_CONTROLLER_PORT="${INFERMETER_KAFKA_CONTROLLER_PORT:-9093}"
readonly REGISTRY_PORT="${INFERMETER_REGISTRY_PORT:-8081}"
readonly CLICKHOUSE_HTTP_PORT="${INFERMETER_CLICKHOUSE_HTTP_PORT:-8123}"
readonly CLICKHOUSE_TCP_PORT="${INFERMETER_CLICKHOUSE_TCP_PORT:-9000}"

# ClickHouse 26.7.2.1 as a library. Pinned exactly: the npm `latest` tag (26.5.x) cannot listen.
readonly CHDB_NPM_PACKAGE="@chdb/lib-linux-x64-gnu"
readonly CHDB_NPM_VERSION="26.7.3-stable.1"

readonly COMPONENTS=(kafka registry clickhouse)
readonly STOP_TIMEOUT_S=30
readonly JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

# ---------------------------------------------------------------------------------------------
# Output

START_US="${EPOCHREALTIME/./}"

# Seconds since this script started, one decimal.
elapsed() {
  local us=$(( ${EPOCHREALTIME/./} - START_US ))
  printf '%d.%d' $(( us / 1000000 )) $(( us % 1000000 / 100000 ))
}

say() { printf '[stack %6ss] %s\n' "$(elapsed)" "$*"; }

die() {
  printf 'stack.sh: error: %s\n' "$*" >&2
  exit 1
}

# die, showing the end of the given log files first.
die_with_log() {
  local message="$1" log
  shift
  for log in "$@"; do
    [[ -s "$log" ]] || continue
    printf -- '--- last lines of %s ---\n' "$log" >&2
    tail -n 25 "$log" >&2
  done
  die "$message (log: $*)"
}

usage() {
  cat <<EOF
Usage: deploy/local/stack.sh COMMAND [COMPONENT...]

Runs infermeter's local stack, each server its own process on 127.0.0.1:
  kafka       Kafka broker (KRaft, single node)   bootstrap 127.0.0.1:$KAFKA_PORT, controller :$KAFKA_CONTROLLER_PORT
  registry    Apicurio Registry (H2 file storage) http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7
  clickhouse  ClickHouse (libchdb, data on disk)  http://127.0.0.1:$CLICKHOUSE_HTTP_PORT, native :$CLICKHOUSE_TCP_PORT

Commands (COMPONENT limits a command to some servers; default: all):
  install   download and build what is missing (Maven Central, npm; a few minutes the first time)
  start     install if needed, start each server not yet running, wait until each answers,
            then write $STATE_DIR_HINT/stack.env
  stop      stop each server by its pid file (TERM, then KILL after ${STOP_TIMEOUT_S} s);
            stack.env is removed once no server runs
  status    state, pid, port and memory of each server; exit 0 when all named are running, else 3
  env       print stack.env (the addresses that tests and apps read)
  logs      print the end of each server's log; 'logs -f' follows them
  reset     stop, then delete the servers' data (topics, schemas, tables) and the streams app's local
            state of ./infermeter streams and ./infermeter demo (it belongs to the deleted topics);
            keeps the installs

Settings (environment):
  INFERMETER_STACK_DIR               state directory (downloads, builds, data, logs, pid files)
                                     default: <repo>/.local-stack
  INFERMETER_KAFKA_PORT              default 9092
  INFERMETER_KAFKA_CONTROLLER_PORT   default 9093
  INFERMETER_REGISTRY_PORT           default 8081
  INFERMETER_CLICKHOUSE_HTTP_PORT    default 8123
  INFERMETER_CLICKHOUSE_TCP_PORT     default 9000
  JAVA_HOME                          Java to run Kafka and the registry with (default: java on PATH)
EOF
}

# ---------------------------------------------------------------------------------------------
# State directory layout

STATE_DIR_HINT="${INFERMETER_STACK_DIR:-<repo>/.local-stack}"

init_state_dir() {
  mkdir -p "${INFERMETER_STACK_DIR:-$REPO_ROOT/.local-stack}"
  STATE_DIR="$(cd "${INFERMETER_STACK_DIR:-$REPO_ROOT/.local-stack}" && pwd)"
  STATE_DIR_HINT="$STATE_DIR"
  LOG_DIR="$STATE_DIR/logs"
  RUN_DIR="$STATE_DIR/run"
  INSTALL_LOG="$LOG_DIR/install.log"
  KAFKA_DIR="$STATE_DIR/kafka"
  REGISTRY_DIR="$STATE_DIR/registry"
  CLICKHOUSE_DIR="$STATE_DIR/clickhouse"
  STACK_ENV="$STATE_DIR/stack.env"
  mkdir -p "$LOG_DIR" "$RUN_DIR" "$KAFKA_DIR" "$REGISTRY_DIR" "$CLICKHOUSE_DIR"
}

log_file() { echo "$LOG_DIR/$1.log"; }
pid_file() { echo "$RUN_DIR/$1.pid"; }

# A server's logs: what it writes itself, and for Kafka also the JVM's own output.
component_logs() {
  case "$1" in
    kafka) log_file kafka && log_file kafka-stdout ;;
    *) log_file "$1" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Helpers

require_commands() {
  local cmd missing=()
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  ((${#missing[@]} == 0)) || die "missing commands: ${missing[*]} (Debian: apt-get install maven openjdk-17-jdk-headless npm gcc curl)"
}

check_port_settings() {
  local name port
  for name in KAFKA_PORT KAFKA_CONTROLLER_PORT REGISTRY_PORT CLICKHOUSE_HTTP_PORT CLICKHOUSE_TCP_PORT; do
    port="${!name}"
    if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
      die "INFERMETER_$name='$port' is not a port number"
    fi
  done
}

# Fingerprint of the files an install step is built from (names and contents); a change
# triggers a rebuild. Arguments are files or directories, relative to the repository root.
fingerprint() {
  (cd "$REPO_ROOT" && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -d' ' -f1
}

stamp_matches() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }

# An outdated install is not replaced under a running server (it would pull the files from under
# it); the server keeps running on the old one until it is stopped.
keep_running_install() {
  local pid
  pid="$(running_pid "$1")" || return 1
  say "$1: its install is out of date, but it is running (pid $pid); rebuilt at its next start after: $0 stop $1"
}

# True when something accepts TCP connections on 127.0.0.1:port.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Who listens on a port (pid and command line), for error messages. Another checkout's stack
# shows up here with its own state directory in the command line.
port_owner() {
  local pid
  command -v ss >/dev/null 2>&1 || return 0
  for pid in $(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    printf '  pid %s: %s\n' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-300)"
  done
}

# Pid of a component started by this state directory, or failure. A pid file whose process is
# gone, a zombie, or a process that is no longer ours (pid reused) is stale and removed.
running_pid() {
  local file pid
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && is_ours "$pid"; then
    echo "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

# Alive, not a zombie, and started with this state directory on its command line.
is_ours() {
  local cmdline
  cmdline="$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline")" || return 1
  [[ "$cmdline" == *"$STATE_DIR"* ]]
}

rss_mb() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

# Starts a command detached (own session, stdin closed, output to a log) and writes its pid file.
# The child writes its own pid before exec, so the pid is right even when setsid has to fork.
launch() {
  local name="$1" log="$2" file tries=0
  shift 2
  file="$(pid_file "$name")"
  rm -f "$file"
  # shellcheck disable=SC2016 # expanded by the child shell
  setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$file" "$@" >>"$log" 2>&1 </dev/null &
  until [[ -f "$file" ]]; do
    ((++tries <= 100)) || die_with_log "$name: the process did not start" "$log"
    sleep 0.05
  done
}

# Polls check_<name> of each launched server until every one answers; fails as soon as one
# dies or runs out of time. Takes name=start-time-in-microseconds pairs.
wait_ready() {
  local -A pending=()
  local pair name pid took_ms logs
  for pair in "$@"; do
    pending["${pair%=*}"]="${pair#*=}"
  done
  while ((${#pending[@]} > 0)); do
    for name in "${!pending[@]}"; do
      pid="$(cat "$(pid_file "$name")")"
      if "check_$name"; then
        took_ms=$(( (${EPOCHREALTIME/./} - pending[$name]) / 1000 ))
        say "$name: ready in $((took_ms / 1000)).$((took_ms % 1000 / 100)) s, pid $pid, RSS $(rss_mb "$pid") MB"
        unset "pending[$name]"
        continue
      fi
      took_ms=$(( (${EPOCHREALTIME/./} - pending[$name]) / 1000 ))
      mapfile -t logs < <(component_logs "$name")
      if ! is_ours "$pid"; then
        rm -f "$(pid_file "$name")"
        die_with_log "$name exited during start" "${logs[@]}"
      fi
      if ((took_ms > $("${name}_start_timeout_s") * 1000)); then
        die_with_log "$name did not answer within $("${name}_start_timeout_s") s (pid $pid still running; stop it with: $0 stop $name)" "${logs[@]}"
      fi
    done
    sleep 0.2
  done
}

select_components() {
  local c
  SELECTED=()
  if (($# == 0)); then
    SELECTED=("${COMPONENTS[@]}")
    return
  fi
  for c in "$@"; do
    [[ " ${COMPONENTS[*]} " == *" $c "* ]] || die "unknown component '$c' (one of: ${COMPONENTS[*]})"
    SELECTED+=("$c")
  done
}

# ---------------------------------------------------------------------------------------------
# Kafka

kafka_classpath_complete() {
  local jar jars
  [[ -f "$KAFKA_DIR/classpath.txt" ]] || return 1
  IFS=: read -r -a jars <"$KAFKA_DIR/classpath.txt"
  ((${#jars[@]} > 0)) || return 1
  for jar in "${jars[@]}"; do
    [[ -f "$jar" ]] || return 1
  done
}

install_kafka() {
  local stamp
  stamp="$(fingerprint deploy/local/kafka/pom.xml pom.xml)"
  if stamp_matches "$KAFKA_DIR/install.stamp" "$stamp" && kafka_classpath_complete; then
    say "kafka: installed (classpath $KAFKA_DIR/classpath.txt)"
    return
  fi
  say "kafka: resolving the broker classpath from Maven Central (deploy/local/kafka/pom.xml) ..."
  rm -f "$KAFKA_DIR/install.stamp"
  echo "=== kafka classpath, $(date -Is)" >>"$INSTALL_LOG"
  mvn -B -q -f "$SCRIPT_DIR/kafka/pom.xml" dependency:build-classpath \
    -Dmdep.outputFile="$KAFKA_DIR/classpath.txt" >>"$INSTALL_LOG" 2>&1 ||
    die_with_log "kafka: Maven could not resolve the broker classpath" "$INSTALL_LOG"
  echo "$stamp" >"$KAFKA_DIR/install.stamp"
  say "kafka: classpath ready ($(tr ':' '\n' <"$KAFKA_DIR/classpath.txt" | wc -l) jars)"
}

kafka_java() { CLASSPATH="$(cat "$KAFKA_DIR/classpath.txt")" "$JAVA" "$@"; }

write_kafka_config() {
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by deploy/local/stack.sh at each start; edit the script, not this file.
node.id=1
process.roles=broker,controller
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data

# Topics are created by the apps at start (or ./infermeter topics create) with the partition counts of
# docs/DEPLOY.md, never by the broker on first use: an auto-created topic gets num.partitions, and request and
# hardware topics with different counts stop the streams app.
num.partitions=3
auto.create.topics.enable=false

# One broker: every internal topic has one replica, else consumer groups hang and
# transactions (exactly-once) time out.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
EOF
}

# KRaft storage is formatted once. (Changing the ports later is fine on a single node.)
format_kafka_storage() {
  local cluster_id
  [[ -f "$KAFKA_DIR/data/meta.properties" ]] && return
  say "kafka: formatting KRaft storage in $KAFKA_DIR/data"
  cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$INSTALL_LOG")" ||
    die_with_log "kafka: StorageTool random-uuid failed" "$INSTALL_LOG"
  kafka_java kafka.tools.StorageTool format --standalone -t "$cluster_id" \
    -c "$KAFKA_DIR/server.properties" >>"$INSTALL_LOG" 2>&1 ||
    die_with_log "kafka: formatting the storage failed" "$INSTALL_LOG"
}

launch_kafka() {
  write_kafka_config
  format_kafka_storage
  CLASSPATH="$(cat "$KAFKA_DIR/classpath.txt")" launch kafka "$(log_file kafka-stdout)" \
    "$JAVA" -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/log4j2.xml" -Dkafka.logs.dir="$LOG_DIR" \
    kafka.Kafka "$KAFKA_DIR/server.properties"
}

# Ready when the broker answers an admin (metadata) request, not merely when the port opens.
check_kafka() {
  port_open "$KAFKA_PORT" || return 1
  kafka_java -Xmx128m org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
    --list >/dev/null 2>&1
}

kafka_ports() { echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT"; }
kafka_start_timeout_s() { echo 120; }

# ---------------------------------------------------------------------------------------------
# Schema registry

registry_runner() { echo "$REGISTRY_DIR/build/quarkus-app/quarkus-run.jar"; }

install_registry() {
  local src="$SCRIPT_DIR/registry" stamp version
  stamp="$(fingerprint deploy/local/registry/pom.xml deploy/local/registry/settings.xml deploy/local/registry/src)"
  if stamp_matches "$REGISTRY_DIR/install.stamp" "$stamp" && [[ -f "$(registry_runner)" ]]; then
    say "registry: installed ($(registry_runner))"
    return
  fi
  keep_running_install registry && return
  version="$(sed -n 's:.*<apicurio-registry.version>\(.*\)</apicurio-registry.version>.*:\1:p' "$src/pom.xml")"
  say "registry: building Apicurio Registry $version (Quarkus) from Maven Central; about 1 min cold ..."
  rm -rf "$REGISTRY_DIR/build" "$REGISTRY_DIR/install.stamp"
  echo "=== registry build, $(date -Is)" >>"$INSTALL_LOG"
  mvn -B -ntp -s "$src/settings.xml" -f "$src/pom.xml" package \
    -Dregistry.build.directory="$REGISTRY_DIR/build" >>"$INSTALL_LOG" 2>&1 ||
    die_with_log "registry: the Maven build failed" "$INSTALL_LOG"
  [[ -f "$(registry_runner)" ]] || die_with_log "registry: the build made no $(registry_runner)" "$INSTALL_LOG"
  echo "$stamp" >"$REGISTRY_DIR/install.stamp"
  say "registry: built"
}

launch_registry() {
  # Storage is Apicurio's "in-memory" kind, an embedded H2 database, here kept in a file so that
  # schema ids survive restarts as the Kafka records that carry them do.
  mkdir -p "$REGISTRY_DIR/data"
  launch registry "$(log_file registry)" \
    "$JAVA" -Xmx256m -XX:+ExitOnOutOfMemoryError \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.datasource.jdbc.url="jdbc:h2:file:$REGISTRY_DIR/data/registry" \
    -jar "$(registry_runner)"
}

check_registry() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects")" == 200 ]]
}

registry_ports() { echo "$REGISTRY_PORT"; }
registry_start_timeout_s() { echo 90; }

# ---------------------------------------------------------------------------------------------
# ClickHouse

clickhouse_lib() { echo "$CLICKHOUSE_DIR/lib/libchdb.so"; }
clickhouse_launcher() { echo "$CLICKHOUSE_DIR/bin/chdb-server"; }

install_clickhouse() {
  local download="$CLICKHOUSE_DIR/download" source="$SCRIPT_DIR/clickhouse/chdb-server.c" stamp

  if stamp_matches "$CLICKHOUSE_DIR/lib.stamp" "$CHDB_NPM_VERSION" && [[ -f "$(clickhouse_lib)" ]]; then
    say "clickhouse: libchdb $CHDB_NPM_VERSION installed"
  else
    keep_running_install clickhouse && return
    say "clickhouse: downloading $CHDB_NPM_PACKAGE@$CHDB_NPM_VERSION from npm (178 MB, 566 MB unpacked) ..."
    rm -rf "$download" "${CLICKHOUSE_DIR:?}/lib" "$CLICKHOUSE_DIR/lib.stamp"
    mkdir -p "$download"
    echo "=== npm pack $CHDB_NPM_PACKAGE@$CHDB_NPM_VERSION, $(date -Is)" >>"$INSTALL_LOG"
    (cd "$download" && npm pack --silent "$CHDB_NPM_PACKAGE@$CHDB_NPM_VERSION") >>"$INSTALL_LOG" 2>&1 ||
      die_with_log "clickhouse: npm pack $CHDB_NPM_PACKAGE@$CHDB_NPM_VERSION failed" "$INSTALL_LOG"
    say "clickhouse: unpacking"
    tar -xzf "$download"/*.tgz -C "$download" ||
      die_with_log "clickhouse: cannot unpack the npm package in $download" "$INSTALL_LOG"
    [[ -f "$download/package/libchdb.so" ]] || die "clickhouse: the npm package has no libchdb.so ($download)"
    mv "$download/package" "$CLICKHOUSE_DIR/lib"
    rm -rf "$download"
    echo "$CHDB_NPM_VERSION" >"$CLICKHOUSE_DIR/lib.stamp"
  fi

  stamp="$(fingerprint deploy/local/clickhouse/chdb-server.c)"
  if stamp_matches "$CLICKHOUSE_DIR/launcher.stamp" "$stamp" && [[ -x "$(clickhouse_launcher)" ]]; then
    return
  fi
  keep_running_install clickhouse && return
  say "clickhouse: compiling the launcher (deploy/local/clickhouse/chdb-server.c)"
  mkdir -p "$CLICKHOUSE_DIR/bin"
  echo "=== gcc chdb-server.c, $(date -Is)" >>"$INSTALL_LOG"
  gcc -O2 -Wall -Wextra -o "$(clickhouse_launcher)" "$source" -ldl >>"$INSTALL_LOG" 2>&1 ||
    die_with_log "clickhouse: compiling $source failed" "$INSTALL_LOG"
  echo "$stamp" >"$CLICKHOUSE_DIR/launcher.stamp"
}

launch_clickhouse() {
  mkdir -p "$CLICKHOUSE_DIR/data"
  # The listeners run while a query runs: this one sleeps one second per row over an endless
  # numbers() table, one row per block, so it never ends before the process is signalled.
  launch clickhouse "$(log_file clickhouse)" \
    "$(clickhouse_launcher)" "$(clickhouse_lib)" \
    --path="$CLICKHOUSE_DIR/data" --listen_host=127.0.0.1 \
    --http_port="$CLICKHOUSE_HTTP_PORT" --tcp_port="$CLICKHOUSE_TCP_PORT" \
    --query "SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; SELECT sleepEachRow(1) FROM numbers(1000000000000) SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0 FORMAT Null"
}

check_clickhouse() {
  [[ "$(curl -s --max-time 2 "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/?query=SELECT%201")" == 1 ]] &&
    port_open "$CLICKHOUSE_TCP_PORT"
}

clickhouse_ports() { echo "$CLICKHOUSE_HTTP_PORT $CLICKHOUSE_TCP_PORT"; }
clickhouse_start_timeout_s() { echo 60; }

# ---------------------------------------------------------------------------------------------
# Commands

cmd_install() {
  local c
  require_commands mvn "$JAVA" npm tar gcc
  for c in "${SELECTED[@]}"; do
    "install_$c"
  done
}

require_free_ports() {
  local port
  for port in $("${1}_ports"); do
    port_open "$port" || continue
    die "$1: port $port is already in use by a process this state directory ($STATE_DIR) did not start:
$(port_owner "$port")
Stop that process (for another checkout's stack: its deploy/local/stack.sh stop), or choose other ports (INFERMETER_*_PORT, see: $0 help)"
  done
}

write_stack_env() {
  cat >"$STACK_ENV.tmp" <<EOF
INFERMETER_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
INFERMETER_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
INFERMETER_SCHEMA_REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7
INFERMETER_CLICKHOUSE_URL=jdbc:clickhouse://127.0.0.1:$CLICKHOUSE_HTTP_PORT/default
INFERMETER_CLICKHOUSE_HTTP=http://127.0.0.1:$CLICKHOUSE_HTTP_PORT
EOF
  mv "$STACK_ENV.tmp" "$STACK_ENV"
}

cmd_start() {
  local c pid launched=()
  require_commands mvn "$JAVA" npm tar gcc curl setsid
  check_port_settings
  # Ports first: a taken port should fail now, not after minutes of downloads.
  for c in "${SELECTED[@]}"; do
    running_pid "$c" >/dev/null || require_free_ports "$c"
  done
  for c in "${SELECTED[@]}"; do
    "install_$c"
  done

  # Launch every server that is not running, then wait for them all: they start side by side.
  for c in "${SELECTED[@]}"; do
    if pid="$(running_pid "$c")"; then
      say "$c: already running, pid $pid"
      continue
    fi
    require_free_ports "$c"
    say "$c: starting (log: $(log_file "$c"))"
    launched+=("$c=${EPOCHREALTIME/./}")
    "launch_$c"
  done
  ((${#launched[@]} == 0)) || wait_ready "${launched[@]}"

  write_stack_env
  say "stack ready; addresses in $STACK_ENV:"
  sed 's/^/    /' "$STACK_ENV"
}

stop_one() {
  local name="$1" pid deadline_us
  if ! pid="$(running_pid "$name")"; then
    say "$name: not running"
    return
  fi
  say "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  deadline_us=$(( ${EPOCHREALTIME/./} + STOP_TIMEOUT_S * 1000000 ))
  while is_ours "$pid"; do
    if (( ${EPOCHREALTIME/./} >= deadline_us )); then
      say "$name: still running after ${STOP_TIMEOUT_S} s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$(pid_file "$name")"
  say "$name: stopped"
}

cmd_stop() {
  local i c
  # Reverse order of start: clients of Kafka (none here yet) before Kafka.
  for ((i = ${#SELECTED[@]} - 1; i >= 0; i--)); do
    stop_one "${SELECTED[$i]}"
  done
  # stack.env is there while some server runs: tests that find none get told to start the stack.
  for c in "${COMPONENTS[@]}"; do
    running_pid "$c" >/dev/null && return
  done
  rm -f "$STACK_ENV"
}

cmd_status() {
  local c pid all_running=0
  for c in "${SELECTED[@]}"; do
    if pid="$(running_pid "$c")"; then
      printf '%-11s running  pid %-8s port %-12s RSS %s MB\n' "$c" "$pid" "$("${c}_ports" | tr ' ' ',')" "$(rss_mb "$pid")"
    else
      printf '%-11s stopped  %-12s port %-12s\n' "$c" "" "$("${c}_ports" | tr ' ' ',')"
      all_running=3
    fi
  done
  return "$all_running"
}

cmd_env() {
  [[ -f "$STACK_ENV" ]] || die "no $STACK_ENV yet: run '$0 start' first"
  cat "$STACK_ENV"
}

cmd_logs() {
  local follow=0 c log logs=() args=()
  for c in "$@"; do
    if [[ "$c" == -f ]]; then follow=1; else args+=("$c"); fi
  done
  select_components "${args[@]+"${args[@]}"}"
  for c in "${SELECTED[@]}"; do
    while read -r log; do
      [[ -f "$log" ]] && logs+=("$log")
    done < <(component_logs "$c")
  done
  ((${#logs[@]} > 0)) || die "no logs yet in $LOG_DIR"
  if ((follow)); then
    exec tail -n 20 -F "${logs[@]}"
  fi
  tail -n 30 "${logs[@]}"
}

# Kafka Streams state directories of the apps that ./infermeter runs against this stack: ./infermeter streams
# (streams-state) and ./infermeter demo (demo/streams-state). Their checkpoints name offsets of changelog topics
# that a Kafka reset deletes; kept, a fresh run would find them ahead of the new, empty changelogs and wipe and
# restore every task as corrupted.
streams_state_dirs() { echo "$STATE_DIR/streams-state" "$STATE_DIR/demo/streams-state"; }

# A streams app of ./infermeter demo that still runs on its state directory (its pid file in the demo directory).
streams_app_running() {
  local pid
  [[ -f "$STATE_DIR/demo/streams.pid" ]] || return 1
  pid="$(cat "$STATE_DIR/demo/streams.pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

cmd_reset() {
  local c dir
  cmd_stop
  for c in "${SELECTED[@]}"; do
    case "$c" in
      kafka)
        rm -rf "$KAFKA_DIR/data"
        if streams_app_running; then
          say "kafka: the demo's streams app still runs (pid $(cat "$STATE_DIR/demo/streams.pid")): its state" \
            "directory is kept; stop it and run reset again"
        else
          for dir in $(streams_state_dirs); do
            if [[ -d "$dir" ]]; then
              rm -rf "$dir"
              say "kafka: streams app state $dir deleted"
            fi
          done
        fi
        ;;
      registry) rm -rf "$REGISTRY_DIR/data" ;;
      clickhouse) rm -rf "$CLICKHOUSE_DIR/data" ;;
    esac
    say "$c: data deleted"
  done
}

main() {
  local command="${1:-help}"
  (($# > 0)) && shift
  case "$command" in
    help | -h | --help)
      usage
      return
      ;;
  esac
  init_state_dir
  case "$command" in
    install) select_components "$@" && cmd_install ;;
    start) select_components "$@" && cmd_start ;;
    stop) select_components "$@" && cmd_stop ;;
    status) select_components "$@" && cmd_status ;;
    env) cmd_env ;;
    logs) cmd_logs "$@" ;;
    reset) select_components "$@" && cmd_reset ;;
    *)
      usage >&2
      die "unknown command '$command'"
      ;;
  esac
}

main "$@"
