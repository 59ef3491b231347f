# summarize.jq: turns what bench/guest measured into results.json.
# Run by bench/report as jq -n with:
#   --rawfile sections, devices, pairs   the guest's .tsv files
#   --rawfile samples   "name phase metric value" lines (bench/report's awk
#                       over raw/samples: u, s = the utime, stime of the
#                       device's server, ublkd or a kublk daemon; g = the
#                       guest's busy ticks; sys:NAME = syscall counts)
#   --rawfile straced   "name syscall calls" lines from strace -c
#   --slurpfile jobs    every job object of the fio outputs
#   --slurpfile ublkd   {key: ublkd's device object}
#   --slurpfile env     raw/env.json (or nothing)
#   --rawfile load      host-load.txt: "time load1 load5 load15" lines
#   --argjson meta      {elapsed_s, commit}
#   --argjson pair_order  the pairs' names in the order of bench/pairs

# The median of the non-null numbers of an array (null if none).
def median:
  map(select(. != null)) | sort
  | if length == 0 then null
    elif length % 2 == 1 then .[(length - 1) / 2]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;

# Order of the workloads and pairs in tables and plots.
def workloads: ["randread-4k-qd1", "randread-4k-qd32", "randwrite-4k-qd1",
                "randwrite-4k-qd32", "read-128k-qd8", "write-128k-qd8"];
def pair_names: $pair_order;
def rank($list): . as $x | $list | index($x);

# The lines of a tab-separated text as arrays of fields.
def tsv: split("\n") | map(select(length > 0) | split("\t"));
def lines: split("\n") | map(select(length > 0) | split(" "));

# CPU microseconds per I/O from a tick count.
def us_per_io($ticks; $ios; $tck):
  if $ticks == null or $ios == null or $ios == 0 or $tck == null then null
  else $ticks * 1000000 / $tck / $ios end;

# One run: a section, its fio job and its samples.
def run($job; $s; $dev; $tck):
  ($job.read.total_ios + $job.write.total_ios) as $ios
  | (if .rw | test("write") then $job.write else $job.read end) as $d
  | ($s.post.u - $s.pre.u) as $du | ($s.post.s - $s.pre.s) as $ds
  | ($s.post.g - $s.pre.g) as $dg
  | {round, pair, side, device: $dev.label, kind: $dev.kind, key, path: $dev.path,
     workload, rw, bs, iodepth, jobs, order,
     error: (if $job == null then "no result from fio"
             elif $job.error != 0 then "fio error \($job.error)"
             elif $s.pre == null or $s.post == null then "no CPU samples"
             else null end)}
  + if $job == null then {} else
      {ios: $ios, runtime_ms: $d.runtime,
       iops: ($job.read.iops + $job.write.iops),
       bw_mib_s: (($job.read.bw + $job.write.bw) / 1024),
       lat_mean_us: ($d.clat_ns.mean / 1000),
       lat_p99_us: ($d.clat_ns.percentile["99.000000"] / 1000)}
    end
  + if $s.pre == null or $s.post == null then {} else
      {daemon_utime_ticks: $du, daemon_stime_ticks: $ds,
       daemon_cpu_us_per_io: us_per_io($du + $ds; $ios; $tck),
       daemon_user_us_per_io: us_per_io($du; $ios; $tck),
       guest_busy_ticks: $dg, guest_cpu_us_per_io: us_per_io($dg; $ios; $tck)}
    end;

# Medians of one device's runs of one point.
def side_stats:
  if length == 0 then null else
  {device: .[0].device, kind: .[0].kind, runs: length,
   iops: (map(.iops) | median),
   bw_mib_s: (map(.bw_mib_s) | median),
   lat_mean_us: (map(.lat_mean_us) | median),
   lat_p99_us: (map(.lat_p99_us) | median),
   daemon_cpu_us_per_io: (map(.daemon_cpu_us_per_io) | median),
   daemon_user_us_per_io: (map(.daemon_user_us_per_io) | median),
   guest_cpu_us_per_io: (map(.guest_cpu_us_per_io) | median)}
  end;

