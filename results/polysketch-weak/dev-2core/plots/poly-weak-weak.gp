set terminal pngcairo size 900,600 noenhanced
set output 'results/polysketch-weak/dev-2core/plots/poly-weak-weak.png'
set title "poly-weak: weak scaling of time_sketch_s (polysketch)\nringed = oversubscribed (ranks x threads > cores): not speed"
set xlabel 'ranks'
set ylabel 'time_sketch_s'
set key outside right
set grid
set logscale x 2
plot 'results/polysketch-weak/dev-2core/plots/poly-weak-weak.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'var.tokens=2048;n=${tokens*ranks};d=64;r=32 1 thr', 'results/polysketch-weak/dev-2core/plots/poly-weak-weak.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, 'results/polysketch-weak/dev-2core/plots/poly-weak-weak.dat' index 0 using 1:3 with lines lc 1 dt 2 title 'ideal (t1)'
