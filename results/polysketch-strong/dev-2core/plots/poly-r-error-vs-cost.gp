set terminal pngcairo size 900,600 noenhanced
set output 'results/polysketch-strong/dev-2core/plots/poly-r-error-vs-cost.png'
set title "poly-r: rel_err_vs_poly vs time_sketch_s (polysketch)\nringed = oversubscribed (ranks x threads > cores): not speed"
set xlabel 'time_sketch_s'
set ylabel 'rel_err_vs_poly'
set key outside right
set grid
set logscale y
plot 'results/polysketch-strong/dev-2core/plots/poly-r-error-vs-cost.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'sketch=gaussian 1 ranks 1 thr', 'results/polysketch-strong/dev-2core/plots/poly-r-error-vs-cost.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, \
  'results/polysketch-strong/dev-2core/plots/poly-r-error-vs-cost.dat' index 1 using 1:2 with linespoints lc 2 pt 7 title 'sketch=gaussian 2 ranks 1 thr', 'results/polysketch-strong/dev-2core/plots/poly-r-error-vs-cost.dat' index 1 using 1:($4 > 0 ? $2 : 1/0) with points lc 2 pt 6 ps 2.5 notitle, \
  'results/polysketch-strong/dev-2core/plots/poly-r-error-vs-cost.dat' index 2 using 1:2 with linespoints lc 3 pt 7 title 'sketch=gaussian 4 ranks 1 thr', 'results/polysketch-strong/dev-2core/plots/poly-r-error-vs-cost.dat' index 2 using 1:($4 > 0 ? $2 : 1/0) with points lc 3 pt 6 ps 2.5 notitle
