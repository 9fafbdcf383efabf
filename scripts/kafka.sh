#!/usr/bin/env bash
# Local Apache Kafka for development and integration tests: one KRaft node (broker + controller) run straight
# from Maven Central jars, because this environment has Java and Maven but no Docker and no tarball downloads.
#
#   scripts/kafka.sh install   fetch the broker jars into .kafka/libs (skipped when present)
#   scripts/kafka.sh start     format storage once, start in the background, wait until metadata requests work
#   scripts/kafka.sh stop      graceful shutdown (SIGTERM, wait, SIGKILL as a last resort)
#   scripts/kafka.sh status    exit 0 when the broker answers metadata requests
#
# Env: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093), KAFKA_HEAP_OPTS (-Xms256m -Xmx512m),
#      KAFKA_START_TIMEOUT seconds (90), KAFKA_STATE_DIR (<repo>/.kafka: data, log, pid; jars stay in
#      KAFKA_LIBS, default <repo>/.kafka/libs). Works from any cwd; by default everything lives in <repo>/.kafka
#      (gitignored).
#
# The production shape on one machine: three KRaft nodes (each broker + controller), replication factor 3,
# min.insync.replicas 2, on their own ports and data dirs. It never touches the single broker above.
#
#   scripts/kafka.sh cluster start        format (once) and start the nodes that are not running, wait until
#                                         every node answers metadata naming all three brokers
#   scripts/kafka.sh cluster stop [N]     stop all nodes (SIGTERM to all at once, SIGKILL after 30 s), or node N
#   scripts/kafka.sh cluster status       per node: pid and port; then the cluster's brokers and controller
#   scripts/kafka.sh cluster kill N       SIGKILL node N (1-3), for fault tests; `cluster start` brings it back
#   scripts/kafka.sh cluster reset        stop, then delete the cluster's data (the next start is a fresh cluster)
#   scripts/kafka.sh cluster brokers      print the bootstrap list (127.0.0.1:29192,127.0.0.1:29193,...)
#   scripts/kafka.sh cluster controller   print the node id (1-3) of the active KRaft controller
#
# Cluster env: KAFKA_CLUSTER_PORT (29192: brokers on 29192-29194, controllers on 29292-29294; away from the
#      shared broker (19092), outage-check's 29092 and the fault bench's 39092), KAFKA_CLUSTER_DIR (<repo>/.kafka-cluster),
#      KAFKA_CLUSTER_HEAP_OPTS (-Xms256m -Xmx384m per node), KAFKA_START_TIMEOUT.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Jars are shared; state (data, log, pid) can move, so a second broker can run beside the shared one.
LIBS="${KAFKA_LIBS:-$ROOT/.kafka/libs}"
KDIR="${KAFKA_STATE_DIR:-$ROOT/.kafka}"
DATA="$KDIR/data"
PROPS="$KDIR/server.properties"
PIDFILE="$KDIR/kafka.pid"
LOG="$KDIR/kafka.log"
POM="$ROOT/scripts/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
PORT="${KAFKA_PORT:-19092}"
CPORT="${KAFKA_CONTROLLER_PORT:-19093}"
BROKER="127.0.0.1:$PORT"
# Small heap: the box has 2 cores shared with PostgreSQL and Node.
HEAP="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
TIMEOUT="${KAFKA_START_TIMEOUT:-90}"

log() { echo "kafka.sh: $*" >&2; }

# Serialise install/start/stop: several engineers (and test runners) share this broker and may call us at once.
mkdir -p "$KDIR" "$ROOT/.kafka"
exec 9>"$ROOT/.kafka/.lock"
lock() { flock -w 300 9 || { log "could not take $ROOT/.kafka/.lock"; exit 1; }; }

