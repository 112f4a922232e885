#!/usr/bin/env bash
# Make a PostgreSQL server available for the test suite, and print its SQLAlchemy URL.
#
#   export TUNEOPS_TEST_PG_URL="$(bash .ci/postgres.sh)"
#
# Idempotent: installs Debian's `postgresql` package if no server is installed, makes sure a cluster
# exists, listens only on 127.0.0.1 and is running, creates (or resets) a test role and database,
# checks that the URL really works over TCP with the password, then prints exactly ONE line on stdout:
#
#   postgresql+psycopg://tuneops:tuneops_test_only@127.0.0.1:<port>/tuneops_test
#
# Everything else goes to stderr. Exits non-zero with a message if the server cannot be started.
# Needs root (apt-get, and running commands as the `postgres` system user). Written for Debian 12
# machines with no systemd (PID 1 is not systemd there, so `service`/`systemctl` are of no use): the
# cluster is driven with postgresql-common's pg_ctlcluster, which then runs pg_ctl itself.
#
# The password is a throwaway for a server that only listens on loopback; it is not a secret.
set -euo pipefail

# All output of this script and of the commands it runs goes to stderr; fd 3 keeps the real stdout for
# the single URL line printed at the end.
exec 3>&1 1>&2

ROLE=tuneops
PASSWORD=tuneops_test_only     # URL-safe on purpose: it is put into the URL as is
DATABASE=tuneops_test
# Debian's default cluster, created if missing. TUNEOPS_PG_CLUSTER=<name> uses (or creates, on the next
# free port) another cluster, e.g. to try this script without touching a server others are using.
CLUSTER="${TUNEOPS_PG_CLUSTER:-main}"
LISTEN=127.0.0.1
WAIT_SECONDS=60                # bounded wait for the server to accept connections

log() { printf 'postgres.sh: %s\n' "$*"; }
die() {
    printf 'postgres.sh: ERROR: %s\n' "$*"
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages and runs commands as the postgres user)"

# psql run as `postgres` would complain that it cannot read the caller's working directory.
cd /

# Serialize concurrent runs (two shells, or a developer and CI): apt and cluster creation must not race.
exec 9>/run/lock/tuneops-postgres.lock
flock -w 600 9 || die "another .ci/postgres.sh run has held the lock for 10 minutes"

export DEBIAN_FRONTEND=noninteractive
# pg_ctlcluster hands start/stop to systemctl when /run/systemd/system exists. These machines have no
# systemd as PID 1, so make sure it never tries (a leftover /run/systemd/system would make it fail).
export _SYSTEMCTL_SKIP_REDIRECT=1
# initdb (run by pg_createcluster, including the one in the package's postinst) needs a locale that
# exists; C.UTF-8 is built into Debian's libc, whatever locales are generated on the machine.
export LANG=C.UTF-8 LC_ALL=C.UTF-8

