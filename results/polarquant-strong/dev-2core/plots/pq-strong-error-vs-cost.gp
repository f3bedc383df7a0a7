set terminal pngcairo size 900,600 noenhanced
set output 'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.png'
set title "pq-strong: rel_err_vs_exact vs time_decode_s (polarquant-decode)\nringed = oversubscribed (ranks x threads > cores): not speed"
set xlabel 'time_decode_s'
set ylabel 'rel_err_vs_exact'
set key outside right
set grid
set logscale y
plot 'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'heads=1 1 ranks 1 thr', 'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, \
  'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 1 using 1:2 with linespoints lc 2 pt 7 title 'heads=4 1 ranks 1 thr', 'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 1 using 1:($4 > 0 ? $2 : 1/0) with points lc 2 pt 6 ps 2.5 notitle, \
  'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 2 using 1:2 with linespoints lc 3 pt 7 title 'heads=1 2 ranks 1 thr', 'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 2 using 1:($4 > 0 ? $2 : 1/0) with points lc 3 pt 6 ps 2.5 notitle, \
  'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 3 using 1:2 with linespoints lc 4 pt 7 title 'heads=4 2 ranks 1 thr', 'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 3 using 1:($4 > 0 ? $2 : 1/0) with points lc 4 pt 6 ps 2.5 notitle, \
  'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 4 using 1:2 with linespoints lc 5 pt 7 title 'heads=1 4 ranks 1 thr', 'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 4 using 1:($4 > 0 ? $2 : 1/0) with points lc 5 pt 6 ps 2.5 notitle, \
  'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 5 using 1:2 with linespoints lc 6 pt 7 title 'heads=4 4 ranks 1 thr', 'results/polarquant-strong/dev-2core/plots/pq-strong-error-vs-cost.dat' index 5 using 1:($4 > 0 ? $2 : 1/0) with points lc 6 pt 6 ps 2.5 notitle