# The pid must still be our broker: after a reboot a stale pid file can name an unrelated process.
pid_alive() { [[ -f "$PIDFILE" ]] && grep -qa kafka.Kafka "/proc/$(cat "$PIDFILE")/cmdline" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
# Metadata round-trip through kafkajs, the client the service uses (scripts/kafka/ready.mjs); before
# `npm install` has run, ask with Kafka's own Java tool instead (slower: a JVM start per probe).
metadata_ok() {
  if [[ -d "$ROOT/node_modules/kafkajs" ]]; then
    node "$ROOT/scripts/kafka/ready.mjs" "$BROKER"
  else
    java -Xmx128m -cp "$LIBS/*" -Dlog4j.configuration="file:$ROOT/scripts/kafka/log4j.properties" \
      kafka.admin.BrokerApiVersionsCommand --bootstrap-server "$BROKER" >/dev/null 2>&1 && echo "ok: $BROKER answers"
  fi
}
# shellcheck disable=SC2206 # HEAP is a list of JVM flags on purpose
JAVA=(java $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$ROOT/scripts/kafka/log4j.properties" -cp "$LIBS/*")

cmd_install() {
  if [[ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
    log "jars for Kafka $KAFKA_VERSION already in $LIBS"
    return 0
  fi
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central"
  # Copy into a temp dir and rename, so an interrupted download never looks like a complete install.
  rm -rf "$LIBS.tmp"
  mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp"
  rm -rf "$LIBS"
  mv "$LIBS.tmp" "$LIBS"
  log "installed $(ls "$LIBS" | wc -l) jars into $LIBS"
}

write_properties() {
  cat >"$PROPS" <<EOF
# Generated by scripts/kafka.sh start; edit the script, not this file.
process.roles=broker,controller
node.id=${NODE_ID:-1}
controller.quorum.voters=${VOTERS:-1@127.0.0.1:$CPORT}
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
# Topics are created by the service (bus/kafka-bus.ts) with explicit partition counts; a typo must fail.
auto.create.topics.enable=false
num.partitions=1
# Single node: every internal topic has one replica (the cluster mode sets 3 and 2).
offsets.topic.replication.factor=${REPLICAS:-1}
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=${REPLICAS:-1}
transaction.state.log.min.isr=${MIN_ISR:-1}
default.replication.factor=${REPLICAS:-1}
min.insync.replicas=${MIN_ISR:-1}
# Tests start many short-lived consumer groups; don't make each wait 3 s for more members.
group.initial.rebalance.delay.ms=0
# Sized for a shared 2-core box; tests create many small topics, keep data for a day only.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=67108864
EOF
}

cmd_start() {
  cmd_install
  if pid_alive; then
    log "already running (pid $(cat "$PIDFILE"))"
    wait_ready 30
    return
  fi
  if port_open; then
    # Someone else's broker (or a leftover without a pid file) holds the port: usable if it answers.
    log "port $PORT is already open and not ours; checking whether it is a working broker"
    metadata_ok && return 0
    log "port $PORT is taken by something that is not a working Kafka broker"
    exit 1
  fi
  write_properties
  if [[ ! -f "$DATA/meta.properties" ]]; then
    local cid
    cid="$("${JAVA[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
    log "formatting $DATA with cluster id $cid"
    "${JAVA[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$cid" -c "$PROPS" >>"$LOG" 2>&1 ||
      { log "storage format failed"; tail -n 40 "$LOG" >&2; exit 1; }
  fi
  log "starting Kafka $KAFKA_VERSION on $BROKER (controller 127.0.0.1:$CPORT), log $LOG"
  echo "==== $(date -Is) start" >>"$LOG"
  # setsid + nohup + closed stdin: the broker must outlive this shell and whatever job runner launched it.
  # fd 9 (our lock) is closed for the child, or the broker would hold the lock for its whole life.
  # setsid without -f does not fork here (we are not a group leader), so $! is the java pid.
  (cd "$KDIR" && exec setsid nohup "${JAVA[@]}" kafka.Kafka "$PROPS" </dev/null >>"$LOG" 2>&1 9>&-) &
  echo $! >"$PIDFILE"
  wait_ready "$TIMEOUT"
}

wait_ready() {
  local limit=$1 start=$SECONDS
  while ((SECONDS - start < limit)); do
    if ! pid_alive; then
      log "broker process exited during start-up; last log lines:"
      tail -n 60 "$LOG" >&2
      rm -f "$PIDFILE"
      exit 1
    fi
    if port_open && metadata_ok >/dev/null; then
      log "ready after $((SECONDS - start)) s (pid $(cat "$PIDFILE"))"
      return 0
    fi
    sleep 1
  done
  log "not ready after ${limit} s (pid $(cat "$PIDFILE") left running: 'status' to re-check, 'stop' to end it)"
  tail -n 60 "$LOG" >&2
  exit 1
}

cmd_stop() {
  if ! pid_alive; then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  local pid
  pid="$(cat "$PIDFILE")"
  log "stopping pid $pid"
  kill -TERM "$pid"
  # Controlled shutdown of a combined node takes a few seconds; only force it if it hangs.
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; log "stopped"; return 0; }
    sleep 0.5
  done
  log "still alive after 30 s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

cmd_status() {
  if pid_alive; then log "process running (pid $(cat "$PIDFILE"))"; else log "no process started by this script"; fi
  metadata_ok
}

# ---- three-node cluster ------------------------------------------------------------------------------------
CLUSTER_DIR="${KAFKA_CLUSTER_DIR:-$ROOT/.kafka-cluster}"
CLUSTER_PORT="${KAFKA_CLUSTER_PORT:-29192}"
CLUSTER_NODES=3
cluster_brokers() {
  local i out=()
  for i in $(seq 1 $CLUSTER_NODES); do out+=("127.0.0.1:$((CLUSTER_PORT + i - 1))"); done
  (IFS=,; echo "${out[*]}")
}

# Points the single-broker globals (ports, state files) at node $1, so the functions above serve each node.
use_node() {
  local i=$1 v=() j
  NODE_ID=$i
  PORT=$((CLUSTER_PORT + i - 1))
  CPORT=$((CLUSTER_PORT + 100 + i - 1))
  BROKER="127.0.0.1:$PORT"
  KDIR="$CLUSTER_DIR/node$i"
  DATA="$KDIR/data"
  PROPS="$KDIR/server.properties"
  PIDFILE="$KDIR/kafka.pid"
  LOG="$KDIR/kafka.log"
  for j in $(seq 1 $CLUSTER_NODES); do v+=("$j@127.0.0.1:$((CLUSTER_PORT + 100 + j - 1))"); done
  VOTERS="$(IFS=,; echo "${v[*]}")"
  REPLICAS=3
  MIN_ISR=2
}

cluster_lock() {
  mkdir -p "$CLUSTER_DIR"
  exec 8>"$CLUSTER_DIR/.lock"
  flock -w 300 8 || { log "could not take $CLUSTER_DIR/.lock"; exit 1; }
}

cluster_start() {
  lock; cmd_install; flock -u 9
  # shellcheck disable=SC2206 # a list of JVM flags on purpose
  JAVA=(java ${KAFKA_CLUSTER_HEAP_OPTS:--Xms256m -Xmx384m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -Djava.awt.headless=true "-Dlog4j.configuration=file:$ROOT/scripts/kafka/log4j.properties" -cp "$LIBS/*")
  local cid i
  [[ -f "$CLUSTER_DIR/cluster.id" ]] ||
    "${JAVA[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1 >"$CLUSTER_DIR/cluster.id"
  cid="$(cat "$CLUSTER_DIR/cluster.id")"
  # Start every missing node before waiting: a controller quorum needs two voters to elect anyone.
  for i in $(seq 1 $CLUSTER_NODES); do
    use_node "$i"
    mkdir -p "$KDIR"
    if pid_alive; then continue; fi
    if port_open; then log "node $i: port $PORT is taken by another process"; exit 1; fi
    write_properties
    if [[ ! -f "$DATA/meta.properties" ]]; then
      "${JAVA[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$cid" -c "$PROPS" >>"$LOG" 2>&1 ||
        { log "node $i: storage format failed"; tail -n 40 "$LOG" >&2; exit 1; }
    fi
    log "node $i: starting on $BROKER (controller 127.0.0.1:$CPORT), log $LOG"
    echo "==== $(date -Is) start" >>"$LOG"
    (cd "$KDIR" && exec setsid nohup "${JAVA[@]}" kafka.Kafka "$PROPS" </dev/null >>"$LOG" 2>&1 8>&- 9>&-) &
    echo $! >"$PIDFILE"
  done
  cluster_wait "$TIMEOUT"
}

# Ready when every node answers metadata naming all the cluster's brokers (so topics get all their replicas).
cluster_wait() {
  local limit=$1 start=$SECONDS i ok
  while ((SECONDS - start < limit)); do
    ok=1
    for i in $(seq 1 $CLUSTER_NODES); do
      use_node "$i"
      if ! pid_alive; then
        log "node $i exited during start-up; last log lines:"
        tail -n 40 "$LOG" >&2
        exit 1
      fi
      port_open && node "$ROOT/scripts/kafka/ready.mjs" "$BROKER" "$CLUSTER_NODES" >/dev/null || { ok=0; break; }
    done
    if ((ok)); then
      log "cluster ready after $((SECONDS - start)) s: $(cluster_brokers)"
      return 0
    fi
    sleep 1
  done
  log "cluster not ready after ${limit} s ('cluster status' to re-check, 'cluster stop' to end it)"
  exit 1
}

cluster_stop() {
  local i pids=() only=${1:-}
  for i in $(seq 1 $CLUSTER_NODES); do
    [[ -z "$only" || "$only" == "$i" ]] || continue
    use_node "$i"
    if pid_alive; then pids+=("$(cat "$PIDFILE")"); fi
  done
  if ((${#pids[@]} == 0)); then log "cluster not running"; return 0; fi
  # All at once: a node stopped last cannot finish a controlled shutdown without a controller quorum.
  log "stopping cluster nodes (pids ${pids[*]})"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 60); do
    local alive=0 p
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.5
  done
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && { log "pid $p still alive after 30 s, SIGKILL"; kill -KILL "$p" 2>/dev/null || true; }; done
  for i in $(seq 1 $CLUSTER_NODES); do
    [[ -z "$only" || "$only" == "$i" ]] || continue
    use_node "$i"
    rm -f "$PIDFILE"
  done
  log "${only:+node $only of the }cluster stopped"
}

cluster_kill() {
  local i=${1:?usage: cluster kill N}
  ((i >= 1 && i <= CLUSTER_NODES)) || { log "no node $i"; exit 2; }
  use_node "$i"
  if ! pid_alive; then log "node $i is not running"; return 0; fi
  log "node $i: SIGKILL pid $(cat "$PIDFILE")"
  kill -KILL "$(cat "$PIDFILE")"
  rm -f "$PIDFILE"
}

cluster_status() {
  local i
  for i in $(seq 1 $CLUSTER_NODES); do
    use_node "$i"
    if pid_alive; then log "node $i: running (pid $(cat "$PIDFILE")) on $BROKER"; else log "node $i: not running ($BROKER)"; fi
  done
  node "$ROOT/scripts/kafka/ready.mjs" "$(cluster_brokers)"
}

# The active KRaft controller: clients cannot ask for it (Metadata names a random broker in KRaft mode), so read
# the Raft leader transitions from the running nodes' logs; the highest epoch is the current leader.
cluster_controller() {
  local i e best="" best_epoch=-1
  for i in $(seq 1 $CLUSTER_NODES); do
    use_node "$i"
    pid_alive || continue
    e="$(grep -oE "RaftManager id=$i\] Completed transition to Leader\(localReplicaKey=ReplicaKey\(id=$i, [^)]*\), epoch=[0-9]+" "$LOG" |
      tail -1 | grep -oE '[0-9]+$' || true)"
    if [[ -n "$e" ]] && ((e > best_epoch)); then best=$i; best_epoch=$e; fi
  done
  [[ -n "$best" ]] || { log "no running node has been the controller"; exit 1; }
  echo "$best"
}

cluster_cmd() {
  case "${1:-}" in
    start) cluster_lock; cluster_start ;;
    stop) cluster_lock; cluster_stop "${2:-}" ;;
    status) cluster_status ;;
    kill) cluster_lock; cluster_kill "${2:-}" ;;
    reset) cluster_lock; cluster_stop; rm -rf "${CLUSTER_DIR:?}"/node* "$CLUSTER_DIR/cluster.id"; log "cluster data removed" ;;
    brokers) cluster_brokers ;;
    controller) cluster_controller ;;
    *) echo "usage: $0 cluster start|stop [N]|status|kill N|reset|brokers|controller" >&2; exit 2 ;;
  esac
}

case "${1:-}" in
  install) lock; cmd_install ;;
  start) lock; cmd_start ;;
  stop) lock; cmd_stop ;;
  status) cmd_status ;;
  cluster) shift; cluster_cmd "$@" ;;
  *) echo "usage: $0 install|start|stop|status|cluster ..." >&2; exit 2 ;;
esac
