set terminal pngcairo size 900,600 noenhanced
set output 'results/polarquant-weak/dev-2core/plots/pq-weak-weak.png'
set title "pq-weak: weak scaling of time_decode_s (polarquant-decode)\nringed = oversubscribed (ranks x threads > cores): not speed"
set xlabel 'ranks'
set ylabel 'time_decode_s'
set key outside right
set grid
set logscale x 2
plot 'results/polarquant-weak/dev-2core/plots/pq-weak-weak.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'heads=1 1 thr', 'results/polarquant-weak/dev-2core/plots/pq-weak-weak.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, 'results/polarquant-weak/dev-2core/plots/pq-weak-weak.dat' index 0 using 1:3 with lines lc 1 dt 2 title 'ideal (t1)', \
  'results/polarquant-weak/dev-2core/plots/pq-weak-weak.dat' index 1 using 1:2 with linespoints lc 2 pt 7 title 'heads=4 1 thr', 'results/polarquant-weak/dev-2core/plots/pq-weak-weak.dat' index 1 using 1:($4 > 0 ? $2 : 1/0) with points lc 2 pt 6 ps 2.5 notitle, 'results/polarquant-weak/dev-2core/plots/pq-weak-weak.dat' index 1 using 1:3 with lines lc 2 dt 2 title 'ideal (t1)'
