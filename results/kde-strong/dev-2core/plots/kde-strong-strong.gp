set terminal pngcairo size 900,600 noenhanced
set output 'results/kde-strong/dev-2core/plots/kde-strong-strong.png'
set title "kde-strong: strong scaling of time_s (kde)"
set xlabel 'ranks'
set ylabel 'time_s'
set key outside right
set grid
set logscale x 2
set logscale y
plot 'results/kde-strong/dev-2core/plots/kde-strong-strong.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'estimator=sampling 1 thr', 'results/kde-strong/dev-2core/plots/kde-strong-strong.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, 'results/kde-strong/dev-2core/plots/kde-strong-strong.dat' index 0 using 1:3 with lines lc 1 dt 2 title 'ideal (t1 p1/p)', \
  'results/kde-strong/dev-2core/plots/kde-strong-strong.dat' index 1 using 1:2 with linespoints lc 2 pt 7 title 'estimator=hbe 1 thr', 'results/kde-strong/dev-2core/plots/kde-strong-strong.dat' index 1 using 1:($4 > 0 ? $2 : 1/0) with points lc 2 pt 6 ps 2.5 notitle, 'results/kde-strong/dev-2core/plots/kde-strong-strong.dat' index 1 using 1:3 with lines lc 2 dt 2 title 'ideal (t1 p1/p)', \
  'results/kde-strong/dev-2core/plots/kde-strong-strong.dat' index 2 using 1:2 with linespoints lc 3 pt 7 title 'estimator=deann 1 thr', 'results/kde-strong/dev-2core/plots/kde-strong-strong.dat' index 2 using 1:($4 > 0 ? $2 : 1/0) with points lc 3 pt 6 ps 2.5 notitle, 'results/kde-strong/dev-2core/plots/kde-strong-strong.dat' index 2 using 1:3 with lines lc 3 dt 2 title 'ideal (t1 p1/p)'
