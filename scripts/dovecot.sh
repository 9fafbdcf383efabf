#!/usr/bin/env bash
# A throwaway Dovecot IMAP server (and an SMTP sink that delivers into it) on loopback, for development and the
# email integration tests. It never touches /etc/dovecot: everything lives under .run/dovecot/ in the repo.
# See shared/recipes/dovecot.md for why each setting is there.
#
#   scripts/dovecot.sh install|start|start-imap|stop|restart|status|kick USER
#
# IMAP on 127.0.0.1:${IMAP_PORT:-10143}, SMTP sink on 127.0.0.1:${SMTP_PORT:-10025}. Users (password "secret"):
# inbox@example.test (the default), sales@example.test, support@example.test.
# DOVECOT_INSTANCE=name (with another IMAP_PORT) runs a separate instance under .run/dovecot-name/, e.g. for a
# test that restarts its server without disturbing everyone else's; start-imap starts Dovecot without the sink.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/.run/dovecot${DOVECOT_INSTANCE:+-$DOVECOT_INSTANCE}"
IMAP_PORT="${IMAP_PORT:-10143}"
SMTP_PORT="${SMTP_PORT:-10025}"
CONF="$RUN/dovecot.conf"
SINK_PID="$RUN/smtp-sink.pid"
SINK_LOG="$RUN/smtp-sink.log"
USERS=(inbox@example.test sales@example.test support@example.test)
# Unix sockets are limited to 108 bytes: a deep checkout path would break Dovecot's base_dir, so fall back to /tmp.
BASE_DIR="$RUN/run"
if [ "${#BASE_DIR}" -gt 60 ]; then BASE_DIR="/tmp/dovecot-$(printf '%s' "$RUN" | md5sum | cut -c1-8)"; fi

# Which config the Dovecot on this port was started with, so `kick` also works from another checkout of the
# repo (CI's fresh clone finds the developer's instance already running and uses it).
POINTER="/tmp/contact-ingest-dovecot-$IMAP_PORT.conf-path"

log() { printf 'dovecot.sh: %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install_pkg() {
  if command -v dovecot >/dev/null && [ -x /usr/lib/dovecot/imap ]; then return 0; fi
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing dovecot-imapd"
  # Only refresh the package lists when apt does not know the package yet (a fresh machine).
  if ! apt-cache show dovecot-imapd >/dev/null 2>&1; then $sudo apt-get update -qq; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq dovecot-imapd >/dev/null
  # The package's own service is not used; on machines with an init system it may have started on port 143.
  $sudo service dovecot stop >/dev/null 2>&1 || true
}

write_config() {
  mkdir -p "$RUN/mail" "$BASE_DIR"
  # Login processes run as dovenull and must be able to reach base_dir.
  chmod 755 "$ROOT/.run" "$RUN" "$BASE_DIR"
  : >"$RUN/passwd.new"
  for u in "${USERS[@]}"; do echo "$u:{PLAIN}secret::::::" >>"$RUN/passwd.new"; done
  mv "$RUN/passwd.new" "$RUN/passwd"
  chmod 644 "$RUN/passwd"
  chown -R dovecot:dovecot "$RUN/mail"
  cat >"$CONF" <<CONF
# Written by scripts/dovecot.sh; edits are overwritten on the next start.
protocols = imap
listen = 127.0.0.1
base_dir = $BASE_DIR
state_dir = $RUN/state
log_path = $RUN/dovecot.log
info_log_path = $RUN/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:$RUN/mail/%d/%n
# Tests hold several connections per user (connector, sink, test client).
mail_max_userip_connections = 100
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $RUN/passwd
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$RUN/mail/%d/%n
}
namespace inbox {
  inbox = yes
  separator = /
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
  mkdir -p "$RUN/state"
}

dovecot_running() { [ -f "$CONF" ] && doveadm -c "$CONF" process status >/dev/null 2>&1 && port_open "$IMAP_PORT"; }

active_conf() {
  if [ -f "$CONF" ] && doveadm -c "$CONF" process status >/dev/null 2>&1; then echo "$CONF"; return; fi
  if [ -f "$POINTER" ] && [ -f "$(cat "$POINTER")" ]; then cat "$POINTER"; return; fi
  echo "$CONF"
}

