#!/usr/bin/env bash
# redis-cli --cluster reshard against a SIGSTOPped source (tests/data/redis-cli-paused.txt). Loopback only;
# every redis-server is started here and stopped by its PID.
set -u
base=7420
work=$(mktemp -d)  # every server's dir and the logs; removed at the end
pids=()
for i in 0 1 2; do
  p=$((base+i)); d=$work/n$p; rm -rf $d; mkdir -p $d
  redis-server --port $p --bind 127.0.0.1 --dir $d --cluster-enabled yes --save "" --appendonly no --daemonize no --logfile $d/log &
  pids+=($!)
done
sleep 0.5
yes yes | redis-cli --cluster create 127.0.0.1:$base 127.0.0.1:$((base+1)) 127.0.0.1:$((base+2)) >/dev/null 2>&1
sleep 2
for j in $(seq 1 50); do redis-cli -p $base -c set "{t10790}:$j" v >/dev/null; done
src=$(redis-cli -p $base cluster myid); dst=$(redis-cli -p $((base+1)) cluster myid)
slot=$(redis-cli -p $base cluster keyslot "{t10790}")
echo "slot $slot owner: $(redis-cli -p $base cluster countkeysinslot $slot) keys on src"
# case 1: source paused 3 s during the move of slot
kill -STOP ${pids[0]}; t0=$(date +%s.%N)
( sleep 3; kill -CONT ${pids[0]}; echo "SIGCONT at +3s" ) & w1=$!
timeout 60 redis-cli --cluster reshard 127.0.0.1:$((base+1)) --cluster-from $src --cluster-to $dst --cluster-slots 1 --cluster-yes > $work/r1.log 2>&1; rc=$?
t1=$(date +%s.%N); echo "case paused-then-resumed: rc=$rc elapsed $(echo "$t1 - $t0" | bc) s; keys on dst now $(redis-cli -p $((base+1)) dbsize)"
tail -2 $work/r1.log
wait $w1
# case 2: paused, then killed
kill -STOP ${pids[0]}; t0=$(date +%s.%N)
( sleep 2; kill -9 ${pids[0]}; echo "SIGKILL at +2s" ) & w2=$!
timeout 60 redis-cli --cluster reshard 127.0.0.1:$((base+1)) --cluster-from $dst --cluster-to $src --cluster-slots 1 --cluster-yes > $work/r2.log 2>&1; rc=$?
t1=$(date +%s.%N); echo "case paused-then-killed: rc=$rc elapsed $(echo "$t1 - $t0" | bc) s"
tail -3 $work/r2.log
wait $w2
for p in "${pids[@]}"; do kill $p 2>/dev/null; done
wait 2>/dev/null
rm -rf "$work"