# Newest PostgreSQL major version whose server binary is installed (Debian: /usr/lib/postgresql/<ver>/).
server_version() {
    local bin
    for bin in /usr/lib/postgresql/*/bin/postgres; do
        # (if, not &&: with no match the loop must still succeed, or pipefail + set -e end the script)
        if [ -x "$bin" ]; then basename "$(dirname "$(dirname "$bin")")"; fi
    done | sort -V | tail -n 1
}

# --- 1. install ---------------------------------------------------------------------------------------
# `postgresql` is Debian's metapackage for the supported major version (15 on Debian 12); it pulls in
# postgresql-common (pg_lsclusters, pg_createcluster, pg_ctlcluster) and the client (psql, pg_isready).
# Its postinst creates the "<ver>/main" cluster; it does not start it where policy-rc.d forbids
# starting services (as on these machines), which is fine: step 3 starts it.
VERSION="$(server_version)"
if [ -z "$VERSION" ] || ! command -v pg_lsclusters >/dev/null || ! command -v psql >/dev/null; then
    log "no PostgreSQL server found; installing Debian's postgresql package"
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends postgresql || die "apt-get install postgresql failed"
    VERSION="$(server_version)"
    [ -n "$VERSION" ] || die "postgresql was installed but no server binary is in /usr/lib/postgresql/*/bin"
else
    log "PostgreSQL $VERSION server is installed"
fi

# --- 2. cluster ---------------------------------------------------------------------------------------
# A Debian "cluster" is a data directory (/var/lib/postgresql/<ver>/<name>) plus its configuration in
# /etc/postgresql/<ver>/<name>/, owned by the postgres user. pg_lsclusters prints one line per cluster:
#   Ver Cluster Port Status Owner Data-directory Log-file
if ! pg_lsclusters -h "$VERSION" "$CLUSTER" >/dev/null 2>&1 \
    || [ -z "$(pg_lsclusters -h "$VERSION" "$CLUSTER" 2>/dev/null)" ]; then
    log "creating cluster $VERSION/$CLUSTER"
    # No -p: pg_createcluster takes 5432 unless another cluster has it, then the next free port.
    pg_createcluster --locale=C.UTF-8 "$VERSION" "$CLUSTER" || die "pg_createcluster $VERSION $CLUSTER failed"
fi
read -r _ _ PORT STATUS OWNER DATADIR LOGFILE < <(pg_lsclusters -h "$VERSION" "$CLUSTER") \
    || die "pg_lsclusters does not list cluster $VERSION/$CLUSTER"
log "cluster $VERSION/$CLUSTER: port $PORT, status $STATUS, data $DATADIR, log $LOGFILE"

# Listen on IPv4 loopback only (Debian's default, 'localhost', also takes ::1). Debian's postgresql.conf
# ends with `include_dir = 'conf.d'`, so a drop-in file there overrides it without editing it.
# (Not `pg_conftool set listen_addresses 127.0.0.1`: pg_conftool takes 127.0.0.1 for a number and
# writes it unquoted, which postgres rejects as a syntax error.) A change needs a restart.
CONFDIR="/etc/postgresql/$VERSION/$CLUSTER"
if ! grep -Eq "^[[:space:]]*include_dir[[:space:]]*=?[[:space:]]*'conf\.d'" "$CONFDIR/postgresql.conf"; then
    log "adding include_dir = 'conf.d' to $CONFDIR/postgresql.conf (a cluster not made by pg_createcluster?)"
    printf "\n# added by tuneops .ci/postgres.sh\ninclude_dir = 'conf.d'\n" >> "$CONFDIR/postgresql.conf"
fi
install -d -o "$OWNER" -g "$OWNER" -m 755 "$CONFDIR/conf.d"
# "zz-" so that it is read after any other drop-in (conf.d files are read in name order).
cat > "$CONFDIR/conf.d/zz-tuneops-tests.conf" <<CONF
# Written by tuneops .ci/postgres.sh: the test server listens on IPv4 loopback only.
listen_addresses = '$LISTEN'
CONF
chown "$OWNER:$OWNER" "$CONFDIR/conf.d/zz-tuneops-tests.conf"

# --- 3. start -----------------------------------------------------------------------------------------
# The server outlives this script, so it must not inherit our file descriptors beyond 0-2 (pg_ctl only
# redirects stdin/stdout/stderr): fd 3 is the stdout of `$(bash .ci/postgres.sh)`, which would then never
# see EOF and hang the caller, fd 9 holds the lock, and a CI runner may pass pipes of its own.
pg_ctlcluster_closing_fds() (
    local path fd
    for path in "/proc/$BASHPID/fd/"*; do   # $BASHPID: this subshell, not the script
        fd="${path##*/}"
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
    done
    exec pg_ctlcluster "$@"
)

show_log_tail() {
    if [ -r "$LOGFILE" ]; then
        log "last lines of $LOGFILE:"
        tail -n 30 "$LOGFILE" || true
    fi
}

case "$STATUS" in
    online*)
        # listen_addresses only changes on a restart: restart if the running server has another value.
        running_listen="$(runuser -u "$OWNER" -- psql -X -At -p "$PORT" -d postgres \
            -c 'SHOW listen_addresses' || true)"
        if [ "$running_listen" != "$LISTEN" ]; then
            log "restarting cluster $VERSION/$CLUSTER: it listens on '$running_listen', not '$LISTEN'"
            pg_ctlcluster_closing_fds "$VERSION" "$CLUSTER" restart || { show_log_tail; die "could not restart PostgreSQL"; }
        fi
        ;;
    *)
        # The socket directory lives under /run, which may be empty on a fresh boot; pg_ctlcluster
        # normally creates it, this only makes sure its owner and mode are Debian's.
        install -d -o "$OWNER" -g "$OWNER" -m 2775 /var/run/postgresql
        for attempt in 1 2 3; do
            # A server that was killed (sessions end by killing their processes) leaves postmaster.pid
            # and the socket's .lock file behind. PostgreSQL ignores them if their PID is gone, but
            # refuses to start if the PID now belongs to another process, as happens when PIDs are
            # reused after the machine restarts. pg_lsclusters said "down", so a lock file whose PID is
            # not a postgres process is stale.
            for lockfile in "$DATADIR/postmaster.pid" "/var/run/postgresql/.s.PGSQL.$PORT.lock"; do
                [ -f "$lockfile" ] || continue
                oldpid="$(head -n 1 "$lockfile" || true)"
                if [ -z "$oldpid" ] || [ "$(cat "/proc/$oldpid/comm" 2>/dev/null || true)" != postgres ]; then
                    log "removing stale $lockfile (PID ${oldpid:-?} is not a running postgres)"
                    rm -f "$lockfile"
                fi
            done
            log "starting cluster $VERSION/$CLUSTER (attempt $attempt of 3)"
            if pg_ctlcluster_closing_fds "$VERSION" "$CLUSTER" start; then
                break
            fi
            # A postmaster killed a moment ago can linger (as a zombie) until it is reaped: retry.
            if [ "$attempt" -eq 3 ]; then
                show_log_tail
                die "could not start PostgreSQL cluster $VERSION/$CLUSTER (log: $LOGFILE)"
            fi
            sleep 3
            # Someone may have started it by hand meanwhile (this script's runs are serialized).
            if [[ "$(pg_lsclusters -h "$VERSION" "$CLUSTER" | awk '{print $4}')" == online* ]]; then
                break
            fi
        done
        ;;
