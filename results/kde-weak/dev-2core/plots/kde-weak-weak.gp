set terminal pngcairo size 900,600 noenhanced
set output 'results/kde-weak/dev-2core/plots/kde-weak-weak.png'
set title "kde-weak: weak scaling of time_s (kde)"
set xlabel 'ranks'
set ylabel 'time_s'
set key outside right
set grid
set logscale x 2
plot 'results/kde-weak/dev-2core/plots/kde-weak-weak.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'estimator=sampling 1 thr', 'results/kde-weak/dev-2core/plots/kde-weak-weak.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, 'results/kde-weak/dev-2core/plots/kde-weak-weak.dat' index 0 using 1:3 with lines lc 1 dt 2 title 'ideal (t1)', \
  'results/kde-weak/dev-2core/plots/kde-weak-weak.dat' index 1 using 1:2 with linespoints lc 2 pt 7 title 'estimator=hbe 1 thr', 'results/kde-weak/dev-2core/plots/kde-weak-weak.dat' index 1 using 1:($4 > 0 ? $2 : 1/0) with points lc 2 pt 6 ps 2.5 notitle, 'results/kde-weak/dev-2core/plots/kde-weak-weak.dat' index 1 using 1:3 with lines lc 2 dt 2 title 'ideal (t1)', \
  'results/kde-weak/dev-2core/plots/kde-weak-weak.dat' index 2 using 1:2 with linespoints lc 3 pt 7 title 'estimator=deann 1 thr', 'results/kde-weak/dev-2core/plots/kde-weak-weak.dat' index 2 using 1:($4 > 0 ? $2 : 1/0) with points lc 3 pt 6 ps 2.5 notitle, 'results/kde-weak/dev-2core/plots/kde-weak-weak.dat' index 2 using 1:3 with lines lc 3 dt 2 title 'ideal (t1)'
