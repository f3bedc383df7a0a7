set terminal pngcairo size 900,600 noenhanced
set output 'results/levattn-weak/dev-2core/plots/levattn-n-time-vs-n.png'
set title "levattn-n: time_select_s vs n (levattn)\nringed = oversubscribed (ranks x threads > cores): not speed"
set xlabel 'n'
set ylabel 'time_select_s'
set key outside right
set grid
set logscale x 2
set logscale y
plot 'results/levattn-weak/dev-2core/plots/levattn-n-time-vs-n.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title '1 ranks 1 thr', 'results/levattn-weak/dev-2core/plots/levattn-n-time-vs-n.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, \
  'results/levattn-weak/dev-2core/plots/levattn-n-time-vs-n.dat' index 1 using 1:2 with linespoints lc 2 pt 7 title '2 ranks 1 thr', 'results/levattn-weak/dev-2core/plots/levattn-n-time-vs-n.dat' index 1 using 1:($4 > 0 ? $2 : 1/0) with points lc 2 pt 6 ps 2.5 notitle, \
  'results/levattn-weak/dev-2core/plots/levattn-n-time-vs-n.dat' index 2 using 1:2 with linespoints lc 3 pt 7 title '4 ranks 1 thr', 'results/levattn-weak/dev-2core/plots/levattn-n-time-vs-n.dat' index 2 using 1:($4 > 0 ? $2 : 1/0) with points lc 3 pt 6 ps 2.5 notitle
