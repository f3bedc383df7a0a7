set terminal pngcairo size 900,600 noenhanced
set output 'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.png'
set title "kde-strong: mean_rel_err vs time_s (kde)"
set xlabel 'time_s'
set ylabel 'mean_rel_err'
set key outside right
set grid
set logscale y
plot 'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'estimator=sampling 1 ranks 1 thr', 'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, \
  'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 1 using 1:2 with linespoints lc 2 pt 7 title 'estimator=hbe 1 ranks 1 thr', 'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 1 using 1:($4 > 0 ? $2 : 1/0) with points lc 2 pt 6 ps 2.5 notitle, \
  'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 2 using 1:2 with linespoints lc 3 pt 7 title 'estimator=deann 1 ranks 1 thr', 'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 2 using 1:($4 > 0 ? $2 : 1/0) with points lc 3 pt 6 ps 2.5 notitle, \
  'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 3 using 1:2 with linespoints lc 4 pt 7 title 'estimator=sampling 2 ranks 1 thr', 'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 3 using 1:($4 > 0 ? $2 : 1/0) with points lc 4 pt 6 ps 2.5 notitle, \
  'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 4 using 1:2 with linespoints lc 5 pt 7 title 'estimator=hbe 2 ranks 1 thr', 'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 4 using 1:($4 > 0 ? $2 : 1/0) with points lc 5 pt 6 ps 2.5 notitle, \
  'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 5 using 1:2 with linespoints lc 6 pt 7 title 'estimator=deann 2 ranks 1 thr', 'results/kde-strong/dev-2core/plots/kde-strong-error-vs-cost.dat' index 5 using 1:($4 > 0 ? $2 : 1/0) with points lc 6 pt 6 ps 2.5 notitle
