set terminal pngcairo size 900,600 noenhanced
set output 'results/levattn-strong/dev-2core/plots/levattn-strong-strong.png'
set title "levattn-strong: strong scaling of time_select_s (levattn)\nringed = oversubscribed (ranks x threads > cores): not speed"
set xlabel 'ranks'
set ylabel 'time_select_s'
set key outside right
set grid
set logscale x 2
set logscale y
plot 'results/levattn-strong/dev-2core/plots/levattn-strong-strong.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'synthetic=262144;synthetic-d=64;eps=0.05;topk=none;chunk=4096 1 thr', 'results/levattn-strong/dev-2core/plots/levattn-strong-strong.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, 'results/levattn-strong/dev-2core/plots/levattn-strong-strong.dat' index 0 using 1:3 with lines lc 1 dt 2 title 'ideal (t1 p1/p)'