esac

# pg_ctlcluster already waits for startup; still wait, bounded, until TCP connections are accepted.
deadline=$((SECONDS + WAIT_SECONDS))
until pg_isready -q -h "$LISTEN" -p "$PORT"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        show_log_tail
        die "PostgreSQL is not accepting connections on $LISTEN:$PORT after ${WAIT_SECONDS}s"
    fi
    sleep 0.5
done
log "server accepts connections on $LISTEN:$PORT"

# --- 4. role and database -----------------------------------------------------------------------------
# As the postgres superuser over the Unix socket (Debian's pg_hba.conf: "local all postgres peer").
as_postgres() { runuser -u "$OWNER" -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@"; }

# CREATEDB so the tests can make a throwaway database per test. The password is (re)set on every run.
as_postgres <<SQL || die "could not create role $ROLE"
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE;
    END IF;
END
\$\$;
ALTER ROLE $ROLE WITH LOGIN CREATEDB NOSUPERUSER PASSWORD '$PASSWORD';
SQL

if [ "$(as_postgres -At -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]; then
    log "creating database $DATABASE"
    as_postgres -c "CREATE DATABASE $DATABASE OWNER $ROLE" || die "could not create database $DATABASE"
fi

# --- 5. check, then print the URL ---------------------------------------------------------------------
# Log in exactly as the tests will: TCP to 127.0.0.1 with the password (Debian's pg_hba.conf has
# "host all all 127.0.0.1/32 scram-sha-256"), and confirm where the server listens.
actual_listen="$(PGPASSWORD="$PASSWORD" psql -X -At -h "$LISTEN" -p "$PORT" -U "$ROLE" -d "$DATABASE" \
    -c 'SHOW listen_addresses')" \
    || die "cannot log in as $ROLE to $DATABASE at $LISTEN:$PORT with the password (check pg_hba.conf)"
[ "$actual_listen" = "$LISTEN" ] \
    || die "server listens on '$actual_listen', not only '$LISTEN' (a conf.d file may override it)"

log "ready: PostgreSQL $VERSION, cluster $CLUSTER, $LISTEN:$PORT, database $DATABASE, role $ROLE"
printf 'postgresql+psycopg://%s:%s@%s:%s/%s\n' "$ROLE" "$PASSWORD" "$LISTEN" "$PORT" "$DATABASE" >&3
