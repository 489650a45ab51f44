# Helpers sourced by the scripts in this folder.

# Prints a TCP port on 127.0.0.1 that nothing listens on.
pantry_free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$(shuf -i 20000-60000 -n 1)
    if ! (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found on 127.0.0.1" >&2
  return 1
}

# Starts a private redis-server (no persistence, 127.0.0.1 only) on a free
# port with its files in DIR, in its own session so it outlives the script
# unless killed; waits until it answers. Sets REDIS_PORT and REDIS_PID.
pantry_start_redis() {
  local dir=$1
  REDIS_PORT=$(pantry_free_port)
  setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$dir" --daemonize no --loglevel warning >"$dir/redis.log" 2>&1 </dev/null &
  REDIS_PID=$!
  for _ in $(seq 1 200); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "redis-server did not start on port $REDIS_PORT:" >&2
  cat "$dir/redis.log" >&2
  return 1
}

# Prints the CPU seconds (user + system) process PID has used so far.
pantry_cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"
}

# Starts a private Redis Cluster in DIR: MASTERS masters (default 3) with
# REPLICAS replicas each (default 1), every node a redis-server on a free
# 127.0.0.1 port in its own folder (no persistence, node timeout 1000 ms),
# joined by `redis-cli --cluster create`; waits until the cluster says
# cluster_state:ok. Sets CLUSTER_PORTS (the nodes' ports, masters first as
# redis-cli assigns them) and CLUSTER_PIDS.
pantry_start_cluster() {
  local dir=$1 masters=${2:-3} replicas=${3:-1}
  local n=$((masters * (1 + replicas))) i port addrs=()
  CLUSTER_PORTS=()
  CLUSTER_PIDS=()
  # Ports below Linux's ephemeral range (32768 and up), so that no outgoing
  # connection holds one; a node that still fails to bind is started again
  # on other ports.
  local bus pid tries
  for i in $(seq 1 "$n"); do
    mkdir -p "$dir/node-$i"
    for tries in $(seq 1 20); do
      port=$(shuf -i 10000-32000 -n 1); bus=$(shuf -i 10000-32000 -n 1)
      [ "$port" = "$bus" ] && continue
      if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null ||
        (exec 3<>/dev/tcp/127.0.0.1/"$bus") 2>/dev/null; then
        continue
      fi
      setsid redis-server --port "$port" --cluster-port "$bus" --bind 127.0.0.1 --save "" \
        --appendonly no --cluster-enabled yes --cluster-config-file nodes.conf \
        --cluster-node-timeout 1000 --dir "$dir/node-$i" --daemonize no --loglevel warning \
        >"$dir/node-$i/redis.log" 2>&1 </dev/null &
      pid=$!
      for _ in $(seq 1 200); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
      done
      if kill -0 "$pid" 2>/dev/null && redis-cli -p "$port" ping >/dev/null 2>&1; then
        CLUSTER_PIDS+=("$pid")
        CLUSTER_PORTS+=("$port")
        addrs+=("127.0.0.1:$port")
        break
      fi
      kill "$pid" 2>/dev/null || true
    done
    if [ "${#CLUSTER_PORTS[@]}" -lt "$i" ]; then
      echo "could not start Redis Cluster node $i; its log:" >&2
      cat "$dir/node-$i/redis.log" >&2
      return 1
    fi
  done
  if ! redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes \
    >"$dir/create.log" 2>&1; then
    echo "redis-cli --cluster create failed:" >&2
    tail -20 "$dir/create.log" >&2
    return 1
  fi
  for _ in $(seq 1 600); do
    local ok=1
    for port in "${CLUSTER_PORTS[@]}"; do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || ok=0
    done
    [ "$ok" = 1 ] && return 0
    sleep 0.05
  done
  echo "the Redis Cluster in $dir did not reach cluster_state:ok" >&2
  return 1
}