sink_running() { [ -f "$SINK_PID" ] && kill -0 "$(cat "$SINK_PID")" 2>/dev/null; }

wait_port() {
  local port=$1 what=$2
  for _ in $(seq 1 100); do
    if port_open "$port"; then return 0; fi
    sleep 0.1
  done
  log "$what did not open port $port within 10 s"; return 1
}

start_dovecot() {
  if port_open "$IMAP_PORT"; then log "IMAP already answers on $IMAP_PORT"; return 0; fi
  install_pkg
  write_config
  # Its own stdio closed: a caller that captures our output (CI, execFileSync) must not wait on the daemon.
  dovecot -c "$CONF" </dev/null >/dev/null 2>&1
  wait_port "$IMAP_PORT" "dovecot" || { tail -20 "$RUN/dovecot.log" >&2; return 1; }
  echo "$CONF" >"$POINTER"
  log "IMAP on 127.0.0.1:$IMAP_PORT (log: $RUN/dovecot.log)"
}

start_sink() {
  if sink_running; then log "SMTP sink already running (pid $(cat "$SINK_PID"))"; return 0; fi
  # Another checkout's sink (same users, same Dovecot port) serves just as well.
  if port_open "$SMTP_PORT"; then log "SMTP already answers on $SMTP_PORT (not started from here)"; return 0; fi
  rm -f "$SINK_PID"
  # One node process (tsx as a loader, not its wrapper) in a session of its own, so it outlives the calling
  # shell (tests, CI steps); it writes its own pid file once listening, which is what stop signals.
  (cd "$ROOT" && IMAP_PORT="$IMAP_PORT" SMTP_PORT="$SMTP_PORT" PASSWD_FILE="$RUN/passwd" PID_FILE="$SINK_PID" \
    exec setsid nohup node --import tsx scripts/mail/smtp-sink.ts >>"$SINK_LOG" 2>&1 </dev/null) &
  wait_port "$SMTP_PORT" "SMTP sink" || { tail -20 "$SINK_LOG" >&2; return 1; }
  for _ in $(seq 1 20); do [ -s "$SINK_PID" ] && break; sleep 0.1; done
  log "SMTP sink on 127.0.0.1:$SMTP_PORT (pid $(cat "$SINK_PID"), log: $SINK_LOG)"
}

stop_dovecot() {
  if [ -f "$CONF" ] && doveadm -c "$CONF" stop 2>/dev/null; then
    for _ in $(seq 1 50); do port_open "$IMAP_PORT" || break; sleep 0.1; done
    log "dovecot stopped"
  fi
}

stop_sink() {
  if sink_running; then
    local pid; pid="$(cat "$SINK_PID")"
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    log "SMTP sink stopped"
  fi
  rm -f "$SINK_PID"
}

status() {
  local rc=0
  if dovecot_running; then
    echo "dovecot: running, IMAP 127.0.0.1:$IMAP_PORT"
  elif port_open "$IMAP_PORT"; then
    echo "dovecot: IMAP 127.0.0.1:$IMAP_PORT answers (started from $(active_conf))"
  else
    echo "dovecot: stopped"; rc=1
  fi
  if sink_running && port_open "$SMTP_PORT"; then
    echo "smtp-sink: running (pid $(cat "$SINK_PID")), SMTP 127.0.0.1:$SMTP_PORT"
  elif port_open "$SMTP_PORT"; then
    echo "smtp-sink: SMTP 127.0.0.1:$SMTP_PORT answers (not started from here)"
  else
    echo "smtp-sink: stopped"; rc=1
  fi
  return $rc
}

case "${1:-}" in
  install) install_pkg ;;
  start) start_dovecot && start_sink ;;
  start-imap) start_dovecot ;;
  stop) stop_sink; stop_dovecot ;;
  # Restarts Dovecot only (the sink opens a fresh IMAP connection per message): simulates a server restart.
  restart) stop_dovecot; start_dovecot ;;
  status) status ;;
  # Drops every IMAP connection of a user: simulates a network cut for reconnect tests.
  # Exit code 68 is "no users kicked": nothing to drop is not an error.
  kick) doveadm -c "$(active_conf)" kick "${2:?usage: dovecot.sh kick USER}" || [ $? -eq 68 ] ;;
  *) echo "usage: $0 install|start|start-imap|stop|restart|status|kick USER" >&2; exit 2 ;;
esac
