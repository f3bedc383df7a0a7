set terminal pngcairo size 900,600 noenhanced
set output 'results/sparsify-weak/dev-2core/plots/sparsify-weak-weak.png'
set title "sparsify-weak: weak scaling of sparsify_time_s (sparsify)"
set xlabel 'ranks'
set ylabel 'sparsify_time_s'
set key outside right
set grid
set logscale x 2
plot 'results/sparsify-weak/dev-2core/plots/sparsify-weak-weak.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'var.rows=4000;data=synthetic:gauss:${rows*ranks},16;eps=0.5;oversample=0.5;k=2;vectors=1;check-max=0;dense-max=0 1 thr', 'results/sparsify-weak/dev-2core/plots/sparsify-weak-weak.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, 'results/sparsify-weak/dev-2core/plots/sparsify-weak-weak.dat' index 0 using 1:3 with lines lc 1 dt 2 title 'ideal (t1)'
