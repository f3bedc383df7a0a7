set terminal pngcairo size 900,600 noenhanced
set output 'results/sparsify-strong/dev-2core/plots/sparsify-strong-strong.png'
set title "sparsify-strong: strong scaling of sparsify_time_s (sparsify)"
set xlabel 'ranks'
set ylabel 'sparsify_time_s'
set key outside right
set grid
set logscale x 2
set logscale y
plot 'results/sparsify-strong/dev-2core/plots/sparsify-strong-strong.dat' index 0 using 1:2 with linespoints lc 1 pt 7 title 'data=synthetic:gauss:12000,16;eps=0.5;oversample=0.5;k=2;vectors=1;check-max=0;dense-max=0 1 thr', 'results/sparsify-strong/dev-2core/plots/sparsify-strong-strong.dat' index 0 using 1:($4 > 0 ? $2 : 1/0) with points lc 1 pt 6 ps 2.5 notitle, 'results/sparsify-strong/dev-2core/plots/sparsify-strong-strong.dat' index 0 using 1:3 with lines lc 1 dt 2 title 'ideal (t1 p1/p)'
