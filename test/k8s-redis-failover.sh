#!/usr/bin/env bash
# The Redis StatefulSet's life on one machine, for test/k8s-redis-failover.test.ts. Run in a
# private mount namespace (unshare --mount) whose /etc/hosts maps the pods' DNS names
# redis-N.redis.object-monitor.svc.cluster.local to 127.0.0.2-4, each "pod" is a redis-server
# and a sentinel started from the files k8s/base/redis init.sh writes. Scenario: first start,
# kill the master pod, Sentinel fails over, the pod restarts through init.sh again.
# Prints one JSON line with what it saw. Usage: k8s-redis-failover.sh WORK_DIR INIT_SH
set -euo pipefail
W=$1 INIT=$2
NS=object-monitor
host () { echo "redis-$1.redis.$NS.svc.cluster.local"; }
ip () { echo "127.0.0.$(( $1 + 2 ))"; }

trap 'for f in "$W"/pod-*/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done; true' EXIT
{ cat /etc/hosts; for i in 0 1 2; do echo "$(ip $i) $(host $i)"; done; } > "$W/hosts"
mount --bind "$W/hosts" /etc/hosts

start_pod () {
  local i=$1 dir="$W/pod-$1"
  mkdir -p "$dir/data" "$dir/conf"
  POD_NAME="redis-$i" POD_NAMESPACE=$NS DATA_DIR="$dir/data" CONF_DIR="$dir/conf" sh "$INIT" > "$dir/init.log" 2>&1
  # Faster failure detection than the manifests' 5 s / 60 s, only to keep the test short.
  sed -i -e 's/down-after-milliseconds mymaster 5000/down-after-milliseconds mymaster 1000/' \
         -e 's/failover-timeout mymaster 60000/failover-timeout mymaster 5000/' "$dir/data/sentinel/sentinel.conf"
  redis-server "$dir/conf/redis.conf" --bind "$(ip "$i")" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  redis-server "$dir/data/sentinel/sentinel.conf" --sentinel --bind "$(ip "$i")" --daemonize yes --pidfile "$dir/sentinel.pid" --logfile "$dir/sentinel.log"
}

stop_pod () {
  for f in "$W/pod-$1"/*.pid; do kill -9 "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; done
}

until_true () { # until_true SECONDS COMMAND...
  local seconds=$1; shift
  for _ in $(seq 1 $(( seconds * 10 ))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out: $*" >&2; return 1
}

master_of () { redis-cli -h "$(host "$1")" -p 26379 --raw sentinel get-master-addr-by-name mymaster | head -n 1; }
sentinels_ready () { # every sentinel sees two live replicas and its two peers
  for i in 0 1 2; do
    [ "$(redis-cli -h "$(host "$i")" -p 26379 --raw sentinel replicas mymaster | paste - - | awk '$1=="flags"{print $2}' | grep -c '^slave$')" = 2 ] || return 1
    [ "$(redis-cli -h "$(host "$i")" -p 26379 --raw sentinel sentinels mymaster | paste - - | awk '$1=="flags"{print $2}' | grep -c '^sentinel$')" = 2 ] || return 1
  done
}
linked () { redis-cli -h "$(host "$1")" info replication | grep -q '^master_link_status:up'; }
role () { redis-cli -h "$(host "$1")" info replication | grep '^role:' | tr -d '\r' | cut -d: -f2; }

for i in 0 1 2; do start_pod "$i"; done
until_true 20 linked 1
until_true 20 linked 2
until_true 30 sentinels_ready
first_master=$(master_of 1)
redis-cli -h "$first_master" set before-failover yes > /dev/null

stop_pod 0
until_true 30 sh -c "[ \"\$(redis-cli -h $(host 1) -p 26379 --raw sentinel get-master-addr-by-name mymaster | head -n 1)\" != $(host 0) ]"
new_master=$(master_of 1)
redis-cli -h "$new_master" set after-failover yes > /dev/null

start_pod 0
until_true 30 linked 0
# Sentinel has reconfigured once every sentinel, the restarted one included, names the new
# master: a signal to wait for, where a fixed pause is outlasted on a slow machine.
converged () {
  for i in 0 1 2; do [ "$(master_of "$i")" = "$new_master" ] || return 1; done
}
until_true 30 converged || { for i in 0 1 2; do echo "sentinel $i names $(master_of "$i")" >&2; done; exit 1; }
masters=0
for i in 0 1 2; do [ "$(role "$i")" = master ] && masters=$((masters + 1)); done
restarted_master_host=$(redis-cli -h "$(host 0)" info replication | grep '^master_host:' | tr -d '\r' | cut -d: -f2)
until_true 10 sh -c "[ \"\$(redis-cli -h $(host 0) get after-failover)\" = yes ]"
# The restarted sentinel's file still named the old master; it learnt the new one (converged).
printf '{"firstMaster":"%s","newMaster":"%s","restartedRole":"%s","restartedMasterHost":"%s","masters":%d,"restartedSentinelSees":"%s","initLog":"%s","keys":"%s %s"}\n' \
  "$first_master" "$new_master" "$(role 0)" "$restarted_master_host" "$masters" "$(master_of 0)" \
  "$(tail -n 1 "$W/pod-0/init.log")" "$(redis-cli -h "$(host 0)" get before-failover)" "$(redis-cli -h "$(host 0)" get after-failover)"