# Each round's test/base for metric $f ($t, $b: the runs of a point).
def round_ratios($t; $b; $f):
  [ $t[] as $x | $b[] | select(.round == $x.round)
    | if (.[$f] // 0) > 0 and $x[$f] != null then $x[$f] / .[$f] else null end ];

# Median over rounds of test/base for metric $f.
def round_ratio($t; $b; $f): round_ratios($t; $b; $f) | median;

# [lowest, highest] of the non-null numbers of an array; null with fewer
# than two.
def spread:
  map(select(. != null)) | if length < 2 then null else [min, max] end;

# True for the kinds of device that a userspace server serves, whose CPU
# time per I/O the samples hold (a kernel device's samples are ublkd's idle
# time).
def served: . == "ublkd" or . == "kublk";

# One summary row per pair, workload and job count. The ratio of CPU per
# I/O (test / base) only where both sides are served by a daemon.
def summary($runs):
  [ $runs | map(select(.error == null))
    | group_by([.pair, .workload, .jobs])[]
    | map(select(.side == "test")) as $t
    | map(select(.side == "base")) as $b
    | round_ratios($t; $b; "iops") as $iops
    | (if ($b[0].kind // "" | served) and ($t[0].kind // "" | served)
       then round_ratios($t; $b; "daemon_cpu_us_per_io") else [] end) as $cpu
    | {pair: .[0].pair, workload: .[0].workload, jobs: .[0].jobs,
       test: ($t | side_stats), base: ($b | side_stats),
       ratio: {iops: ($iops | median),
               lat_mean: round_ratio($t; $b; "lat_mean_us"),
               lat_p99: round_ratio($t; $b; "lat_p99_us"),
               cpu_per_io: ($cpu | median)},
       ratio_range: {iops: ($iops | spread), cpu_per_io: ($cpu | spread)}} ]
  | sort_by([(.pair | rank(pair_names)), .jobs, (.workload | rank(workloads))]);

# Scaling of each pair's devices from one job (on a 1-queue device) to two
# jobs (on a 2-queue one): the median IOPS with 2 jobs over that with 1.
def scaling($summary):
  [ $summary | group_by([.pair, .workload])[]
    | (map(select(.jobs == 1))[0]) as $one | (map(select(.jobs == 2))[0]) as $two
    | select($one != null and $two != null)
    | def x($s): if ($one[$s].iops // 0) > 0 and $two[$s].iops != null
                 then $two[$s].iops / $one[$s].iops else null end;
      {pair: $one.pair, workload: $one.workload,
       test: {device: $one.test.device, kind: $one.test.kind, iops_1: $one.test.iops,
              iops_2: $two.test.iops, scaling: x("test")},
       base: {device: $one.base.device, kind: $one.base.kind, iops_1: $one.base.iops,
              iops_2: $two.base.iops, scaling: x("base")}} ]
  | sort_by([(.pair | rank(pair_names)), (.workload | rank(workloads))]);

# The speed targets of issue 13, each with what was measured: the ratio of
# IOPS, or of the serving daemons' CPU per I/O, between the two sides of a
# pair at one point (jobs 1 and 2), or the scaling of a pair's ublkd device
# from 1 queue and 1 job to 2 queues and 2 jobs (jobs null). Targets:
# ublkd against kublk like for like (copy: knull, kloop; best: kzc,
# kbatch, kzloop) IOPS >= 1.05 and CPU per I/O <= 1.0 at 4 KiB, IOPS >= 1.0
# at 128 KiB; null >= 0.8 of null_blk and mem >= 0.7 of brd at depth 32;
# file >= 1.0 of loop everywhere; io threads (tnull, tmem) scaling >= 1.6
# at depth 32. Issue 14's: nbd and rbd against the kernel's own clients
# (nbd, nbdd, pnbd, rbd, prbd) IOPS >= 1.0 at depth 32 and >= 0.8 at
# depth 1.
def targets($summary; $scaling):
  def row($p; $w; $j): first($summary[] | select(.pair == $p and .workload == $w and .jobs == $j)) // null;
  def scaled($p; $w): first($scaling[] | select(.pair == $p and .workload == $w)) // null;
  ["randread-4k-qd32", "randwrite-4k-qd32"] as $qd32
  | [ ( ("knull", "kloop", "kzc", "kbatch", "kzloop") as $p
        | workloads[] as $w
        | if $w | test("-4k-") then [$p, $w, "iops", ">=", 1.05], [$p, $w, "cpu_per_io", "<=", 1.0]
          else [$p, $w, "iops", ">=", 1.0] end ),
      ( (["null", 0.8], ["mem", 0.7]) as [$p, $min] | $qd32[] | [$p, ., "iops", ">=", $min] ),
      ( workloads[] | ["file", ., "iops", ">=", 1.0] ),
      ( ("nbd", "nbdd", "pnbd", "rbd", "prbd") as $p | workloads[] | select(test("-4k-"))
        | [$p, ., "iops", ">=", (if test("qd1$") then 0.8 else 1.0 end)] ) ]
  | [ ( .[] as [$p, $w, $m, $op, $bound] | (1, 2) as $j
        | row($p; $w; $j) as $r
        | {pair: $p, workload: $w, jobs: $j, metric: $m, op: $op, bound: $bound,
           measured: ($r.ratio[$m] // null), range: ($r.ratio_range[$m] // null)} ),
      ( ("tnull", "tmem") as $p | $qd32[] as $w
        | (scaled($p; $w).test.scaling // null) as $v
        | {pair: $p, workload: $w, jobs: null, metric: "scaling", op: ">=", bound: 1.6, measured: $v} ) ]
  | map(. + {met: (if .measured == null then null
                   elif .op == ">=" then .measured >= .bound else .measured <= .bound end)});

($env[0] // {}) as $e
| ($ublkd | add // {}) as $objs
| [ $devices | tsv[]
    | {key: .[0], pair: .[1], side: .[2], kind: .[3], label: .[4], path: .[5],
       queues: (.[6] | if . == "" then null else tonumber end), hw_queues: (.[7] | tonumber),
       scheduler: .[8], logical_block_size: (.[9] | tonumber), size: (.[10] | tonumber)}
    | . + {ublkd: $objs[.key]} ] as $devs
# The kernel devices serve both job counts under the .q1 key.
| ($devs | map({(.key): .}) | add // {}) as $devmap
| def device($k): $devmap[$k] // $devmap[$k | sub("\\.q2$"; ".q1")] // {};
  [ $pairs | tsv[] | {pair: .[0], state: .[1], message: .[2], test: .[3], base: .[4],
                      read_only: (.[5] == "1")} ] as $pairlist
| (reduce ($samples | lines[]) as [$n, $ph, $m, $v] ({}; .[$n][$ph][$m] = ($v | tonumber))) as $smp
| (reduce ($straced | lines[]) as [$n, $sc, $c] ({}; .[$n][$sc] = ($c | tonumber))) as $str
| ($jobs | map({(.jobname): .}) | add // {}) as $jobmap
| [ $sections | tsv | to_entries[]
    | .key as $i | .value
    | {name: .[0], round: (.[1] | tonumber), pair: .[2], side: .[3], key: .[4],
       jobs: (.[5] | tonumber), workload: .[6], rw: .[7], bs: .[8],
       iodepth: (.[9] | tonumber), phase: .[10], order: $i} ] as $sections
| [ $sections[] | select(.phase == "round")
    | run($jobmap[.name]; $smp[.name] // {}; device(.key); $e.clk_tck) ] as $runs
| [ $sections[] | select(.phase != "round")
    | . as $sec | $jobmap[.name] as $job
    | (($job.read.total_ios // 0) + ($job.write.total_ios // 0)) as $ios
    | (if .phase == "hist" then
         ($smp[.name].post // {}) as $a | ($smp[.name].pre // {}) as $b
         | $a | with_entries(select(.key | startswith("sys:")) | .key |= ltrimstr("sys:")
                             | .value -= ($b["sys:" + .key] // 0))
       else $str[.name] // {} end
       | with_entries(select(.value > 0))) as $calls
    | (if .phase == "hist" then
         ($smp[.name].post // {}) as $a | ($smp[.name].pre // {}) as $b
         | {cal: (($a["ipi:CAL"] // 0) - ($b["ipi:CAL"] // 0)),
            res: (($a["ipi:RES"] // 0) - ($b["ipi:RES"] // 0))}
       else null end) as $ipis
    | ($smp[.name] // {}) as $cpu
    | {method: .phase, key, pair, device: device(.key).label, workload, ios: $ios,
       daemon_cpu_us_per_io: (if $cpu.pre and $cpu.post then
         us_per_io($cpu.post.u + $cpu.post.s - $cpu.pre.u - $cpu.pre.s; $ios; $e.clk_tck) else null end),
       ipis: $ipis,
       ipis_per_io: (if $ipis != null and $ios > 0 then $ipis | map_values(. / $ios) else null end),
       error: (if $job == null then "no result from fio" elif $job.error != 0 then "fio error \($job.error)"
               elif ($calls | length) == 0 then "no system calls counted" else null end),
       syscalls: $calls,
       per_io: (if $ios > 0 then $calls | map_values(. / $ios) else {} end)} ] as $profile
| ([$load | lines[] | .[1] | tonumber] | if length == 0 then null
    else {samples: length, min: min, median: median, max: max} end) as $hl
| summary($runs) as $summary
| {env: $e, meta: ($meta + {host_load: $hl}), pairs: $pairlist, devices: $devs, summary: $summary,
   scaling: scaling($summary), targets: targets($summary; scaling($summary)), profile: $profile, runs: $runs}
