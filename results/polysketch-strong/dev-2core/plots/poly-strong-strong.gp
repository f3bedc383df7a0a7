set terminal pngcairo size 900,600 noenhanced
set output 'results/polysketch-strong/dev-2core/plots/poly-strong-strong.png'
set title "poly-strong: strong scaling of time_sketch_s (polysketch)\nringed = oversubscribed (ranks x threads > cores): not speed"
set xlabel 'ranks'
set ylabel 'time_sketch_s'
set key outside right
set grid
set logscale x 2
set logscale y
plot 'results/polysketch-strong/dev-2core/plots/poly-strong-strong.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'n=8192;d=64;r=32 1 thr', 'results/polysketch-strong/dev-2core/plots/poly-strong-strong.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, 'results/polysketch-strong/dev-2core/plots/poly-strong-strong.dat' index 0 using 1:3 with lines lc 1 dt 2 title 'ideal (t1 p1/p)'
