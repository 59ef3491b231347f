# plot-ratios.gp: the IOPS ratio ublkd / baseline of every pair, per workload.
# bench/report runs: gnuplot -e "data='F'; out='ratios.png'; ncols=N" plot-ratios.gp
# data: tab-separated; a header line naming the pairs, then one line per
# workload and job count: label, then one ratio per pair ("?" where none).

set terminal pngcairo size 1200,680 font 'DejaVu Sans,11' noenhanced
set datafile separator "\t"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics lc rgb '#d0d0d0'
set key top left horizontal autotitle columnheader
set xtics rotate by -30 scale 0
set bmargin 8
set rmargin 10
set yrange [0:1.2<*]
set offsets 0, 0, graph 0.1, 0
set output out
set title "IOPS ratio ublkd / baseline, median over rounds (1 = as fast as the baseline)"
set ylabel "ratio"
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb '#000000' dt 2 lw 1.5
plot for [i = 2:ncols + 1] data using i:xtic(1) lc i - 1
