# summarize.jq: turns what bench/guest measured into results.json.
# Run as jq -n with --slurpfile runs, pairs, devices, profile (the .jsonl
# files of raw/), --slurpfile env (raw/env.json, or an empty file) and
# --argjson meta {elapsed_s, source}.

# The median of the non-null numbers of an array (null if none).
def median:
  map(select(. != null)) | sort
  | if length == 0 then null
    elif length % 2 == 1 then .[(length - 1) / 2]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;

# Order of the workloads and pairs in tables and plots.
def workloads: ["randread-4k-qd1", "randread-4k-qd32", "randwrite-4k-qd1",
                "randwrite-4k-qd32", "read-128k-qd8", "write-128k-qd8"];
def pair_names: ["null", "mem", "file", "zip"];
def rank($list): . as $x | $list | index($x);

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

# Median over rounds of test/base for metric $f ($t, $b: the runs of a point).
def round_ratio($t; $b; $f):
  [ $t[] as $x | $b[] | select(.round == $x.round)
    | if (.[$f] // 0) > 0 and $x[$f] != null then $x[$f] / .[$f] else null end ]
  | median;

# One summary row per pair, workload and job count.
def summary($runs):
  [ $runs | map(select(.error == null and .iops != null))
    | group_by([.pair, .workload, .jobs])[]
    | map(select(.side == "test")) as $t
    | map(select(.side == "base")) as $b
    | {pair: .[0].pair, workload: .[0].workload, jobs: .[0].jobs,
       test: ($t | side_stats), base: ($b | side_stats),
       ratio: {iops: round_ratio($t; $b; "iops"),
               lat_mean: round_ratio($t; $b; "lat_mean_us"),
               lat_p99: round_ratio($t; $b; "lat_p99_us")}} ]
  | sort_by([(.pair | rank(pair_names)), .jobs, (.workload | rank(workloads))]);

# The issue's targets, each with its measured IOPS ratio.
def targets($summary):
  def row($p; $w; $j): first($summary[] | select(.pair == $p and .workload == $w and .jobs == $j)) // null;
  ([ ["null", "randread-4k-qd32", 0.55], ["mem", "randread-4k-qd32", 0.5],
     ["mem", "randwrite-4k-qd32", 0.5] ]
   + [ workloads[] as $w | ["file", $w, 1.0] ])
  | [ .[] as [$p, $w, $min] | (1, 2) as $j
      | row($p; $w; $j) as $r
      | {pair: $p, workload: $w, jobs: $j, min: $min,
         ratio: ($r.ratio.iops // null),
         met: (if ($r.ratio.iops // null) == null then null else $r.ratio.iops >= $min end)} ];

($runs | summary(.)) as $summary
| {env: ($env[0] // {}), meta: $meta, pairs: $pairs, devices: $devices,
   summary: $summary, targets: targets($summary), profile: $profile, runs: $runs}
