# plot-pair.gp: IOPS and completion latency of one pair, per workload.
# bench/report runs: gnuplot -e "data='F'; iops='A.png'; lat='B.png';
#   title='T'; test='ublkd null'; base='null_blk'" plot-pair.gp
# data: tab-separated, one line per workload and job count: label, test IOPS,
# baseline IOPS, test mean latency, baseline mean, test p99, baseline p99 (us),
# IOPS ratio test/baseline ("?" where unknown).

set terminal pngcairo size 1200,680 font 'DejaVu Sans,11' noenhanced
set datafile separator "\t"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics lc rgb '#d0d0d0'
set key top left horizontal
set xtics rotate by -30 scale 0
set bmargin 8
set rmargin 10
set logscale y
set offsets 0, 0, graph 0.12, 0

set output iops
set title title . ": IOPS, median over rounds (log scale; higher is better); ratio " . test . " / " . base . " above each pair"
set ylabel "IOPS"
set format y "%.0s%c"
max(a, b) = a > b ? a : b
plot data using 2:xtic(1) title test lc rgb '#1f77b4', \
     '' using 3 title base lc rgb '#ff7f0e', \
     '' using 0:(max($2, $3) * 1.45):(sprintf("x%.2f", $8)) with labels notitle

set output lat
set title title . ": completion latency, median over rounds (log scale; lower is better)"
set ylabel "completion latency"
set yrange [0.5:*]
set ytics ("1 us" 1, "10 us" 10, "100 us" 100, "1 ms" 1e3, "10 ms" 1e4, \
           "100 ms" 1e5, "1 s" 1e6, "10 s" 1e7)
plot data using 4:xtic(1) title test . ' mean' lc rgb '#1f77b4', \
     '' using 5 title base . ' mean' lc rgb '#ff7f0e', \
     '' using 6 title test . ' p99' lc rgb '#9ecae1', \
     '' using 7 title base . ' p99' lc rgb '#fdd0a2'
