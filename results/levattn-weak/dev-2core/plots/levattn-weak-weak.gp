set terminal pngcairo size 900,600 noenhanced
set output 'results/levattn-weak/dev-2core/plots/levattn-weak-weak.png'
set title "levattn-weak: weak scaling of time_select_s (levattn)\nringed = oversubscribed (ranks x threads > cores): not speed"
set xlabel 'ranks'
set ylabel 'time_select_s'
set key outside right
set grid
set logscale x 2
plot 'results/levattn-weak/dev-2core/plots/levattn-weak-weak.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'var.keys=65536;synthetic=${keys*ranks};synthetic-d=64;eps=0.05;topk=none;chunk=4096 1 thr', 'results/levattn-weak/dev-2core/plots/levattn-weak-weak.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, 'results/levattn-weak/dev-2core/plots/levattn-weak-weak.dat' index 0 using 1:3 with lines lc 1 dt 2 title 'ideal (t1)'
